"""Word lists for demo and benchmark data: names that look like a real SaaS customer base."""

COMPANY_PREFIXES = (
    "Bluefin Quarry Harbor Northgate Ironleaf Summit Copperline Brightwater Redwood Silverpine Granite Meridian "
    "Lakeshore Foxglove Cobalt Evergreen Tidewater Highland Kestrel Oakmont Pinecrest Riverbend Stonebridge Sunfield "
    "Westbrook Amberly Blackrock Cedarline Driftwood Falcon Goldcrest Hawthorn Juniper Larkspur Maplewood Nighthawk "
    "Orchard Pebble Quartz Ravenwood Sagebrush Thistle Upland Vantage Willow Yellowstone Zephyr Alder Birch Canyon"
).split()
COMPANY_SUFFIXES = (
    "Logistics Labs Farms Growers Robotics Analytics Foods Manufacturing Systems Energy Greenhouses Dairy "
    "Automation Packaging Water Agritech Industries Materials Cooperative Harvest Orchards Metals Plastics Mills"
).split()
FIRST_NAMES = (
    "Ada Ben Chloe Dmitri Elena Farid Grace Hannah Ivan Jonas Keiko Liam Maya Noah Olivia Priya Quentin Rosa Samir "
    "Tessa Umar Vera Wen Ximena Yusuf Zoe Amara Bruno Carmen Diego Emil Freya Gustavo Hiro Ines Jamal Katrin Lucas "
    "Mei Nils Oskar Paula Rafael Sofia Tomas Ulla Viktor Wanda"
).split()
LAST_NAMES = (
    "Andersen Baker Costa Dubois Eriksen Fischer Garcia Hoffmann Ito Jensen Kowalski Lindqvist Moreau Nakamura "
    "Okafor Petrov Quinn Rossi Schmidt Tanaka Urban Vogel Weber Xu Yilmaz Zimmermann Alvarez Becker Castillo Dahl "
    "Engel Ferreira Gruber Haas Ivanova Janssen Keller Lambert Meyer Novak Olsen Peeters Ramos Sato Torres Vargas"
).split()
TITLES = (
    "Head of Operations", "Plant Manager", "Automation Engineer", "CTO", "VP Engineering", "IT Manager",
    "Controls Engineer", "Operations Director", "Procurement Lead", "Data Engineer", "CEO", "Site Reliability Lead",
)
FFC_TIERS = ("Starter", "Team", "Enterprise", "")
FFC_ACTIONS = (
    "instance-created", "device-added", "snapshot-created", "pipeline-used", "team-invite-sent",
    "blueprint-applied", "device-agent-installed",
)
FFC_USAGES = ("Evaluating for production", "Personal project", "Replacing SCADA", "Edge data collection", "")
NOTES = (
    "Kickoff call done: goals are OEE dashboards across three plants by Q2.",
    "Champion moving teams next month; need a new DRI introduction.",
    "Asked about SSO and audit logs for the security review.",
    "Usage dipped after the holiday shutdown, check in early next month.",
    "Interested in device agent rollout to 40 more gateways.",
    "Renewal conversation started; budget approved in principle.",
)
