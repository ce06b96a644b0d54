"""Writes of playbooks: saving and versioning definitions, pausing, enrolling, and running due steps exactly once.

The engine in four rules:
  1. Enrolling writes an Enrollment (unique per playbook and trigger occurrence, and one running per account) and
     the StepRun of its first step, due now (or after the wait, for a wait step).
  2. The minute pass (`step_runs_due_run`) claims due rows one by one with a compare-and-set
     (UPDATE ... SET status='running' WHERE id=? AND status='pending' AND due_at<=now): of two workers, or of a
     task and its redelivery, exactly one gets the row, so each step does its thing once. This holds on PostgreSQL
     (the second UPDATE waits for the first and re-reads the row) and on SQLite (one writer at a time).
  3. A step that succeeds (or is skipped) creates the next StepRun, due now or after its wait; the row's
     UNIQUE(enrollment, step_index) makes that happen once too. The last step completes the enrollment.
  4. A step that fails goes back to pending with due_at pushed out exponentially (1, 5, 25 minutes), and after
     MAX_ATTEMPTS it is failed, the enrollment stops, and a member can retry it (`step_run_retry`).
A claim whose worker died stays "running"; after STALE_AFTER `step_runs_stale_fail` marks it failed instead of
running it again, because we cannot know whether the email went out: a person checks and presses Retry. We chose
that over at-least-once, since a duplicate customer email is worse than a visible failed step.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account, Contact
from core.events import DomainEvent
from core.models import Organization
from core.services import audit_record, field_changes
from core.tenancy import Tenant, zone_of
from playbooks import definition as pdef
from playbooks import selectors
from playbooks.models import (
    Enrollment,
    EnrollmentStatus,
    Playbook,
    PlaybookStatus,
    PlaybookVersion,
    StepRun,
    StepRunStatus,
    TriggerType,
)
from playbooks.steps import RUNNERS, StepContext, StepError, StepSkipped

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
BACKOFF_BASE_SECONDS = 60
BACKOFF_FACTOR = 5
STALE_AFTER = timedelta(minutes=15)
DUE_BATCH = 200


# --- Definitions -----------------------------------------------------------------------------------------------


def definition_validate(*, definition: Any, organization: Organization | None = None) -> dict[str, Any]:
    """Raises ValidationError keyed by paths into the definition ("steps.1.subject"); returns it normalised."""
    errors = pdef.definition_errors(definition)
    if not errors and organization is not None:
        owner_ids = (definition.get("audience") or {}).get("csm_owner_ids") or []
        if owner_ids:
            from accounts.selectors import organization_member_users

            known = set(
                organization_member_users(organization=organization)
                .filter(pk__in=owner_ids)
                .values_list("pk", flat=True)
            )
            if set(owner_ids) - known:
                errors["audience.csm_owner_ids"] = ["Choose members of this organization."]
    if errors:
        raise ValidationError(errors)
    definition.setdefault("audience", {})
    return definition


def _trigger_columns(definition: dict[str, Any]) -> dict[str, str]:
    trigger = definition["trigger"]
    return {"trigger_type": trigger["type"], "trigger_event": trigger.get("event", "")}


def _name_errors(name: str) -> dict[str, list[str]]:
    return {"name": ["Give the playbook a name."]} if not (name or "").strip() else {}


@transaction.atomic
def playbook_create(
    *, tenant: Tenant, name: str, definition: dict[str, Any], description: str = "",
    status: str = PlaybookStatus.DRAFT, template_key: str = "",
) -> Playbook:  # fmt: skip
    errors = _name_errors(name)
    try:
        definition = definition_validate(definition=definition, organization=tenant.organization)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if status not in PlaybookStatus.values:
        errors["status"] = [f"Choose one of: {', '.join(PlaybookStatus.values)}."]
    if errors:
        raise ValidationError(errors)
    playbook = Playbook.objects.create(
        organization=tenant.organization, name=name.strip(), description=(description or "").strip(), status=status,
        template_key=template_key, created_by=tenant.member, schedule_checked_at=timezone.now(),
        **_trigger_columns(definition),
    )  # fmt: skip
    version = PlaybookVersion.objects.create(
        organization=tenant.organization, playbook=playbook, number=1, definition=definition, created_by=tenant.member
    )
    playbook.current_version = version
    playbook.save(update_fields=["current_version"])
    audit_record(tenant=tenant, action="playbook.created", obj=playbook, changes={"version": [None, 1]})
    return playbook


@transaction.atomic
def playbook_update(
    *, tenant: Tenant, playbook: Playbook, name: str | None = None, description: str | None = None,
    definition: dict[str, Any] | None = None, status: str | None = None,
) -> Playbook:  # fmt: skip
    """Saves name and description in place; a changed definition becomes a new version, and enrollments already
    running keep the version they started on (they point at it). A status given is switched in the same
    transaction (as playbook_pause / playbook_resume do); one that was switched on never goes back to draft."""
    playbook = Playbook.objects.select_for_update().get(pk=playbook.pk)
    errors = _name_errors(name) if name is not None else {}
    if definition is not None:
        try:
            definition = definition_validate(definition=definition, organization=tenant.organization)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if status == PlaybookStatus.DRAFT and playbook.status != PlaybookStatus.DRAFT:
        errors["status"] = ["A playbook that was switched on cannot go back to draft: pause it."]
    if errors:
        raise ValidationError(errors)
    texts = {key: value.strip() for key, value in (("name", name), ("description", description)) if value is not None}
    changes = field_changes(playbook, texts, ("name", "description"))
    for key in changes:
        setattr(playbook, key, texts[key])
    current = playbook.current_version
    if definition is not None and (current is None or definition != current.definition):
        number = (current.number if current else 0) + 1
        playbook.current_version = PlaybookVersion.objects.create(
            organization=tenant.organization, playbook=playbook, number=number, definition=definition,
            created_by=tenant.member,
        )  # fmt: skip
        for key, value in _trigger_columns(definition).items():
            setattr(playbook, key, value)
        changes["version"] = [current.number if current else None, number]
    if changes:
        playbook.save()
        audit_record(tenant=tenant, action="playbook.updated", obj=playbook, changes=changes)
    if status == PlaybookStatus.ACTIVE:
        playbook = playbook_resume(tenant=tenant, playbook=playbook)
    elif status == PlaybookStatus.PAUSED:
        playbook = playbook_pause(tenant=tenant, playbook=playbook)
    return playbook


def _status_set(tenant: Tenant, playbook: Playbook, status: str, allowed_from: tuple[str, ...]) -> Playbook:
    updates: dict[str, Any] = {"status": status}
    if status == PlaybookStatus.ACTIVE:
        # A schedule counts from the moment it is switched on: slots while it was paused are not made up.
        updates["schedule_checked_at"] = timezone.now()
    changed = Playbook.objects.filter(pk=playbook.pk, status__in=allowed_from).update(**updates)
    before = playbook.status
    playbook.refresh_from_db()
    if changed:
        action = "playbook.paused" if status == PlaybookStatus.PAUSED else "playbook.resumed"
        audit_record(tenant=tenant, action=action, obj=playbook, changes={"status": [before, status]})
    return playbook


@transaction.atomic
def playbook_pause(*, tenant: Tenant, playbook: Playbook) -> Playbook:
    """Nothing enrolls and no step runs while paused; due steps wait and run when it is resumed."""
    return _status_set(tenant, playbook, PlaybookStatus.PAUSED, (PlaybookStatus.ACTIVE,))


@transaction.atomic
def playbook_resume(*, tenant: Tenant, playbook: Playbook) -> Playbook:
    """Turns a paused or draft playbook on."""
    return _status_set(tenant, playbook, PlaybookStatus.ACTIVE, (PlaybookStatus.PAUSED, PlaybookStatus.DRAFT))


@transaction.atomic
def playbook_delete(*, tenant: Tenant, playbook: Playbook) -> None:
    if Enrollment.objects.filter(playbook=playbook).exists():
        raise ValidationError(
            {"playbook": ["This playbook has enrollments and keeps their history: pause it instead."]}
        )
    audit_record(tenant=tenant, action="playbook.deleted", obj=playbook)
    Playbook.objects.filter(pk=playbook.pk).update(current_version=None)
    PlaybookVersion.objects.filter(playbook=playbook).delete()
    playbook.delete()


# --- Enrolling -------------------------------------------------------------------------------------------------


def _due_for(step: dict[str, Any], now: datetime) -> datetime:
    return now + timedelta(seconds=pdef.wait_seconds(step)) if step["type"] == "wait" else now


def enrollment_create(
    *, playbook: Playbook, account: Account, key: str, summary: str, contact: Contact | None = None,
    now: datetime | None = None,
) -> Enrollment | None:  # fmt: skip
    """One enrollment and its first step, or None when this occurrence (or a running one) has it already."""
    now = now or timezone.now()
    version = playbook.current_version
    try:
        with transaction.atomic():
            enrollment = Enrollment.objects.create(
                organization=playbook.organization, playbook=playbook, version=version, account=account,
                contact=contact, enrollment_key=key[:200], trigger_summary=summary[:255], enrolled_at=now,
            )  # fmt: skip
            first = version.definition["steps"][0]
            StepRun.objects.create(
                organization=playbook.organization, enrollment=enrollment, step_index=0, step_type=first["type"],
                due_at=_due_for(first, now),
            )  # fmt: skip
    except IntegrityError:
        return None
    return enrollment


def enrollments_bulk_create(
    *, playbook: Playbook, candidates: list[selectors.Candidate], summary: str, now: datetime
) -> int:
    """Set-based enrolling for the time triggers: one insert of enrollments (conflicts ignored: an occurrence
    enrolled already, or an account still running), one read of those just made, one insert of first steps."""
    if not candidates:
        return 0
    version = playbook.current_version
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                organization=playbook.organization, playbook=playbook, version=version, account_id=candidate.account_id,
                enrollment_key=candidate.key, trigger_summary=summary[:255], enrolled_at=now,
                anchor_date=candidate.anchor_date,
            )
            for candidate in candidates
        ],
        ignore_conflicts=True,
    )  # fmt: skip
    made = list(
        Enrollment.objects.filter(
            playbook=playbook, enrollment_key__in=[c.key for c in candidates], step_runs__isnull=True
        ).values_list("pk", flat=True)
    )
    first = version.definition["steps"][0]
    StepRun.objects.bulk_create(
        [
            StepRun(
                organization=playbook.organization, enrollment_id=pk, step_index=0, step_type=first["type"],
                due_at=_due_for(first, now),
            )
            for pk in made
        ],
        ignore_conflicts=True,
    )  # fmt: skip
    return len(made)


def _event_matches(trigger: dict[str, Any], event: DomainEvent) -> bool:
    name = trigger["event"]
    if name == "account.cohort_changed":
        if event.name != "account.updated" or "cohort" not in event.changes:
            return False
        return not trigger.get("to_cohort") or event.changes["cohort"][1] == trigger["to_cohort"]
    if event.name != name:
        return False
    if name == "contact.stage_changed" and trigger.get("to_stage"):
        return (event.changes.get("lifecycle_stage") or [None, None])[1] == trigger["to_stage"]
    if name == "deal.stage_changed" and trigger.get("to_stage"):
        return (event.changes.get("stage") or [None, None])[1] == trigger["to_stage"]
    if name == "health.threshold_crossed" and trigger.get("direction"):
        return event.payload.get("direction") == trigger["direction"]
    if name == "health.signal_raised" and trigger.get("kind"):
        return event.payload.get("kind") == trigger["kind"]
    if name == "ticket.sla_breached" and trigger.get("priority"):
        return event.payload.get("priority") == trigger["priority"]
    if name == "usage.reported" and trigger.get("feature"):
        return trigger["feature"] in (event.payload.get("features") or [])
    return True


def playbook_event_handle(*, event: DomainEvent) -> int:
    """Enrolls the event's account in each active playbook whose trigger and audience it matches."""
    trigger_name = pdef.trigger_event_name(event)
    if not trigger_name or event.account_id is None:
        return 0
    playbooks = list(selectors.active_playbooks(trigger_types=(TriggerType.EVENT,), trigger_event=trigger_name))
    if not playbooks:
        return 0
    account = Account.objects.filter(pk=event.account_id).select_related("csm_owner").first()
    if account is None:
        return 0
    contact = None
    if event.object_type == "contact" and event.object_id:
        contact = Contact.objects.filter(pk=event.object_id, account=account).first()
    enrolled = 0
    key = f"event:{event.name}:{event.object_type}:{event.object_id}:{event.occurred_at.isoformat()}"
    for playbook in playbooks:
        definition = playbook.current_version.definition
        if not _event_matches(definition["trigger"], event):
            continue
        if not selectors.account_in_audience(
            audience=definition.get("audience"), account_id=account.pk, contact=contact
        ):
            continue
        summary = pdef.trigger_summary(definition["trigger"])
        if enrollment_create(playbook=playbook, account=account, contact=contact, key=key, summary=summary):
            enrolled += 1
    return enrolled


