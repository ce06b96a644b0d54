"""Reads on accounts and contacts. All run inside a tenant scope; none loops a query per row."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import chain

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import Account, AccountStatus, Cohort, CohortArrSnapshot, Contact, Note
from core.models import AuditEntry, Organization, Role
from core.pagination import SortKey

User = get_user_model()

ACCOUNT_SORTS = {
    key.param: key
    for field, nullable in (
        ("name", False),
        ("arr", False),
        ("renewal_date", True),
        ("health_score", True),
        ("health_trend", True),
    )  # health_*: annotated by health.selectors.accounts_with_health in account_list
    for key in (SortKey(field, False, nullable), SortKey(field, True, nullable))
}
CONTACT_SORTS = {
    key.param: key for field in ("last_name", "created_at") for key in (SortKey(field, False), SortKey(field, True))
}


def organization_member_users(*, organization: Organization) -> QuerySet:
    return User.objects.filter(memberships__organization=organization).order_by("first_name", "last_name", "email")


def customer_success_member_users(*, organization: Organization) -> QuerySet:
    """The members who can own accounts for customer success: CSMs and admins."""
    return organization_member_users(organization=organization).filter(
        memberships__organization=organization, memberships__role__in=(Role.CSM, Role.ADMIN)
    )


@dataclass(frozen=True)
class AccountFilters:
    search: str = ""
    cohort: str = ""
    status: str = ""
    owner: int | None = None
    qbr_nominated: bool | None = None
    qbr_programme: bool | None = None


def account_list(*, filters: AccountFilters) -> QuerySet:
    # Health builds on accounts: its score and trend columns come from health's selector (one LEFT JOIN).
    from health.selectors import accounts_with_health

    accounts = accounts_with_health(Account.objects.select_related("csm_owner", "ae_owner"))
    if filters.search:
        accounts = accounts.filter(
            Q(name__icontains=filters.search) | Q(domain__icontains=filters.search) | Q(codename__iexact=filters.search)
        )
    if filters.cohort:
        accounts = accounts.filter(cohort=filters.cohort)
    if filters.status:
        accounts = accounts.filter(status=filters.status)
    if filters.owner:
        accounts = accounts.filter(Q(csm_owner_id=filters.owner) | Q(ae_owner_id=filters.owner))
    if filters.qbr_nominated is not None:
        accounts = accounts.filter(qbr_nominated=filters.qbr_nominated)
    if filters.qbr_programme is not None:
        # The programme's rule (ARR over the organization's threshold, or nominated) belongs to qbr, which builds on
        # accounts: imported here, and a subquery of this one query, so the list's query count does not change.
        from qbr.selectors import programme_condition

        condition = programme_condition()
        accounts = accounts.filter(condition if filters.qbr_programme else ~condition)
    return accounts


@dataclass(frozen=True)
class ContactFilters:
    search: str = ""
    account: int | None = None
    lifecycle_stage: str = ""


def contact_list(*, filters: ContactFilters, with_qualification: bool = False) -> QuerySet:
    contacts = Contact.objects.select_related("account")
    if with_qualification:
        contacts = contacts.select_related("qualification")  # the API shows the answers lifecycle keeps
    if filters.search:
        contacts = contacts.filter(
            Q(email__icontains=filters.search)
            | Q(first_name__icontains=filters.search)
            | Q(last_name__icontains=filters.search)
        )
    if filters.account:
        contacts = contacts.filter(account_id=filters.account)
    if filters.lifecycle_stage:
        contacts = contacts.filter(lifecycle_stage=filters.lifecycle_stage)
    return contacts


@dataclass(frozen=True)
class CohortSummary:
    cohort: str
    label: str
    account_count: int
    arr: Decimal
    renewal_count: int = 0
    renewal_arr: Decimal = Decimal("0")


def cohort_summary(*, today: date | None = None, renewal_days: int = 90) -> list[CohortSummary]:
    """Active accounts, ARR and renewals due per cohort, in the cohorts' own order: one grouped query."""
    renewal_window = (
        Q(renewal_date__gte=today, renewal_date__lte=today + timedelta(days=renewal_days)) if today else Q(pk__in=[])
    )
    rows = {
        row["cohort"]: row
        for row in Account.objects.filter(status=AccountStatus.ACTIVE)
        .values("cohort")
        .annotate(
            account_count=Count("id"),
            total_arr=Sum("arr"),
            renewal_count=Count("id", filter=renewal_window),
            renewal_arr=Sum("arr", filter=renewal_window),
        )
        .order_by()
    }
    return [
        CohortSummary(
            cohort=value,
            label=label,
            account_count=rows.get(value, {}).get("account_count", 0),
            arr=rows.get(value, {}).get("total_arr") or Decimal("0"),
            renewal_count=rows.get(value, {}).get("renewal_count", 0),
            renewal_arr=rows.get(value, {}).get("renewal_arr") or Decimal("0"),
        )
        for value, label in Cohort.choices
    ]


def _renewals_window(*, today: date, days: int) -> QuerySet:
    return Account.objects.filter(
        status=AccountStatus.ACTIVE, renewal_date__gte=today, renewal_date__lte=today + timedelta(days=days)
    )


def renewals_due(*, today: date, days: int = 90, limit: int = 10) -> QuerySet:
    """The soonest renewals in the window, for the dashboard's table."""
    return _renewals_window(today=today, days=days).select_related("csm_owner").order_by("renewal_date", "id")[:limit]


def cohort_arr_history(*, since: date) -> list[CohortArrSnapshot]:
    return list(CohortArrSnapshot.objects.filter(day__gte=since).order_by("day", "cohort"))


@dataclass(frozen=True)
class TimelineItem:
    kind: str  # "note" or "change"
    at: object
    item: object


def account_timeline(*, account: Account, limit: int = 50) -> list[TimelineItem]:
    """Notes and recorded changes of the account and its contacts, newest first."""
    notes = Note.objects.filter(account=account).select_related("author")[:limit]
    changes = (
        AuditEntry.objects.filter(account_id=account.pk)
        .exclude(action="note.added")
        .select_related("actor", "actor_api_key")
        .order_by("-created_at", "-id")[:limit]
    )
    items = chain(
        (TimelineItem("note", note.created_at, note) for note in notes),
        (TimelineItem("change", entry.created_at, entry) for entry in changes),
    )
    return sorted(items, key=lambda item: item.at, reverse=True)[:limit]


def object_history(*, object_type: str, object_id: int, limit: int = 50) -> QuerySet:
    return (
        AuditEntry.objects.filter(object_type=object_type, object_id=object_id)
        .select_related("actor", "actor_api_key")
        .order_by("-created_at", "-id")[:limit]
    )


def last_note_by_account(*, account_ids: list[int] | None = None) -> dict[int, object]:
    """When each account's latest note was written: one grouped query (health's engagement recency)."""
    from django.db.models import Max

    notes = Note.objects.all()
    if account_ids is not None:
        notes = notes.filter(account_id__in=account_ids)
    return {
        row["account_id"]: row["last"] for row in notes.values("account_id").annotate(last=Max("created_at")).order_by()
    }
