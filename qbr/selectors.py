"""Reads of the qbr app: who is in the programme, when QBRs were and are, upcoming meetings, requests.

Every list runs a constant number of queries: last and next QBR and the kickoff day are subqueries of the one
account query, never a query per row.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import DecimalField, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account, AccountStatus
from qbr import rules
from qbr.models import (
    DEFAULT_ARR_THRESHOLD,
    FeatureRequest,
    FeatureRequestAccount,
    Meeting,
    MeetingKind,
    MeetingShare,
    MeetingStatus,
    QbrSettings,
    QbrTaskLink,
)

UPCOMING_STATUSES = (MeetingStatus.PROPOSED, MeetingStatus.SCHEDULED)


def arr_threshold_expression():
    """The organization's threshold inside the account query (the default where it never set one)."""
    threshold = QbrSettings.objects.filter(organization=OuterRef("organization")).values("arr_threshold")[:1]
    return Coalesce(
        Subquery(threshold, output_field=DecimalField(max_digits=14, decimal_places=2)),
        Value(DEFAULT_ARR_THRESHOLD, output_field=DecimalField(max_digits=14, decimal_places=2)),
    )


def programme_condition() -> Q:
    """Seed 000: active customers "over $10k ARR, or manually nominated because of their growth potential".

    A Q for Account querysets; accounts.selectors uses it for the account list's "in QBR programme" filter.
    """
    return Q(status=AccountStatus.ACTIVE) & (Q(qbr_nominated=True) | Q(arr__gt=arr_threshold_expression()))


def account_in_programme(*, account: Account, threshold) -> bool:
    return account.status == AccountStatus.ACTIVE and (account.qbr_nominated or account.arr > threshold)


def _last_held_qbr():
    held = Meeting.objects.filter(account=OuterRef("pk"), kind=MeetingKind.QBR, status=MeetingStatus.HELD)
    return Subquery(held.order_by("-starts_at").values("starts_at")[:1])


def _next_qbr(field: str = "starts_at"):
    upcoming = Meeting.objects.filter(account=OuterRef("pk"), kind=MeetingKind.QBR, status__in=UPCOMING_STATUSES)
    return Subquery(upcoming.order_by("starts_at", "id").values(field)[:1])


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def overdue_condition(*, today: date) -> Q:
    """rules.qbr_is_overdue in SQL: no QBR held since a quarter ago, once a quarter has passed since kickoff."""
    cutoff = today - rules.QUARTER
    return Q(last_qbr_at__lt=_start_of(cutoff)) | Q(
        Q(last_qbr_at__isnull=True)
        & (Q(kickoff_date__lt=cutoff) | Q(kickoff_date__isnull=True, created_at__lt=_start_of(cutoff)))
    )


def programme_accounts(*, today: date | None = None) -> QuerySet:
    """Accounts in the programme, with their last held QBR, next proposed or scheduled one, and kickoff day."""
    from lifecycle.selectors import kickoff_date_expression

    return (
        Account.objects.filter(programme_condition())
        .annotate(
            last_qbr_at=_last_held_qbr(),
            next_qbr_at=_next_qbr(),
            next_qbr_id=_next_qbr("id"),
            next_qbr_status=_next_qbr("status"),
            kickoff_date=kickoff_date_expression(),
        )
        .select_related("csm_owner")
    )


@dataclass
class ProgrammeRow:
    account: Account
    last_qbr: date | None
    next_qbr_at: datetime | None
    next_qbr_id: int | None
    next_qbr_status: str | None
    due: date
    overdue: bool


def programme_row(account: Account, *, today: date) -> ProgrammeRow:
    last = timezone.localdate(account.last_qbr_at) if account.last_qbr_at else None
    joined = timezone.localdate(account.created_at)
    return ProgrammeRow(
        account=account,
        last_qbr=last,
        next_qbr_at=account.next_qbr_at,
        next_qbr_id=account.next_qbr_id,
        next_qbr_status=account.next_qbr_status,
        due=rules.qbr_due_date(last_qbr=last, kickoff=account.kickoff_date, joined=joined),
        overdue=rules.qbr_is_overdue(last_qbr=last, kickoff=account.kickoff_date, joined=joined, today=today),
    )