def time_triggers_evaluate(*, organization: Organization, now: datetime | None = None) -> int:
    """The minute pass's first half: inaction, date and schedule triggers, one candidate query per playbook."""
    now = now or timezone.now()
    zone = zone_of(organization.timezone)
    enrolled = 0
    for playbook in selectors.active_playbooks(trigger_types=selectors.TIME_TRIGGERS):
        definition = playbook.current_version.definition
        summary = pdef.trigger_summary(definition["trigger"])
        if playbook.trigger_type == TriggerType.INACTION:
            candidates = selectors.inaction_candidates(playbook=playbook, definition=definition, now=now)
        elif playbook.trigger_type == TriggerType.DATE:
            today = now.astimezone(zone).date()
            candidates = selectors.date_candidates(playbook=playbook, definition=definition, today=today)
        else:
            slot = selectors.schedule_slot(
                definition=definition, since=playbook.schedule_checked_at, now=now, zone=zone
            )
            # Move the mark forward by compare-and-set: of two concurrent passes, one fires the slot.
            moved = Playbook.objects.filter(pk=playbook.pk, schedule_checked_at=playbook.schedule_checked_at).update(
                schedule_checked_at=now
            )
            if slot is None or not moved:
                continue
            candidates = selectors.schedule_candidates(playbook=playbook, definition=definition, slot=slot)
        enrolled += enrollments_bulk_create(playbook=playbook, candidates=candidates, summary=summary, now=now)
    return enrolled


