"""Demo playbooks for seed_demo: the five shipped templates installed (three on, one paused, one a draft), one
playbook of our own that posts SLA breaches to Slack, and a few weeks of history so the pages have content.

The history is written as rows, as the engine leaves them (enrollments, step runs with their results, the outbox's
emails, a Slack call's recorded answer): replaying weeks of waits through the engine would need a clock we do not
move in a seed, and would print every email through the console backend. Pending rows are real: the minute beat
runs them when they fall due, like any other.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Account, AccountStatus, Contact
from core.models import Organization, Role
from core.tenancy import Tenant
from playbooks import definition as pdef
from playbooks.library import playbook_template_install
from playbooks.models import (
    Enrollment,
    EnrollmentStatus,
    OutboundCall,
    Playbook,
    PlaybookVersion,
    SentEmail,
    StepRun,
    StepRunStatus,
)
from playbooks.services import playbook_create, playbook_pause, playbook_resume

SLA_PLAYBOOK = {
    "trigger": {"type": "event", "event": "ticket.sla_breached"},
    "audience": {"cohorts": ["premium", "enterprise"]},
    "steps": [
        {
            "type": "slack",
            "webhook_url": "https://hooks.slack.com/services/T000DEMO/B000DEMO/demo-not-a-real-hook",
            "text": "SLA breached: {{ account.name }} ({{ account.cohort }}), CSM {{ csm.name|default:'unassigned' }}",
        },
        {"type": "task", "assignee": "csm", "due_in_days": 1, "title": "Call {{ account.name }} about the breach"},
    ],
}


def seed_playbooks(*, organization: Organization, members: dict, rng) -> None:
    """Runs once per organization: one that has playbooks already is left as it is."""
    if Playbook.objects.exists():
        return
    tenant = Tenant(organization=organization, role=Role.CSM, user=members[Role.CSM])
    installed = {}
    for key in (
        "onboarding-after-commit",
        "snapshot-nudge",
        "renewal-prep-90",
        "qbr-over-10k",
        "champion-change-checkin",
    ):
        installed[key] = playbook_template_install(tenant=tenant, key=key)
    for key in ("onboarding-after-commit", "snapshot-nudge", "renewal-prep-90", "qbr-over-10k"):
        playbook_resume(tenant=tenant, playbook=installed[key])
    playbook_pause(tenant=tenant, playbook=installed["qbr-over-10k"])
    sla = playbook_create(
        tenant=tenant, name="SLA breach alert for Premium and Enterprise", status="active", definition=SLA_PLAYBOOK,
        description="Tells #cs-alerts and the CSM when a paying customer's ticket misses its SLA.",
    )  # fmt: skip

    # The demo's playbooks have existed for a month: their history below starts after they were made.
    month_ago = timezone.now() - timedelta(days=30)
    Playbook.objects.update(created_at=month_ago)
    PlaybookVersion.objects.update(created_at=month_ago)
    accounts = list(
        Account.objects.filter(status=AccountStatus.ACTIVE, contacts__isnull=False)
        .select_related("csm_owner")
        .distinct()
        .order_by("pk")[:200]
    )
    if not accounts:
        return
    contacts: dict[int, Contact] = {}
    for contact in Contact.objects.filter(account__in=accounts).order_by("created_at", "id"):
        contacts.setdefault(contact.account_id, contact)
    # A copy of the seed's generator: the same demo every time, without shifting the seeds that run after this one.
    local = random.Random()
    local.setstate(rng.getstate())
    picks = local.sample(accounts, min(len(accounts), 14))
    picks = [picks[index % len(picks)] for index in range(14)]  # a small demo reuses accounts (see _history)
    now = timezone.now()

    onboarding = installed["onboarding-after-commit"]
    _history(onboarding, picks[0], contacts, now - timedelta(days=12), done=4)  # completed
    _history(onboarding, picks[1], contacts, now - timedelta(days=3), done=2)  # waiting out the week
    _history(onboarding, picks[2], contacts, now - timedelta(days=1), done=2)
    _history(
        onboarding, picks[3], contacts, now - timedelta(hours=5), done=1,
        failed="SMTPRecipientsRefused: {'%s': (550, b'5.1.1 Mailbox unavailable')}",
    )  # fmt: skip
    nudge = installed["snapshot-nudge"]
    for index, account in enumerate(picks[4:8]):
        _history(nudge, account, contacts, now - timedelta(days=6 - index), done=2)
    renewal = installed["renewal-prep-90"]
    for account in picks[8:11]:
        _history(renewal, account, contacts, now - timedelta(days=local.randint(2, 20)), done=2)
    _history(
        sla, picks[11], contacts, now - timedelta(hours=2), done=0,
        failed="hooks.slack.com answered 404: no_service", outbound=(404, "no_service"),
    )  # fmt: skip
    _history(sla, picks[12], contacts, now - timedelta(days=2), done=2, outbound=(200, "ok"))


def _history(playbook, account, contacts, started, **kwargs) -> None:
    """One enrollment; in a small demo an account picked twice for one playbook keeps the first (the unique keys)."""
    try:
        with transaction.atomic():
            _enrollment_history(playbook, account, contacts, started, **kwargs)
    except IntegrityError:
        return


def _enrollment_history(playbook, account, contacts, started, *, done, failed="", outbound=None) -> None:
    """One enrollment: `done` steps succeeded, then the failed step (if `failed`) or the next step pending."""
    version = playbook.current_version
    steps = version.definition["steps"]
    contact = contacts.get(account.pk)
    enrollment = Enrollment.objects.create(
        organization=playbook.organization, playbook=playbook, version=version, account=account, contact=contact,
        enrollment_key=f"demo:{account.pk}", trigger_summary=pdef.trigger_summary(version.definition["trigger"]),
        enrolled_at=started,
    )  # fmt: skip
    moment = started
    for index in range(min(done, len(steps))):
        step = steps[index]
        if step["type"] == "wait":
            moment += timedelta(seconds=pdef.wait_seconds(step))
        run = StepRun.objects.create(
            organization=playbook.organization, enrollment=enrollment, step_index=index, step_type=step["type"],
            status=StepRunStatus.SUCCEEDED, due_at=moment, attempts=1, claimed_at=moment, finished_at=moment,
            result=_result(step, account, contact),
        )  # fmt: skip
        if step["type"] == "email" and contact is not None:
            context = _merge(playbook, account, contact)
            SentEmail.objects.create(
                organization=playbook.organization, step_run=run, playbook=playbook, to=contact.email,
                subject=pdef.merge_render(step["subject"], context), body=pdef.merge_render(step["body"], context),
                sent_at=moment,
            )  # fmt: skip
        if step["type"] == "slack" and outbound:
            OutboundCall.objects.create(
                organization=playbook.organization, step_run=run, attempt=1, target_host="hooks.slack.com",
                status_code=outbound[0], response_excerpt=outbound[1], duration_ms=180,
            )  # fmt: skip
        moment += timedelta(minutes=1)
    if done >= len(steps):
        enrollment.status, enrollment.finished_at = EnrollmentStatus.COMPLETED, moment
        enrollment.save(update_fields=["status", "finished_at"])
        return
    step = steps[done]
    if failed:
        run = StepRun.objects.create(
            organization=playbook.organization, enrollment=enrollment, step_index=done, step_type=step["type"],
            status=StepRunStatus.FAILED, due_at=moment, attempts=4, claimed_at=moment + timedelta(minutes=31),
            finished_at=moment + timedelta(minutes=31), error=failed.replace("%s", contact.email if contact else "?"),
        )  # fmt: skip
        if outbound and step["type"] == "slack":
            for attempt in range(1, 5):
                OutboundCall.objects.create(
                    organization=playbook.organization, step_run=run, attempt=attempt, target_host="hooks.slack.com",
                    status_code=outbound[0], response_excerpt=outbound[1], duration_ms=150 + attempt * 10,
                )  # fmt: skip
        enrollment.status, enrollment.finished_at = EnrollmentStatus.FAILED, run.finished_at
        enrollment.save(update_fields=["status", "finished_at"])
        return
    due = moment + timedelta(seconds=pdef.wait_seconds(step)) if step["type"] == "wait" else moment
    StepRun.objects.create(
        organization=playbook.organization, enrollment=enrollment, step_index=done, step_type=step["type"],
        due_at=max(due, timezone.now() + timedelta(hours=1)),
    )  # fmt: skip


def _merge(playbook, account, contact) -> dict:
    from playbooks.steps import StepContext

    return StepContext(
        organization=playbook.organization, playbook=playbook, version_number=1, account=account, contact=contact,
        step={}, step_run=None,
    ).merge()  # fmt: skip


def _result(step, account, contact) -> dict:
    kind = step["type"]
    csm = account.csm_owner
    if kind == "email":
        return {"to": contact.email} if contact else {"skipped": "The account has no contact to email."}
    if kind == "task":
        context = {"account": {"name": account.name, "renewal_date": account.renewal_date}}
        return {
            "title": pdef.merge_render(step["title"], context),
            "assignee": (csm.get_full_name() or csm.email) if csm else "nobody yet (no owner on the account)",
        }
    if kind == "set_field":
        return {"field": step["field"], "value": step["value"], "contacts": [contact.email] if contact else []}
    if kind == "slack":
        return {"host": "hooks.slack.com", "status": 200, "response": "ok"}
    if kind == "wait":
        return {"waited_seconds": pdef.wait_seconds(step)}
    return {}
