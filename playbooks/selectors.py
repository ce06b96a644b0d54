"""Reads of playbooks: who is in a playbook's audience, who a time trigger would enroll now, and the pages' lists.

The trigger candidates are set-based: one query per playbook whatever the number of accounts (the health score
range adds one call to health.selectors.effective_scores for the candidates, when the audience asks for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Account, AccountStatus, Contact
from core.tenancy import zone_of
from playbooks import definition as pdef
from playbooks.models import Enrollment, Playbook, PlaybookStatus, SentEmail, StepRun, StepRunStatus, TriggerType

# An inaction trigger looks back this far: accounts whose deadline passed earlier are not nudged when a playbook
# is switched on (a nudge a week late would be noise), and each account is enrolled once ("inaction:<account>").
INACTION_LOOKBACK = timedelta(days=7)
# A date trigger with a non-negative offset keeps enrolling for this many days after its day (a missed beat, a
# playbook turned on the day after); a negative offset ("90 days before renewal") enrolls until the date itself.
DATE_GRACE_DAYS = 7


def audience_accounts(*, audience: dict[str, Any] | None) -> QuerySet[Account]:
    """Active accounts matching the audience's cohort, owner, ARR and contact-stage conditions (one query).
    The score range is applied by `audience_score_filter`, since scores come from the health app."""
    audience = audience or {}
    accounts = Account.objects.filter(status=AccountStatus.ACTIVE)
    if audience.get("cohorts"):
        accounts = accounts.filter(cohort__in=audience["cohorts"])
    if audience.get("csm_owner_ids"):
        accounts = accounts.filter(csm_owner_id__in=audience["csm_owner_ids"])
    if audience.get("min_arr") is not None:
        accounts = accounts.filter(arr__gte=audience["min_arr"])
    if audience.get("lifecycle_stages"):
        accounts = accounts.filter(
            Exists(Contact.objects.filter(account=OuterRef("pk"), lifecycle_stage__in=audience["lifecycle_stages"]))
        )
    return accounts


def audience_uses_scores(audience: dict[str, Any] | None) -> bool:
    audience = audience or {}
    return audience.get("score_min") is not None or audience.get("score_max") is not None


def audience_score_filter(*, audience: dict[str, Any] | None, account_ids: list[int]) -> list[int]:
    """The ids whose health score is in the range; an account without a score is not in a range."""
    if not audience_uses_scores(audience) or not account_ids:
        return account_ids
    try:
        from health.selectors import effective_scores
    except ImportError:
        return []  # fail closed: no health scores yet, so no account is known to be in the range
    scores = effective_scores(account_ids=account_ids)
    low = audience.get("score_min") if audience.get("score_min") is not None else 0
    high = audience.get("score_max") if audience.get("score_max") is not None else 100
    return [pk for pk in account_ids if pk in scores and low <= scores[pk] <= high]


def account_in_audience(*, audience: dict[str, Any] | None, account_id: int, contact: Contact | None = None) -> bool:
    audience = audience or {}
    accounts = audience_accounts(audience={**audience, "lifecycle_stages": []} if contact else audience)
    if not accounts.filter(pk=account_id).exists():
        return False
    if (
        contact is not None
        and audience.get("lifecycle_stages")
        and contact.lifecycle_stage not in audience["lifecycle_stages"]
    ):
        return False
    return bool(audience_score_filter(audience=audience, account_ids=[account_id]))


@dataclass(frozen=True)
class Candidate:
    account_id: int
    key: str
    anchor_date: date | None = None


def inaction_candidates(*, playbook: Playbook, definition: dict[str, Any], now: datetime) -> list[Candidate]:
    """Seed 000's snapshot nudge: accounts signed up more than `within_hours` ago (and within the look-back) that
    have never used the feature, and were not enrolled for it before."""
    trigger = definition["trigger"]
    deadline = now - timedelta(hours=trigger["within_hours"])
    accounts = audience_accounts(audience=definition.get("audience")).filter(
        created_at__lte=deadline, created_at__gt=deadline - INACTION_LOOKBACK
    )
    from usage.models import FeatureEvent  # usage's own rows, read for its "was it used" answer

    accounts = accounts.filter(
        ~Exists(FeatureEvent.objects.filter(account=OuterRef("pk"), feature=trigger["feature"])),
        ~Exists(
            Enrollment.objects.filter(playbook=playbook, account=OuterRef("pk"), enrollment_key__startswith="inaction:")
        ),
    )
    ids = audience_score_filter(
        audience=definition.get("audience"), account_ids=list(accounts.values_list("pk", flat=True))
    )
    return [Candidate(account_id=pk, key=f"inaction:{pk}") for pk in ids]


def date_candidates(*, playbook: Playbook, definition: dict[str, Any], today: date) -> list[Candidate]:
    """Accounts whose date plus the offset has come (renewal minus 90 days), once per date value."""
    trigger = definition["trigger"]
    offset = trigger["offset_days"]
    field = trigger["field"]
    # today in [date + offset, date + offset + grace]  <=>  date in [today - offset - grace, today - offset]
    grace = -offset if offset < 0 else DATE_GRACE_DAYS
    accounts = audience_accounts(audience=definition.get("audience")).filter(
        **{
            f"{field}__gte": today - timedelta(days=offset + grace),
            f"{field}__lte": today - timedelta(days=offset),
        }
    )
    accounts = accounts.filter(
        ~Exists(Enrollment.objects.filter(playbook=playbook, account=OuterRef("pk"), anchor_date=OuterRef(field)))
    )
    rows = list(accounts.values_list("pk", field))
    ids = set(audience_score_filter(audience=definition.get("audience"), account_ids=[pk for pk, _ in rows]))
    return [
        Candidate(account_id=pk, key=f"date:{field}:{value.isoformat()}:{pk}", anchor_date=value)
        for pk, value in rows
        if pk in ids
    ]


def schedule_slot(*, definition: dict[str, Any], since: datetime | None, now: datetime, zone) -> datetime | None:
    """The latest minute in (since, now] that the cron expression names, read in the organization's zone; a beat
    that missed minutes still finds the slot (up to a day back), and a slot is never found twice."""
    parsed = pdef.cron_parse(definition["trigger"]["cron"])
    end = now.replace(second=0, microsecond=0)
    start = max(since, end - timedelta(days=1)) if since else end - timedelta(minutes=1)
    moment = end
    while moment > start:
        if pdef.cron_matches(parsed, moment.astimezone(zone)):
            return moment
        moment -= timedelta(minutes=1)
    return None


def schedule_candidates(*, playbook: Playbook, definition: dict[str, Any], slot: datetime) -> list[Candidate]:
    ids = list(audience_accounts(audience=definition.get("audience")).values_list("pk", flat=True))
    ids = audience_score_filter(audience=definition.get("audience"), account_ids=ids)
    stamp = slot.strftime("%Y%m%d%H%M")
    return [Candidate(account_id=pk, key=f"cron:{stamp}:{pk}") for pk in ids]


# --- Pages -----------------------------------------------------------------------------------------------------


def playbook_list() -> QuerySet[Playbook]:
    """The list page and the API: each playbook with its running enrollments and its last step run, in one query."""
    return (
        Playbook.objects.select_related("current_version")
        .annotate(
            enrollment_count=Count("enrollments", distinct=True),
            running_count=Count("enrollments", filter=Q(enrollments__status="active"), distinct=True),
            last_run_at=Max("enrollments__step_runs__finished_at"),
        )
        .order_by("name", "id")
    )


def playbook_enrollments(*, playbook: Playbook) -> QuerySet[Enrollment]:
    return (
        Enrollment.objects.filter(playbook=playbook)
        .select_related("account", "contact", "version")
        .order_by("-enrolled_at", "-id")
    )


def enrollments_with_runs(enrollments: list[Enrollment]) -> list[Enrollment]:
    """Attaches each enrollment's step runs (and their outbound calls) in two queries for the whole page."""
    runs = list(
        StepRun.objects.filter(enrollment__in=enrollments).prefetch_related("outbound_calls").order_by("step_index")
    )
    by_enrollment: dict[int, list[StepRun]] = {}
    for run in runs:
        by_enrollment.setdefault(run.enrollment_id, []).append(run)
    for enrollment in enrollments:
        enrollment.runs = by_enrollment.get(enrollment.pk, [])
        steps = enrollment.version.definition["steps"]
        for run in enrollment.runs:
            run.summary = pdef.step_summary(steps[run.step_index]) if run.step_index < len(steps) else run.step_type
    return enrollments