# --- Running steps ---------------------------------------------------------------------------------------------


def step_run_claim(*, step_run_id: int, now: datetime) -> bool:
    """The compare-and-set that makes a step run once: only one caller turns this pending row into running."""
    # Only the row's own columns in the WHERE: a condition on a joined table makes Django write
    # "WHERE id IN (SELECT ...)", and PostgreSQL does not re-check such a subquery after waiting for a concurrent
    # update of the row, so two workers could both claim it. Playbook and enrollment status are checked after.
    return bool(
        StepRun.objects.filter(pk=step_run_id, status=StepRunStatus.PENDING, due_at__lte=now).update(
            status=StepRunStatus.RUNNING, claimed_at=now, attempts=F("attempts") + 1
        )
    )


def step_runs_due(*, now: datetime, limit: int = DUE_BATCH) -> list[int]:
    return list(
        StepRun.objects.filter(
            status=StepRunStatus.PENDING,
            due_at__lte=now,
            enrollment__status=EnrollmentStatus.ACTIVE,
            enrollment__playbook__status=PlaybookStatus.ACTIVE,
        )
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def step_runs_due_run(*, organization: Organization, now: datetime | None = None, rounds: int = 10) -> int:
    """Claims and runs every due step of the organization (the tenant scope the caller is in). A step that
    finishes makes its successor due at once (no wait), so the pass goes round again until nothing is due (at most
    `rounds` times)."""
    ran = 0
    for _ in range(rounds):
        moment = now or timezone.now()
        due = step_runs_due(now=moment)
        claimed_any = False
        for step_run_id in due:
            if step_run_claim(step_run_id=step_run_id, now=moment):
                claimed_any = True
                step_run_execute(step_run_id=step_run_id, now=moment)
                ran += 1
        if not claimed_any:
            break
    return ran


def _context(step_run: StepRun, *, step: dict[str, Any]) -> StepContext:
    enrollment = step_run.enrollment
    contact = enrollment.contact or selectors.first_contact(account_id=enrollment.account_id)
    return StepContext(
        organization=enrollment.playbook.organization, playbook=enrollment.playbook,
        version_number=enrollment.version.number, account=enrollment.account, contact=contact, step=step,
        step_run=step_run, enrollment_id=enrollment.pk,
    )  # fmt: skip


def step_run_execute(*, step_run_id: int, now: datetime | None = None) -> None:
    """Runs a step this caller has claimed (status running), records what happened and moves the enrollment on."""
    now = now or timezone.now()
    step_run = StepRun.objects.select_related(
        "enrollment__playbook__organization", "enrollment__version", "enrollment__account__csm_owner",
        "enrollment__account__ae_owner", "enrollment__contact__owner",
    ).get(pk=step_run_id)  # fmt: skip
    enrollment = step_run.enrollment
    if enrollment.status != EnrollmentStatus.ACTIVE:
        StepRun.objects.filter(pk=step_run.pk, status=StepRunStatus.RUNNING).update(
            status=StepRunStatus.CANCELLED, finished_at=now
        )
        return
    if enrollment.playbook.status != PlaybookStatus.ACTIVE:
        # Paused between the due query and the claim: hand the row back untouched.
        StepRun.objects.filter(pk=step_run.pk, status=StepRunStatus.RUNNING).update(
            status=StepRunStatus.PENDING, claimed_at=None, attempts=F("attempts") - 1
        )
        return
    steps = enrollment.version.definition["steps"]
    step = steps[step_run.step_index]
    try:
        # Not one transaction: what a step records on the way (the HTTP answer of a call that then fails) stays.
        result = RUNNERS[step["type"]](_context(step_run, step=step))
    except StepSkipped as exc:
        _finish(step_run, StepRunStatus.SKIPPED, now, result={"skipped": str(exc)})
    except StepError as exc:
        _fail(step_run, exc.message, now, retryable=exc.retryable)
    except ValidationError as exc:  # a service refused (task_create, contact_update): retrying will not help
        _fail(step_run, "; ".join(exc.messages), now, retryable=False)
    except Exception as exc:  # an SMTP outage, a bug: kept on the row, retried with backoff
        logger.exception("Playbook step %s failed", step_run.pk)
        _fail(step_run, f"{exc.__class__.__name__}: {exc}"[:2000], now, retryable=True)
    else:
        _finish(step_run, StepRunStatus.SUCCEEDED, now, result=result)


@transaction.atomic
def _finish(step_run: StepRun, status: str, now: datetime, *, result: dict[str, Any]) -> None:
    finished = StepRun.objects.filter(pk=step_run.pk, status=StepRunStatus.RUNNING).update(
        status=status, result=_json_safe(result), error="", finished_at=now
    )
    if not finished:
        return
    enrollment = step_run.enrollment
    steps = enrollment.version.definition["steps"]
    next_index = step_run.step_index + 1
    if next_index >= len(steps):
        Enrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.ACTIVE).update(
            status=EnrollmentStatus.COMPLETED, finished_at=now
        )
        return
    nxt = steps[next_index]
    StepRun.objects.get_or_create(
        enrollment=enrollment, step_index=next_index,
        defaults={"organization": enrollment.organization, "step_type": nxt["type"], "due_at": _due_for(nxt, now)},
    )  # fmt: skip


