"""Reads of the support inbox: the views of the inbox, one ticket's conversation. Constant queries per page."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.pagination import BoundedCount, SortKey, bounded_count
from tickets.models import OPEN_STATUSES, Message, Status, Ticket

TICKET_SORTS = {
    key.param: key
    for key in (
        SortKey("sla_due_at", False, nullable=True),
        SortKey("sla_due_at", True, nullable=True),
        SortKey("updated_at", True),
        SortKey("updated_at", False),
    )
}
# "Breaching soon": the next deadline falls within this window (or has passed).
BREACHING_SOON = timedelta(hours=2)

INBOX_VIEWS = {
    "unassigned": "Unassigned",
    "mine": "Mine",
    "open": "All open",
    "pending": "Pending customer",
    "breaching": "Breaching soon",
    "breached": "Breached",
    "closed": "Closed",
}


@dataclass(frozen=True)
class TicketFilters:
    view: str = "open"
    search: str = ""
    status: str = ""
    priority: str = ""
    topic: str = ""
    owner: int | None = None
    account: int | None = None
    tag: str = ""
    cohort: str = ""


def ticket_list(*, filters: TicketFilters, user, now: datetime | None = None, base: QuerySet | None = None) -> QuerySet:
    """One inbox view with its filters, narrowing `base` (default: tickets with requester, owner and account)."""
    tickets = base if base is not None else Ticket.objects.select_related("requester", "owner", "account")
    now = now or timezone.now()
    view = filters.view
    if view == "unassigned":
        tickets = tickets.filter(status__in=OPEN_STATUSES, owner__isnull=True)
    elif view == "mine":
        if user is None or not user.is_authenticated:
            return tickets.none()  # an API key is nobody's "mine"
        tickets = tickets.filter(status__in=OPEN_STATUSES, owner=user)
    elif view == "pending":
        tickets = tickets.filter(status=Status.PENDING_CUSTOMER)
    elif view == "breaching":
        tickets = tickets.filter(status__in=OPEN_STATUSES, sla_due_at__lte=now + BREACHING_SOON)
    elif view == "breached":
        tickets = tickets.filter(status__in=OPEN_STATUSES, sla_due_at__lte=now)
    elif view == "closed":
        tickets = tickets.filter(status=Status.CLOSED)
    else:
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    if filters.search:
        tickets = tickets.filter(ticket_search(filters.search))
    if filters.status:
        tickets = tickets.filter(status=filters.status)
    if filters.priority:
        tickets = tickets.filter(priority=filters.priority)
    if filters.topic:
        tickets = tickets.filter(topic=filters.topic)
    if filters.owner:
        tickets = tickets.filter(owner_id=filters.owner)
    if filters.account:
        tickets = tickets.filter(account_id=filters.account)
    if filters.tag:
        tickets = tickets.filter(tags__name=filters.tag.strip().lower())
    if filters.cohort:
        tickets = tickets.filter(account__cohort=filters.cohort)
    return tickets


def ticket_conversation(*, ticket: Ticket) -> list[Message]:
    return list(
        Message.objects.filter(ticket=ticket)
        .select_related("author", "author_contact")
        .prefetch_related("attachments", "mentions")
        .order_by("created_at", "id")
    )


def view_counts(*, user) -> dict[str, BoundedCount]:
    """How many tickets wait in the views a member watches: bounded like every list count ("1,000+"), so three
    index-only scans of at most 1,001 rows each, whatever the size of the inbox."""
    open_tickets = Ticket.objects.filter(status__in=OPEN_STATUSES)
    return {
        "unassigned": bounded_count(open_tickets.filter(owner__isnull=True)),
        "mine": bounded_count(open_tickets.filter(owner=user)),
        "breaching": bounded_count(open_tickets.filter(sla_due_at__lte=timezone.now() + BREACHING_SOON)),
    }


def ticket_neighbours(*, ticket: Ticket) -> dict[str, int | None]:
    """The previous and next open ticket by number, for the j/k keyboard shortcuts on a ticket page."""
    open_tickets = Ticket.objects.filter(status__in=OPEN_STATUSES)
    previous = (
        open_tickets.filter(number__lt=ticket.number).order_by("-number").values_list("number", flat=True).first()
    )
    following = (
        open_tickets.filter(number__gt=ticket.number).order_by("number").values_list("number", flat=True).first()
    )
    return {"previous": previous, "next": following}


def tickets_for_api() -> QuerySet:
    """The API's rows in one query: the requester's email and the tag names ride along as columns.

    On PostgreSQL the tags come as an array subquery (the bench at 1M tickets measured the prefetch and the joined
    objects as most of the page's time); other databases prefetch them, one more query.
    """
    from django.db import connection
    from django.db.models import F, OuterRef

    from tickets.models import Tag

    tickets = Ticket.objects.annotate(requester_email=F("requester__email"))
    if connection.vendor == "postgresql":
        from django.contrib.postgres.expressions import ArraySubquery

        names = Tag.objects.filter(tickets=OuterRef("pk")).order_by("name").values("name")
        return tickets.annotate(tag_names=ArraySubquery(names))
    return tickets.prefetch_related("tags")


def _words(column: str):
    """to_tsvector('simple', column): exactly the expression migration 0006 indexes, so the planner uses it."""
    from django.contrib.postgres.search import SearchVectorField
    from django.db.models import F, Func

    return Func(
        F(column), template="to_tsvector('simple'::regconfig, %(expressions)s)", output_field=SearchVectorField()
    )


def ticket_search(text: str) -> Q:
    """What the inbox search matches: a ticket number (#123), the requester's email, and the words of the subject
    and of every message of the conversation (full text on PostgreSQL, with GIN indexes; substrings elsewhere)."""
    from django.db import connection

    from accounts.models import Contact

    text = text.strip()
    # One set of ticket ids from parts that each use their own index, rather than an OR across joined tables
    # (which no index serves): number, requester email (trigram index), subject words, message words.
    requesters = Contact.objects.filter(email__icontains=text).values("pk")
    parts = [Ticket.objects.filter(requester__in=requesters).values("pk")]
    if text.lstrip("#").isdigit():
        parts.append(Ticket.objects.filter(number=int(text.lstrip("#"))).values("pk"))
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery

        words = SearchQuery(text, config="simple", search_type="websearch")
        parts.append(Ticket.objects.annotate(words=_words("subject")).filter(words=words).values("pk"))
        parts.append(Message.objects.annotate(words=_words("body_text")).filter(words=words).values("ticket_id"))
    else:
        parts.append(Ticket.objects.filter(subject__icontains=text).values("pk"))
        parts.append(Message.objects.filter(body_text__icontains=text).values("ticket_id"))
    parts = [part.order_by() for part in parts]  # a compound statement takes no ORDER BY in its parts
    return Q(pk__in=parts[0].union(*parts[1:]))


@dataclass(frozen=True)
class AccountTicketActivity:
    """An account's support over a period, for a QBR's data pack (seed 003: bugs and P0/P1 incidents)."""

    opened: int
    closed: int
    opened_by_priority: dict[str, int]
    incidents: list[dict]  # P0/P1 opened in the period: number, subject, priority, status, times, summary
    escalations: list[dict]  # bugs escalated to the tracker: opened in the period or still open
    weekly: list[tuple[str, int, int]]  # (week starting, opened, closed)


def account_ticket_activity(*, account_id: int, start: datetime, end: datetime) -> AccountTicketActivity:
    """Four queries whatever the number of tickets: opened, closed, incidents with their first message, escalations."""
    from django.db.models import OuterRef, Subquery

    from tickets.models import Escalation, Priority

    tickets = Ticket.objects.filter(account_id=account_id)
    opened_rows = list(tickets.filter(created_at__gte=start, created_at__lt=end).values_list("created_at", "priority"))
    closed_rows = list(tickets.filter(closed_at__gte=start, closed_at__lt=end).values_list("closed_at", flat=True))
    by_priority = dict.fromkeys(Priority.values, 0)
    for _, priority in opened_rows:
        by_priority[priority] = by_priority.get(priority, 0) + 1
    first_message = Message.objects.filter(ticket=OuterRef("pk"), kind=Message.Kind.CUSTOMER).order_by("created_at")
    incidents = [
        {
            "number": row["number"],
            "subject": row["subject"],
            "priority": row["priority"],
            "status": row["status"],
            "opened_at": row["created_at"],
            "closed_at": row["closed_at"],
            "summary": (row["summary"] or "").strip()[:400],
        }
        for row in tickets.filter(created_at__gte=start, created_at__lt=end, priority__in=(Priority.P0, Priority.P1))
        .annotate(summary=Subquery(first_message.values("body_text")[:1]))
        .order_by("created_at", "id")
        .values("number", "subject", "priority", "status", "created_at", "closed_at", "summary")
    ]
    escalations = [
        {
            "issue": f"{row['repository']}#{row['issue_number']}",
            "url": row["issue_url"],
            "state": row["state"],
            "ticket_number": row["ticket__number"],
            "ticket_subject": row["ticket__subject"],
            "opened_at": row["created_at"],
            "closed_at": row["closed_at"],
        }
        for row in Escalation.objects.filter(ticket__account_id=account_id, created_at__lt=end)
        .filter(Q(created_at__gte=start) | Q(state=Escalation.State.OPEN) | Q(closed_at__gte=start))
        .order_by("created_at", "id")
        .values(
            "repository",
            "issue_number",
            "issue_url",
            "state",
            "ticket__number",
            "ticket__subject",
            "created_at",
            "closed_at",
        )
    ]
    # Weeks are grouped here, in the organization's zone: SQLite and PostgreSQL truncate weeks differently.
    weeks: dict[str, list[int]] = {}
    week = (start - timedelta(days=start.weekday())).date()
    while week < end.date():
        weeks[week.isoformat()] = [0, 0]
        week += timedelta(days=7)

    def week_of(moment: datetime) -> str:
        day = timezone.localtime(moment).date()
        return (day - timedelta(days=day.weekday())).isoformat()

    for created_at, _ in opened_rows:
        weeks.setdefault(week_of(created_at), [0, 0])[0] += 1
    for closed_at in closed_rows:
        weeks.setdefault(week_of(closed_at), [0, 0])[1] += 1
    return AccountTicketActivity(
        opened=len(opened_rows),
        closed=len(closed_rows),
        opened_by_priority=by_priority,
        incidents=incidents,
        escalations=escalations,
        weekly=[(key, *weeks[key]) for key in sorted(weeks)],
    )


def ticket_health_inputs(*, since: datetime, account_ids: list[int] | None = None) -> dict[str, Any]:
    """Open tickets and SLA breaches since `since` per account (one grouped query), and whether the organization
    uses the inbox and SLA policies at all (health leaves a measure out when its source is not in use)."""
    from django.db.models import Count

    from tickets.models import SlaPolicy

    tickets = Ticket.objects.filter(account__isnull=False)
    if account_ids is not None:
        tickets = tickets.filter(account_id__in=account_ids)
    grouped = (
        tickets.values("account_id")
        .annotate(
            open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
            breaches=Count("id", filter=Q(sla_breached_at__gte=since)),
        )
        .order_by()
    )
    return {
        "uses_tickets": Ticket.objects.exists(),
        "uses_sla": SlaPolicy.objects.exists(),
        "by_account": {row["account_id"]: row for row in grouped},
    }
