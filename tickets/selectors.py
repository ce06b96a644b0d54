"""Reads of the support inbox: the views of the inbox, one ticket's conversation. Constant queries per page."""

from dataclasses import dataclass
from datetime import datetime, timedelta

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
