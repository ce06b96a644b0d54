"""The raw value of every measure for every account of the organization in scope, read set-based: each source is
one or two grouped queries over all the accounts (or the few asked for), never a query per account.

Each source is read through its own app's selector. A value of None means "no data": the measure is left out of
that account's score and its weight is shared among the others.
"""

from datetime import date, datetime, timedelta
from typing import Any

from health.models import CsmSentiment

SENTIMENT_DAYS = 90
FAILED_PAYMENT_DAYS = 90
SLA_DAYS = 90
MRR_DAYS = 90


def _percent_change(before, after) -> float | None:
    if before is None or after is None:
        return None
    if not before:
        return 100.0 if after else 0.0
    return float((after - before) * 100 / before)


def sentiment_latest(*, since: datetime, account_ids: list[int] | None = None) -> dict[int, int]:
    rows = CsmSentiment.objects.filter(recorded_at__gte=since)
    if account_ids is not None:
        rows = rows.filter(account_id__in=account_ids)
    latest: dict[int, int] = {}
    for account_id, sentiment in rows.order_by("recorded_at", "id").values_list("account_id", "sentiment"):
        latest[account_id] = sentiment
    return latest


def measure_inputs(
    *, account_ids: list[int], now: datetime, today: date, restrict: bool
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """({account id: {measure type: raw value or None}}, the usage figures signals read). `restrict` filters
    every query to `account_ids` (an event's recompute); otherwise they read the whole organization."""
    from accounts.selectors import last_note_by_account
    from lifecycle.selectors import onboarding_progress_by_account
    from qbr.selectors import last_meeting_by_account
    from revenue.selectors import billing_health_inputs
    from tickets.selectors import ticket_health_inputs
    from usage.selectors import usage_health_inputs

    only = account_ids if restrict else None
    usage = usage_health_inputs(today=today, account_ids=only)
    tickets = ticket_health_inputs(since=now - timedelta(days=SLA_DAYS), account_ids=only)
    notes = last_note_by_account(account_ids=only)
    meetings = last_meeting_by_account(now=now, account_ids=only)
    billing = billing_health_inputs(now=now, since=now - timedelta(days=MRR_DAYS), account_ids=only)
    onboarding = onboarding_progress_by_account(account_ids=only)
    sentiment = sentiment_latest(since=now - timedelta(days=SENTIMENT_DAYS), account_ids=only)

    result: dict[int, dict[str, Any]] = {}
    ticket_rows = tickets["by_account"]
    for account_id in account_ids:
        row = usage.get(account_id)
        ticket = ticket_rows.get(account_id) or {"open": 0, "breaches": 0}
        engaged = [moment for moment in (notes.get(account_id), meetings.get(account_id)) if moment is not None]
        values: dict[str, Any] = {
            "usage_trend": _percent_change(row.get("activity_prior"), row.get("activity_recent")) if row else None,
            "active_users": (row.get("users_week") if row.get("users_week") is not None else None) if row else None,
            "feature_adoption": row.get("features", 0) if row else None,
            "support_load": ticket["open"] if tickets["uses_tickets"] else None,
            "sla_breaches": ticket["breaches"] if tickets["uses_sla"] else None,
            "engagement_recency": max(0, (now - max(engaged)).days) if engaged else None,
            "failed_payments": billing["failed_payments"].get(account_id),
            "mrr_trend": billing["mrr_trend"].get(account_id),
            "onboarding": onboarding.get(account_id),
            "csm_sentiment": sentiment.get(account_id),
        }
        if row and row.get("activity_recent") is None:
            values["usage_trend"] = values["active_users"] = None  # nothing reported in the last two weeks
        result[account_id] = values
    return result, usage