def backoff(attempts: int) -> timedelta:
    """1, 5, 25 minutes after the first, second and third failure."""
    return timedelta(seconds=BACKOFF_BASE_SECONDS * BACKOFF_FACTOR ** max(0, attempts - 1))


@transaction.atomic
def _fail(step_run: StepRun, message: str, now: datetime, *, retryable: bool) -> None:
    current = StepRun.objects.get(pk=step_run.pk)
    if retryable and current.attempts < MAX_ATTEMPTS:
        StepRun.objects.filter(pk=step_run.pk, status=StepRunStatus.RUNNING).update(
            status=StepRunStatus.PENDING, due_at=now + backoff(current.attempts), error=message
        )
        return
    updated = StepRun.objects.filter(pk=step_run.pk, status=StepRunStatus.RUNNING).update(
        status=StepRunStatus.FAILED, error=message, finished_at=now
    )
    if updated:
        Enrollment.objects.filter(pk=step_run.enrollment_id, status=EnrollmentStatus.ACTIVE).update(
            status=EnrollmentStatus.FAILED, finished_at=now
        )


def _json_safe(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def step_runs_stale_fail(*, now: datetime | None = None) -> int:
    """Claims older than STALE_AFTER whose worker died: failed, for a person to check and retry (see module doc)."""
    now = now or timezone.now()
    stale = list(
        StepRun.objects.filter(status=StepRunStatus.RUNNING, claimed_at__lt=now - STALE_AFTER).values_list(
            "pk", "enrollment_id"
        )
    )
    failed = 0
    for pk, enrollment_id in stale:
        with transaction.atomic():
            if StepRun.objects.filter(pk=pk, status=StepRunStatus.RUNNING, claimed_at__lt=now - STALE_AFTER).update(
                status=StepRunStatus.FAILED,
                finished_at=now,
                error="The worker stopped while running this step, so it may or may not have happened. "
                "Check, then retry it if needed.",
            ):
                Enrollment.objects.filter(pk=enrollment_id, status=EnrollmentStatus.ACTIVE).update(
                    status=EnrollmentStatus.FAILED, finished_at=now
                )
                failed += 1
    return failed


@transaction.atomic
def step_run_retry(*, tenant: Tenant, step_run: StepRun) -> StepRun:
    """The Retry button: a failed step is due again now with fresh attempts, and its enrollment runs again."""
    retried = StepRun.objects.filter(pk=step_run.pk, status=StepRunStatus.FAILED).update(
        status=StepRunStatus.PENDING, due_at=timezone.now(), attempts=0, finished_at=None, claimed_at=None
    )
    if not retried:
        raise ValidationError({"step_run": ["Only a failed step can be retried."]})
    try:
        with transaction.atomic():
            Enrollment.objects.filter(pk=step_run.enrollment_id).update(
                status=EnrollmentStatus.ACTIVE, finished_at=None
            )
    except IntegrityError as exc:  # the account is running through this playbook again meanwhile
        raise ValidationError(
            {"step_run": ["This account is already running through the playbook again; retry after that run."]}
        ) from exc
    step_run.refresh_from_db()
    audit_record(
        tenant=tenant, action="playbook.step_retried", obj=step_run.enrollment.playbook,
        changes={"step": [None, step_run.step_index]}, account_id=step_run.enrollment.account_id,
    )  # fmt: skip
    from playbooks.tasks import playbook_run_due

    organization_id = tenant.organization.pk
    transaction.on_commit(lambda: playbook_run_due.delay(organization_id))
    return step_run


@transaction.atomic
def enrollment_cancel(*, tenant: Tenant, enrollment: Enrollment) -> Enrollment:
    now = timezone.now()
    if Enrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.ACTIVE).update(
        status=EnrollmentStatus.CANCELLED, finished_at=now
    ):
        StepRun.objects.filter(enrollment=enrollment, status=StepRunStatus.PENDING).update(
            status=StepRunStatus.CANCELLED, finished_at=now
        )
        audit_record(
            tenant=tenant, action="playbook.enrollment_cancelled", obj=enrollment.playbook,
            account_id=enrollment.account_id,
        )  # fmt: skip
    enrollment.refresh_from_db()
    return enrollment
