"""The QBR data pack (seed 003, "Conduct a quarterly business review"): one function per part.

Each part answers its data together with where it came from and as of when, or says honestly that there is no
data yet. Health scores and product usage have no source in this product yet: when an app provides one, it
registers a function with `register_source("health", fn)` (or "usage"); fn(account=, start=, end=) returns a
PackPart, and the pack shows it instead of "No data yet".
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import Account


@dataclass
class PackPart:
    key: str
    title: str
    source: str
    as_of: datetime | None
    available: bool
    empty_message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def customer_message(self) -> str:
        """The empty message without the advice to the team after its first sentence (the customer's page, PDF)."""
        first = self.empty_message.split(". ")[0].rstrip(".")
        return f"{first}." if first else ""


_SOURCES: dict[str, Callable[..., PackPart]] = {}


def register_source(key: str, function: Callable[..., PackPart]) -> None:
    """For the health and usage apps to come: their part of the pack replaces the "No data yet" one."""
    _SOURCES[key] = function


def unregister_source(key: str) -> None:
    _SOURCES.pop(key, None)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    from datetime import timedelta

    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
    )


def _registered_or_missing(
    key: str, title: str, source: str, empty_message: str, *, account: Account, start: date, end: date
) -> PackPart:
    """The part an app registered for `key`, or an honest "no data yet" one."""
    if key in _SOURCES:
        return _SOURCES[key](account=account, start=start, end=end)
    return PackPart(key=key, title=title, source=source, as_of=None, available=False, empty_message=empty_message)


def usage_part(*, account: Account, start: date, end: date, now: datetime) -> PackPart:
    """Usage trend, feature adoption, and features paid for but unused."""
    return _registered_or_missing(
        "usage",
        "Usage and feature adoption",
        "Product usage",
        "No data yet: product usage is not set up. Note what you learned in the health check instead.",
        account=account,
        start=start,
        end=end,
    )


def health_part(*, account: Account, start: date, end: date, now: datetime) -> PackPart:
    """The health score, its trend over the quarter, and its main factors."""
    return _registered_or_missing(
        "health",
        "Health score",
        "Health scores",
        "No data yet: health scores are not set up.",
        account=account,
        start=start,
        end=end,
    )


def tickets_part(*, account: Account, start: date, end: date, now: datetime) -> PackPart:
    from tickets.selectors import account_ticket_activity

    start_at, end_at = _bounds(start, end)
    activity = account_ticket_activity(account_id=account.pk, start=start_at, end=end_at)
    return PackPart(
        key="tickets",
        title="Support tickets",
        source="Support inbox",
        as_of=now,
        available=True,
        empty_message="No tickets this quarter." if not (activity.opened or activity.closed) else "",
        data={
            "opened": activity.opened,
            "closed": activity.closed,
            "by_priority": activity.opened_by_priority,
            "weekly": activity.weekly,
            "incidents": activity.incidents,
            "escalations": activity.escalations,
        },
    )


def incidents_part(*, account: Account, start: date, end: date, now: datetime, tickets: PackPart) -> PackPart:
    """P0 and P1 incidents of the quarter with their summary (seed 003: "highlight any P0 or P1 incidents")."""
    incidents = tickets.data["incidents"]
    return PackPart(
        key="incidents",
        title="P0 and P1 incidents",
        source="Support inbox (tickets with priority P0 or P1; summary from the customer's first message)",
        as_of=now,
        available=True,
        empty_message="No P0 or P1 incidents this quarter." if not incidents else "",
        data={"incidents": incidents},
    )


def escalations_part(*, account: Account, start: date, end: date, now: datetime, tickets: PackPart) -> PackPart:
    escalations = tickets.data["escalations"]
    return PackPart(
        key="escalations",
        title="Escalated bugs",
        source="Bug escalations to the issue tracker (state as last synced)",
        as_of=now,
        available=True,
        empty_message="No bugs escalated or open this quarter." if not escalations else "",
        data={
            "escalations": escalations,
            "open": sum(1 for row in escalations if row["state"] == "open"),
        },
    )


