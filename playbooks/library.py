"""The playbook templates we ship, each built from a rule of the seeds. "New from template" installs one as a
draft, for the CSM to read, adjust and switch on."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from core.tenancy import Tenant


@dataclass(frozen=True)
class PlaybookTemplate:
    key: str
    name: str
    source: str  # where the rule comes from
    description: str
    definition: dict[str, Any]


TEMPLATES: tuple[PlaybookTemplate, ...] = (
    PlaybookTemplate(
        key="onboarding-after-commit",
        name="Onboarding starts when the AE commits",
        source="Seed 000, Engagement and Responsibilities",
        description="The CSM engages before the deal is signed: a kickoff task at once, a welcome note to the "
        "customer, and a progress check a week later.",
        definition={
            "trigger": {"type": "event", "event": "deal.committed"},
            "audience": {},
            "steps": [
                {
                    "type": "task",
                    "assignee": "csm",
                    "due_in_days": 2,
                    "title": "Kickoff with {{ account.name }}: learn their goals with the product",
                    "description": "The AE committed the deal; onboarding is yours from now on.",
                },
                {
                    "type": "email",
                    "to": "contact",
                    "subject": "Getting {{ account.name }} started",
                    "body": "Hi {{ contact.first_name|default:'there' }},\n\nI am {{ csm.name|default:'your customer "
                    "success manager' }} and I will guide {{ account.name }} through onboarding. Could we find half "
                    "an hour this week to talk about what you want to achieve first?\n\n{{ csm.name }}",
                },
                {"type": "wait", "days": 7},
                {
                    "type": "task",
                    "assignee": "csm",
                    "due_in_days": 1,
                    "title": "Onboarding check for {{ account.name }}: what is done, what is blocked",
                },
            ],
        },
    ),
    PlaybookTemplate(
        key="snapshot-nudge",
        name="Snapshot nudge after 24 hours",
        source="Seed 000, HubSpot properties (FFC-Actions, the snapshot email)",
        description="A team that has not created a snapshot a day after signing up gets a short how-to, and the "
        "contacts are tagged in FFC-Actions so HubSpot shows it.",
        definition={
            "trigger": {"type": "inaction", "feature": "snapshot_created", "within_hours": 24},
            "audience": {},
            "steps": [
                {
                    "type": "email",
                    "to": "contact",
                    "subject": "Keep a snapshot of your work",
                    "body": "Hi {{ contact.first_name|default:'there' }},\n\nA snapshot saves the state of an "
                    "instance so you can roll back in one click. It takes a minute to create the first one.\n\n"
                    "{{ csm.name|default:'The customer success team' }}",
                },
                {"type": "set_field", "field": "ffc_actions", "value": "snapshot-nudge-sent"},
            ],
        },
    ),
    PlaybookTemplate(
        key="qbr-over-10k",
        name="Quarterly business review for accounts over $10k ARR",
        source="Seed 000, Quarterly Business Review",
        description="At the start of each quarter, the CSM of every account above $10k ARR is asked to schedule "
        "its QBR, and reminded two weeks later.",
        definition={
            "trigger": {"type": "schedule", "cron": "0 9 1 1,4,7,10 *"},
            "audience": {"min_arr": 10000},
            "steps": [
                {
                    "type": "task",
                    "assignee": "csm",
                    "due_in_days": 14,
                    "title": "Schedule this quarter's QBR with {{ account.name }}",
                },
                {"type": "wait", "days": 14},
                {
                    "type": "task",
                    "assignee": "csm",
                    "due_in_days": 3,
                    "title": "Is the QBR with {{ account.name }} on the calendar?",
                },
            ],
        },
    ),
    PlaybookTemplate(
        key="renewal-prep-90",
        name="Renewal preparation at 90 days",
        source="Seed 003, Conduct a quarterly business review (90 days before renewal)",
        description="Ninety days before the renewal date the CSM prepares the business review and the renewal; "
        "a month later the plan is checked.",
        definition={
            "trigger": {"type": "date", "field": "renewal_date", "offset_days": -90},
            "audience": {},
            "steps": [
                {
                    "type": "task",
                    "assignee": "csm",
                    "due_in_days": 7,
                    "title": "{{ account.name }} renews on {{ account.renewal_date }}: schedule the business review",
                    "description": "Collect usage, open bugs and feature requests for the review.",
                },
                {"type": "wait", "days": 30},
                {
                    "type": "task",
                    "assignee": "csm",
                    "due_in_days": 3,
                    "title": "Renewal of {{ account.name }} in 60 days: confirm the plan with the AE",
                },
            ],
        },
    ),
    PlaybookTemplate(
        key="champion-change-checkin",
        name="Check-in after a champion change",
        source="Seed 003, Invite new customer DRI",
        description="When the customer's champion changes: meet the new people, bring them into the channel and "
        "the meetings, and check two weeks later that they are up to speed.",
        definition={
            "trigger": {"type": "event", "event": "account.champion_changed"},
            "audience": {},
            "steps": [
                {
                    "type": "task",
                    "assignee": "csm",
                    "due_in_days": 2,
                    "title": "Meet the new champion at {{ account.name }}: names, roles, how to reach them",
                },
                {
                    "type": "task",
                    "assignee": "csm",
                    "due_in_days": 5,
                    "title": "Add the new champion of {{ account.name }} to the shared channel and the success "
                    "meetings",
                },
                {"type": "wait", "days": 14},
                {
                    "type": "task",
                    "assignee": "csm",
                    "due_in_days": 3,
                    "title": "Check-in with the new champion at {{ account.name }}: proficiency, goals, training",
                },
            ],
        },
    ),
)

TEMPLATES_BY_KEY = {template.key: template for template in TEMPLATES}


def playbook_template_install(*, tenant: Tenant, key: str, status: str = "draft"):
    """Installs a shipped template as a new playbook (a draft unless told otherwise)."""
    from django.core.exceptions import ValidationError

    from playbooks.services import playbook_create

    template = TEMPLATES_BY_KEY.get(key)
    if template is None:
        raise ValidationError({"template": [f"There is no template '{key}'."]})
    return playbook_create(
        tenant=tenant, name=template.name, description=template.description,
        definition=copy.deepcopy(template.definition), status=status, template_key=key,
    )  # fmt: skip