@dataclass(frozen=True)
class ProgrammeFilters:
    csm: int | None = None
    overdue_only: bool = False
    search: str = ""


def programme_list(*, today: date, filters: ProgrammeFilters, limit: int = 500) -> list[ProgrammeRow]:
    """Every programme account (up to `limit`) with last and next QBR; overdue first, then by name. One query."""
    accounts = programme_accounts(today=today)
    if filters.csm:
        accounts = accounts.filter(csm_owner_id=filters.csm)
    if filters.search:
        accounts = accounts.filter(Q(name__icontains=filters.search) | Q(codename__iexact=filters.search))
    if filters.overdue_only:
        accounts = accounts.filter(overdue_condition(today=today))
    rows = [programme_row(account, today=today) for account in accounts.order_by("name", "id")[:limit]]
    rows.sort(key=lambda row: (not row.overdue, row.account.name.lower()))
    return rows


def overdue_programme_accounts(*, csm, today: date, limit: int = 20) -> list[ProgrammeRow]:
    """For "My work": the member's programme accounts with no QBR in the last quarter."""
    accounts = programme_accounts(today=today).filter(csm_owner=csm).filter(overdue_condition(today=today))
    return [programme_row(account, today=today) for account in accounts.order_by("name", "id")[:limit]]


def upcoming_meetings(*, start: datetime, end: datetime, organizer_id: int | None = None, limit: int = 300) -> list:
    """Meetings and QBRs in a window (proposed and scheduled), soonest first: the calendar. One query."""
    meetings = Meeting.objects.filter(starts_at__gte=start, starts_at__lt=end, status__in=UPCOMING_STATUSES)
    if organizer_id:
        meetings = meetings.filter(organizer_id=organizer_id)
    return list(meetings.select_related("account", "organizer").order_by("starts_at", "id")[:limit])


def meetings_needing_outcomes(*, organizer, now: datetime, limit: int = 10) -> list[Meeting]:
    """Scheduled meetings whose time has passed: record what came out of them."""
    return list(
        Meeting.objects.filter(organizer=organizer, status=MeetingStatus.SCHEDULED, starts_at__lt=now)
        .select_related("account")
        .order_by("-starts_at", "id")[:limit]
    )


def account_meetings(*, account_id: int, limit: int = 50) -> list[Meeting]:
    return list(
        Meeting.objects.filter(account_id=account_id).select_related("organizer").order_by("-starts_at", "-id")[:limit]
    )


def meeting_for_page(*, pk: int) -> Meeting:
    """The meeting with what its page shows, in a fixed number of queries."""
    return (
        Meeting.objects.select_related("account", "account__csm_owner", "organizer")
        .prefetch_related("contacts", "members", "outreach_attempts__attempted_by")
        .get(pk=pk)
    )


def meeting_action_items(*, meeting: Meeting) -> list:
    links = QbrTaskLink.objects.filter(meeting=meeting, kind=QbrTaskLink.Kind.ACTION_ITEM).select_related(
        "task", "task__assignee"
    )
    return [link.task for link in links.order_by("task__due_date", "task_id")]


def meeting_requests(*, meeting: Meeting) -> list[FeatureRequest]:
    """Requests captured in this meeting."""
    ids = FeatureRequestAccount.objects.filter(meeting=meeting).values("request_id")
    return list(FeatureRequest.objects.filter(pk__in=ids).order_by("title"))


def latest_health_check(*, account_id: int, before: datetime) -> Meeting | None:
    """Seed 003: the health check before the QBR; its findings are carried into the QBR."""
    return (
        Meeting.objects.filter(
            account_id=account_id, kind=MeetingKind.HEALTH_CHECK, status=MeetingStatus.HELD, starts_at__lte=before
        )
        .order_by("-starts_at")
        .first()
    )


def previous_meeting(*, meeting: Meeting) -> Meeting | None:
    return (
        Meeting.objects.filter(
            account_id=meeting.account_id, status=MeetingStatus.HELD, starts_at__lt=meeting.starts_at
        )
        .exclude(pk=meeting.pk)
        .order_by("-starts_at")
        .first()
    )