def failed_step_count(*, playbook: Playbook) -> int:
    return StepRun.objects.filter(enrollment__playbook=playbook, status=StepRunStatus.FAILED).count()


def sent_email_list() -> QuerySet[SentEmail]:
    return SentEmail.objects.select_related("playbook").order_by("-sent_at", "-id")


def active_playbooks(*, trigger_types: tuple[str, ...] | None = None, trigger_event: str | None = None):
    playbooks = Playbook.objects.filter(status=PlaybookStatus.ACTIVE).select_related("current_version")
    if trigger_types:
        playbooks = playbooks.filter(trigger_type__in=trigger_types)
    if trigger_event:
        playbooks = playbooks.filter(trigger_event=trigger_event)
    return playbooks


TIME_TRIGGERS = (TriggerType.INACTION, TriggerType.SCHEDULE, TriggerType.DATE)


def first_contact(*, account_id: int) -> Contact | None:
    """The account's primary contact for an enrollment that names none: the earliest one added."""
    return Contact.objects.filter(account_id=account_id).order_by("created_at", "id").first()


# --- Dry run ---------------------------------------------------------------------------------------------------


@dataclass
class DryRun:
    note: str
    total: int
    accounts: list[dict[str, Any]]


def playbook_dry_run(
    *,
    playbook: Playbook,
    definition: dict[str, Any] | None = None,
    now: datetime | None = None,
    limit: int = 50,
    preview_limit: int = 3,
) -> DryRun:
    """Which accounts would enroll now, and what each step would send them, without sending or writing anything.

    For a time trigger these are the accounts the next minute's pass would enroll; for an event trigger, the
    accounts in the audience today (they enroll when the event happens to them); for a schedule, the accounts the
    next slot would enroll."""
    from playbooks.steps import RUNNERS, StepContext, StepError, StepSkipped

    now = now or timezone.now()
    definition = definition or playbook.current_version.definition
    trigger = definition["trigger"]
    audience = definition.get("audience")
    if trigger["type"] == TriggerType.INACTION:
        ids = [c.account_id for c in inaction_candidates(playbook=playbook, definition=definition, now=now)]
        note = "These accounts would enroll at the next minute's pass."
    elif trigger["type"] == TriggerType.DATE:
        today = now.astimezone(zone_of(playbook.organization.timezone)).date()
        ids = [c.account_id for c in date_candidates(playbook=playbook, definition=definition, today=today)]
        note = "These accounts would enroll at the next minute's pass."
    else:
        ids = audience_score_filter(
            audience=audience, account_ids=list(audience_accounts(audience=audience).values_list("pk", flat=True))
        )
        if trigger["type"] == TriggerType.SCHEDULE:
            note = f"These accounts would enroll at the next slot of the schedule ({trigger['cron']})."
        else:
            note = "These accounts are in the audience now: each enrolls when the event happens to it."
    if audience_uses_scores(audience):
        note += " The health score range is applied."
    accounts = list(
        Account.objects.filter(pk__in=ids).select_related("csm_owner", "ae_owner").order_by("name", "pk")[:limit]
    )
    contacts: dict[int, Contact] = {}
    for contact in Contact.objects.filter(account__in=accounts).select_related("owner").order_by("created_at", "id"):
        contacts.setdefault(contact.account_id, contact)
    version_number = playbook.current_version.number if playbook.current_version else 0
    rows = []
    for position, account in enumerate(accounts):
        if position >= preview_limit:  # the list names them all; what would be sent is shown for the first few
            rows.append({"account": account, "contact": contacts.get(account.pk), "steps": None})
            continue
        steps = []
        for index, step in enumerate(definition["steps"]):
            context = StepContext(
                organization=playbook.organization, playbook=playbook, version_number=version_number, account=account,
                contact=contacts.get(account.pk), step=step, step_run=None,
            )  # fmt: skip
            entry: dict[str, Any] = {"index": index, "type": step["type"], "summary": pdef.step_summary(step)}
            try:
                entry["preview"] = RUNNERS[step["type"]](context, preview=True)
            except StepSkipped as exc:
                entry["skipped"] = str(exc)
            except StepError as exc:
                entry["error"] = exc.message
            steps.append(entry)
        rows.append({"account": account, "contact": contacts.get(account.pk), "steps": steps})
    return DryRun(note=note, total=len(ids), accounts=rows)
