"""Reads of product usage: the account page's card, the API's daily rows and the QBR data pack's part."""

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from usage.models import METRIC_FIELDS, DailyUsage, FeatureAdoption

TREND_DAYS = 90
METRIC_LABELS = {"users": "Users", "instances": "Instances", "devices": "Devices", "applications": "Applications"}


def daily_usage_list(
    *, account_id: int | None = None, since: date | None = None, until: date | None = None
) -> QuerySet:
    rows = DailyUsage.objects.all()
    if account_id is not None:
        rows = rows.filter(account_id=account_id)
    if since is not None:
        rows = rows.filter(day__gte=since)
    if until is not None:
        rows = rows.filter(day__lte=until)
    return rows


def _series(rows: list[DailyUsage], start: date, end: date) -> dict[str, Any]:
    """Every day of the window as a label; a day not reported is a gap (null), not a zero."""
    by_day = {row.day: row for row in rows}
    labels, values = [], {key: [] for key in METRIC_FIELDS}
    day = start
    while day <= end:
        labels.append(day.isoformat())
        row = by_day.get(day)
        for key in METRIC_FIELDS:
            values[key].append(getattr(row, key) if row else None)
        day += timedelta(days=1)
    return {"labels": labels, "series": values}


def _trend(rows: list[DailyUsage]) -> list[dict[str, Any]]:
    """Each metric at the first and last day reported in the window, and the change between them."""
    if not rows:
        return []
    first, last = rows[0], rows[-1]
    trend = []
    for key in METRIC_FIELDS:
        start_value, end_value = getattr(first, key), getattr(last, key)
        trend.append(
            {
                "metric": key, "label": METRIC_LABELS[key], "start": start_value, "end": end_value,
                "change": end_value - start_value,
                "change_percent": round((end_value - start_value) * 100 / start_value) if start_value else None,
            }
        )  # fmt: skip
    return trend


def account_usage_summary(*, account_id: int, today: date | None = None, days: int = TREND_DAYS) -> dict[str, Any]:
    """The account page's "Product usage" card: two queries whatever the account holds."""
    today = today or timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = list(daily_usage_list(account_id=account_id, since=start, until=today).order_by("day"))
    adoptions = list(FeatureAdoption.objects.filter(account_id=account_id).order_by("first_used_at", "feature"))
    return {
        "start": start,
        "end": today,
        "days": days,
        "has_metrics": bool(rows),
        "first_day": rows[0].day if rows else None,
        "chart": _series(rows, start, today) if rows else None,
        "latest": rows[-1] if rows else None,
        "reported_at": max((row.reported_at for row in rows), default=None),
        "trend": _trend(rows),
        "metric_labels": METRIC_LABELS,
        "adoptions": adoptions,
    }


def usage_pack_part(*, account, start: date, end: date):
    """The QBR data pack's "Usage and feature adoption" part (seed 003): the quarter's trend and the features
    adopted, with when each was first used; registered with qbr.datapack in usage/apps.py."""
    from qbr.datapack import PackPart

    rows = list(daily_usage_list(account_id=account.pk, since=start, until=end).order_by("day"))
    period_end = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    adoptions = list(
        FeatureAdoption.objects.filter(account_id=account.pk, first_used_at__lt=period_end).order_by(
            "first_used_at", "feature"
        )
    )
    period_start = timezone.make_aware(datetime.combine(start, time.min))
    features = [
        {
            "feature": adoption.feature,
            "label": adoption.label,
            "first_used_at": adoption.first_used_at,
            "last_used_at": adoption.last_used_at,
            "events": adoption.event_count,
            "new_this_quarter": adoption.first_used_at >= period_start,
        }
        for adoption in adoptions
    ]
    as_of = max([row.reported_at for row in rows] + [adoption.updated_at for adoption in adoptions], default=None)
    source = "Product usage reported by the product's database (POST /api/v1/usage/)"
    if not rows and not features:
        # "Not set up" while the organization's product has reported nothing at all; else it is this account.
        reported = DailyUsage.objects.exists() or FeatureAdoption.objects.exists()
        return PackPart(
            key="usage", title="Usage and feature adoption", source=source, as_of=None, available=False,
            empty_message=(
                "No data yet: no product usage was reported for this account this quarter."
                if reported
                else "No data yet: product usage is not set up. The product reports it with POST /api/v1/usage/."
            )
            + " Note what you learned in the health check instead.",
        )  # fmt: skip
    return PackPart(
        key="usage",
        title="Usage and feature adoption",
        source=source,
        as_of=as_of,
        available=True,
        data={
            "first_day": rows[0].day if rows else None,
            "last_day": rows[-1].day if rows else None,
            "trend": _trend(rows),
            "features": features,
        },
    )


def usage_health_inputs(*, today: date, account_ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """What health scores read from usage, for every account at once (one grouped query over 35 days, one over
    the adoptions): activity (users + instances + applications) over the last 14 days and the 14 before, users and
    instances this week and four weeks earlier, and the features used in the last 90 days."""
    from django.db.models import Avg, Count, F, Q

    day = timedelta(days=1)
    rows = DailyUsage.objects.filter(day__gt=today - 35 * day, day__lte=today)
    adoptions = FeatureAdoption.objects.all()
    if account_ids is not None:
        rows, adoptions = rows.filter(account_id__in=account_ids), adoptions.filter(account_id__in=account_ids)
    activity = F("users") + F("instances") + F("applications")
    week, month_ago = Q(day__gt=today - 7 * day), Q(day__lte=today - 28 * day)
    grouped = (
        rows.values("account_id")
        .annotate(
            activity_recent=Avg(activity, filter=Q(day__gt=today - 14 * day)),
            activity_prior=Avg(activity, filter=Q(day__gt=today - 28 * day, day__lte=today - 14 * day)),
            users_week=Avg("users", filter=week),
            users_month_ago=Avg("users", filter=month_ago),
            instances_week=Avg("instances", filter=week),
            instances_month_ago=Avg("instances", filter=month_ago),
        )
        .order_by()
    )
    inputs: dict[int, dict[str, Any]] = {row.pop("account_id"): {**row, "features": 0} for row in grouped}
    since = timezone.make_aware(datetime.combine(today - 90 * day, time.min))
    for row in (
        adoptions.values("account_id").annotate(features=Count("id", filter=Q(last_used_at__gte=since))).order_by()
    ):
        inputs.setdefault(row["account_id"], {})["features"] = row["features"]
    return inputs