def open_follow_ups(*, meeting: Meeting) -> list:
    """Action items of the account's previous meeting still open: seed 003's "follow ups from the previous call"."""
    previous = previous_meeting(meeting=meeting)
    if previous is None:
        return []
    from lifecycle.models import Task

    return [task for task in meeting_action_items(meeting=previous) if task.status == Task.Status.OPEN]


def account_feature_requests(*, account_id: int) -> list[FeatureRequest]:
    asked = FeatureRequestAccount.objects.filter(account_id=account_id, request=OuterRef("pk"))
    return list(FeatureRequest.objects.filter(Exists(asked)).order_by("status", "-updated_at", "id"))


FEATURE_REQUEST_SORTS_DEFAULT = "-updated_at"


def feature_request_list(*, status: str = "", search: str = "", account_id: int | None = None) -> QuerySet:
    """Requests with their asking accounts prefetched (two queries for the page, however many accounts)."""
    requests = FeatureRequest.objects.prefetch_related(
        Prefetch("askers", queryset=FeatureRequestAccount.objects.select_related("account").order_by("added_at", "id"))
    )
    if status:
        requests = requests.filter(status=status)
    if search:
        requests = requests.filter(Q(title__icontains=search) | Q(description__icontains=search))
    if account_id:
        requests = requests.filter(
            Exists(FeatureRequestAccount.objects.filter(request=OuterRef("pk"), account_id=account_id))
        )
    return requests


def shared_meeting_for_token(*, token: str, now: datetime | None = None) -> MeetingShare | None:
    """The share behind a token, if it has neither expired nor been revoked. Cross-tenant by design: the token is
    the only thing the customer has, so the lookup runs in platform_scope and the caller enters the share's tenant."""
    import hashlib

    from core.tenancy import platform_scope

    now = now or timezone.now()
    digest = hashlib.sha256(token.encode()).hexdigest()
    with platform_scope():
        return (
            MeetingShare.objects.select_related("organization")
            .filter(token_hash=digest, revoked_at__isnull=True, expires_at__gt=now)
            .first()
        )


def meeting_shares(*, meeting: Meeting) -> list[MeetingShare]:
    return list(MeetingShare.objects.filter(meeting=meeting).order_by("-created_at")[:10])


def meetings_due_for_attendance_check(*, now: datetime) -> QuerySet:
    """Seed 004: scheduled meetings starting within 48 hours whose check has not run."""
    return Meeting.objects.filter(
        status=MeetingStatus.SCHEDULED,
        attendance_checked_at__isnull=True,
        starts_at__gt=now,
        starts_at__lte=now + rules.ATTENDANCE_CHECK_BEFORE,
    ).select_related("organization", "account", "account__csm_owner")


def programme_summary(*, today: date) -> dict[str, int]:
    accounts = programme_accounts(today=today)
    horizon = _start_of(today + rules.QUARTER)
    return {
        "in_programme": accounts.count(),
        "overdue": accounts.filter(overdue_condition(today=today)).count(),
        "scheduled": accounts.filter(next_qbr_at__isnull=False, next_qbr_at__lt=horizon).count(),
    }


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def my_work_meetings(*, organizer, days: int = 7, limit: int = 10) -> list[Meeting]:
    """The member's meetings of the coming week, for "My work"."""
    now = timezone.now()
    return upcoming_meetings(start=now, end=now + timedelta(days=days), organizer_id=organizer.pk, limit=limit)


def last_meeting_by_account(*, now: datetime, account_ids: list[int] | None = None) -> dict[int, datetime]:
    """When each account last met us (a QBR, health check or call that was held): one grouped query."""
    from django.db.models import Max

    meetings = Meeting.objects.filter(status=MeetingStatus.HELD, starts_at__lte=now)
    if account_ids is not None:
        meetings = meetings.filter(account_id__in=account_ids)
    return {
        row["account_id"]: row["last"]
        for row in meetings.values("account_id").annotate(last=Max("starts_at")).order_by()
    }