def feature_requests_part(*, account: Account, start: date, end: date, now: datetime) -> PackPart:
    """Seed 003: "Summarize status updates for open feature requests and highlight delivered feature requests"."""
    from qbr.models import FeatureRequestStatus
    from qbr.selectors import account_feature_requests

    requests = account_feature_requests(account_id=account.pk)
    return PackPart(
        key="feature_requests",
        title="Feature requests",
        source="Customer requests recorded here",
        as_of=now,
        available=True,
        empty_message="No feature requests from this customer yet." if not requests else "",
        data={
            "requests": requests,
            "delivered": [r for r in requests if r.status == FeatureRequestStatus.SHIPPED],
            "open": [
                r for r in requests if r.status not in (FeatureRequestStatus.SHIPPED, FeatureRequestStatus.DECLINED)
            ],
        },
    )


NO_UPTIME_NOTES = "No uptime notes for this quarter. Ask the infrastructure team and add one on the account's QBR page."


def uptime_part(*, account: Account, start: date, end: date, now: datetime) -> PackPart:
    """Seed 003: cloud uptime and any outages or alarms, as the team entered them."""
    from qbr.models import UptimeNote

    notes = list(
        UptimeNote.objects.filter(account=account, noted_on__gte=start, noted_on__lte=end)
        .select_related("author")
        .order_by("noted_on", "id")
    )
    return PackPart(
        key="uptime",
        title="Uptime notes",
        source="Entered by the team",
        as_of=max((note.created_at for note in notes), default=None),
        available=True,
        empty_message="" if notes else NO_UPTIME_NOTES,
        data={"notes": notes},
    )


def revenue_part(*, account: Account, start: date, end: date, now: datetime) -> PackPart:
    """ARR, MRR and renewal; with a Stripe ledger, the quarter's MRR from start to end and each movement."""
    from revenue.selectors import account_movements, account_mrr_at

    data: dict[str, Any] = {
        "arr": account.arr,
        "mrr": account.mrr,
        "currency": account.currency,
        "renewal_date": account.renewal_date,
        "days_to_renewal": (account.renewal_date - now.date()).days if account.renewal_date else None,
    }
    first, last = _bounds(start, end)
    movements = account_movements(account=account, start=first, end=last)
    before = account_mrr_at(account=account, moment=first)
    if not movements and before is None:
        return PackPart(
            key="revenue",
            title="Revenue and renewal",
            source="Account record (ARR, MRR and renewal date)",
            as_of=account.updated_at,
            available=True,
            data=data,
        )
    data.update(
        mrr_start=before.mrr_after if before else Decimal("0"),
        mrr_end=movements[-1].mrr_after if movements else before.mrr_after,
        movements=[
            {"on": movement.occurred_at.date(), "kind": movement.get_kind_display(), "change": movement.delta}
            for movement in movements
        ],
    )
    return PackPart(
        key="revenue",
        title="Revenue and renewal",
        source="Stripe revenue ledger and the account record",
        as_of=movements[-1].occurred_at if movements else before.occurred_at,
        available=True,
        data=data,
    )


def data_pack(*, account: Account, start: date, end: date, now: datetime | None = None) -> list[PackPart]:
    """Every part, in the order a QBR deck tells it: how they use it, how healthy, support, asks, money."""
    now = now or timezone.now()
    args = {"account": account, "start": start, "end": end, "now": now}
    tickets = tickets_part(**args)
    return [
        usage_part(**args),
        health_part(**args),
        tickets,
        incidents_part(**args, tickets=tickets),
        escalations_part(**args, tickets=tickets),
        feature_requests_part(**args),
        uptime_part(**args),
        revenue_part(**args),
    ]


def part_as_json(part: PackPart) -> dict[str, Any]:
    """A part for the API: model rows become plain dicts, dates and money become strings."""

    def plain(value):
        from decimal import Decimal

        from qbr.models import FeatureRequest, UptimeNote

        if isinstance(value, FeatureRequest):
            return {"id": value.pk, "title": value.title, "status": value.status, "tracker_url": value.tracker_url}
        if isinstance(value, UptimeNote):
            return {"id": value.pk, "noted_on": value.noted_on.isoformat(), "body": value.body}
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        return value

    return {
        "key": part.key,
        "title": part.title,
        "source": part.source,
        "as_of": part.as_of.isoformat() if part.as_of else None,
        "available": part.available,
        "empty_message": part.empty_message,
        "data": plain(part.data),
    }
