"""Demo product usage for seed_demo: 90 days of daily metrics and feature events for the active demo accounts,
reported through the ingest service in batches of 1,000, as the product's database would send them.

Each account gets a size from its cohort and a growth or decline story; its features are adopted on days spread
over the quarter (the snapshot nudge of seed 000: some accounts never create a snapshot). A few accounts report
nothing, so the card's empty state shows too.
"""

from datetime import UTC, datetime, time, timedelta

from django.utils import timezone

from accounts.models import Account, AccountStatus
from core.models import Organization, Role
from core.tenancy import Tenant
from usage.models import DailyUsage
from usage.services import MAX_BATCH_ROWS, usage_ingest

DAYS = 90
COHORT_SCALE = {"trial": 1, "starter": 2, "premium": 5, "enterprise": 12}
FEATURES = (
    "instance_created", "device_agent_installed", "device_added", "snapshot_created", "pipeline_used",
    "team_invite_sent", "blueprint_applied",
)  # fmt: skip


def seed_usage(*, organization: Organization, members: dict, rng, today=None) -> None:
    """Runs once per organization: one that has usage already is left as it is."""
    if DailyUsage.objects.exists():
        return
    today = today or timezone.localdate()
    tenant = Tenant(organization=organization, role=Role.CSM, user=members[Role.CSM])
    accounts = list(Account.objects.filter(status=AccountStatus.ACTIVE).order_by("pk"))
    metrics, events = [], []
    for account in accounts:
        if rng.random() < 0.1:
            continue  # not connected to the product yet: the card says so
        scale = COHORT_SCALE.get(account.cohort, 2)
        users, instances = rng.randint(2, 6) * scale, rng.randint(1, 3) * scale
        devices, applications = rng.randint(0, 10) * scale, rng.randint(1, 4) * scale
        growth = rng.choice((0.004, 0.002, 0.0, -0.003))  # per day
        for offset in range(DAYS - 1, -1, -1):
            factor = (1 + growth) ** (DAYS - offset) * (0.97 + rng.random() * 0.06)
            metrics.append(
                {
                    "account": account.pk, "date": (today - timedelta(days=offset)).isoformat(),
                    "users": max(1, round(users * factor)), "instances": max(1, round(instances * factor)),
                    "devices": max(0, round(devices * factor)), "applications": max(1, round(applications * factor)),
                }
            )  # fmt: skip
        for feature in rng.sample(FEATURES, rng.randint(1, len(FEATURES))):
            first = today - timedelta(days=rng.randint(0, DAYS + 200))
            for number in range(rng.randint(1, 6)):
                day = min(today, first + timedelta(days=number * rng.randint(1, 20)))
                moment = datetime.combine(day, time(rng.randint(7, 18), rng.randint(0, 59)), tzinfo=UTC)
                events.append(
                    {
                        "account": account.pk, "feature": feature, "occurred_at": moment.isoformat(),
                        "event_id": f"demo-{account.pk}-{feature}-{number}",
                    }
                )  # fmt: skip
    rows = [("metrics", row) for row in metrics] + [("events", row) for row in events]
    for start in range(0, len(rows), MAX_BATCH_ROWS):
        batch = rows[start : start + MAX_BATCH_ROWS]
        usage_ingest(
            tenant=tenant,
            metrics=[row for section, row in batch if section == "metrics"],
            events=[row for section, row in batch if section == "events"],
        )
