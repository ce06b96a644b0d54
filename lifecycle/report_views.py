"""Report pages of the lifecycle app: the weighted forecast, the lifecycle funnel and the cohort moves.

Each view translates the query string, calls one selector and renders; the selectors do the counting."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import LifecycleStage
from accounts.selectors import organization_member_users
from core.decorators import tenant_permission_required
from core.permissions import Permission
from lifecycle import selectors
from lifecycle.filters import DealFilterSet, deal_filter_choices
from lifecycle.rules import NEXT_STAGES
from lifecycle.services import pipeline_settings_get

REPORTABLE_YEARS = (1900, 2999)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive: the last day shown
    error: str = ""

    @property
    def start_at(self) -> datetime:
        return _day_start(self.start)

    @property
    def end_before(self) -> datetime:
        return _day_start(self.end + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _day_start(day: date) -> datetime:
    # The middleware has switched to the organization's zone, so a "day" is the organization's day.
    return timezone.make_aware(datetime.combine(day, time.min))


def report_period(request, *, default_days: int) -> Period:
    """The start and end GET dates (YYYY-MM-DD, both included); the last `default_days` days up to today when
    they are missing, and also when they are wrong, with a sentence saying so."""
    today = timezone.localdate()
    default = Period(start=today - timedelta(days=default_days - 1), end=today)
    values = {}
    for name, fallback in (("start", default.start), ("end", default.end)):
        raw = (request.GET.get(name) or "").strip()
        if not raw:
            values[name] = fallback
            continue
        try:
            values[name] = date.fromisoformat(raw)
            # Far-off years parse but overflow once turned into datetimes for the query.
            if not REPORTABLE_YEARS[0] <= values[name].year <= REPORTABLE_YEARS[1]:
                raise ValueError(raw)
        except ValueError:
            return Period(
                default.start,
                default.end,
                f"“{raw[:40]}” is not a date: write it as YYYY-MM-DD. Showing the last {default_days} days instead.",
            )
    if values["start"] > values["end"]:
        return Period(
            default.start,
            default.end,
            f"The start date ({values['start']:%d %b %Y}) is after the end date ({values['end']:%d %b %Y}). "
            f"Showing the last {default_days} days instead.",
        )
    return Period(values["start"], values["end"])


def _month_label(key: str) -> str:
    return date.fromisoformat(f"{key}-01").strftime("%b %Y")


# --- Forecast --------------------------------------------------------------------------------------------------


@tenant_permission_required(Permission.VIEW)
def pipeline_forecast(request, org_slug: str) -> HttpResponse:
    organization = request.tenant.organization
    currency = organization.default_currency
    weighted_deals = selectors.deals_weighted(pipeline_settings=pipeline_settings_get(organization=organization))
    filterset = DealFilterSet(request.GET, queryset=weighted_deals)
    # An invalid filter shows its error and nothing else: a forecast of deals the user did not ask for misleads.
    deals = filterset.qs if filterset.is_valid() else weighted_deals.none()
    forecast = selectors.pipeline_forecast(deals=deals, currency=currency)
    month_labels = [_month_label(key) for key in forecast.months]
    owner_amounts = {owner: [Decimal(str(value)) for value in forecast.weighted[owner]] for owner in forecast.owners}
    rows = [
        {
            "month": label,
            "cells": [owner_amounts[owner][index] for owner in forecast.owners],
            "total": forecast.total_by_month[index],
        }
        for index, label in enumerate(month_labels)
    ]
    chart = {"labels": month_labels, "series": forecast.weighted}
    return render(
        request,
        "lifecycle/report_forecast.html",
        {
            "filter": filterset,
            "forecast": forecast,
            "rows": rows,
            "owner_totals": [sum(owner_amounts[owner], Decimal("0")) for owner in forecast.owners],
            "weighted_total": sum(forecast.total_by_month, Decimal("0")),
            "left_out": forecast.other_currency_deals + forecast.undated_deals,
            "chart": chart,
            "currency": currency,
            **deal_filter_choices(organization=organization),
            "is_filtered": any(request.GET.get(name) for name in ("owner", "type", "close_quarter")),
            "active_report": "forecast",
        },
    )


# --- Funnel ----------------------------------------------------------------------------------------------------


@tenant_permission_required(Permission.VIEW)
def funnel_report(request, org_slug: str) -> HttpResponse:
    organization = request.tenant.organization
    period = report_period(request, default_days=90)
    owners = list(organization_member_users(organization=organization))
    errors = [period.error] if period.error else []
    owner_id = None
    raw_owner = (request.GET.get("owner") or "").strip()
    if raw_owner:
        if raw_owner.isdigit() and int(raw_owner) in {owner.pk for owner in owners}:
            owner_id = int(raw_owner)
        else:
            errors.append("That owner is not a member of this organization: showing every owner.")
    funnel = selectors.lifecycle_funnel(start=period.start_at, end=period.end_before, owner_id=owner_id)
    evangelist_enabled = pipeline_settings_get(organization=organization).evangelist_enabled
    stages = [
        {
            "label": LifecycleStage(stage).label,
            "next": " or ".join(LifecycleStage(next_stage).label for next_stage in NEXT_STAGES[stage]),
            # Customer -> Evangelist only means something where the organization uses the Evangelist stage.
            "has_next": stage != LifecycleStage.CUSTOMER or evangelist_enabled,
        }
        for stage in selectors.FUNNEL_STAGES
    ]
    rows = [
        {
            "owner": row.owner,
            "is_total": len(funnel) > 1 and index == 0,
            "cells": [
                {"entered": step.entered, "conversion": step.conversion, "has_next": stage["has_next"]}
                for step, stage in zip(row.steps, stages, strict=True)
            ],
        }
        for index, row in enumerate(funnel)
    ]
    # The chart draws the first row: "Everyone" when there are several owners, else the only one.
    chart_steps = funnel[0].steps if funnel else []
    chart = {"labels": [step.label for step in chart_steps], "entered": [step.entered for step in chart_steps]}
    return render(
        request,
        "lifecycle/report_funnel.html",
        {
            "period": period,
            "errors": errors,
            "rows": rows,
            "stages": stages,
            "chart": chart,
            "owners": owners,
            "owner_id": owner_id,
            "active_report": "funnel",
        },
    )


# --- Cohorts ---------------------------------------------------------------------------------------------------


@tenant_permission_required(Permission.VIEW)
def cohort_report(request, org_slug: str) -> HttpResponse:
    period = report_period(request, default_days=365)
    report = selectors.cohort_moves_report(start=period.start_at, end=period.end_before)
    steps = report["steps"]
    chart = {
        "labels": [step.label for step in steps],
        "moves": [step.moves for step in steps],
        "days": [step.average_days for step in steps],
    }
    return render(
        request,
        "lifecycle/report_cohorts.html",
        {
            "period": period,
            "errors": [period.error] if period.error else [],
            "steps": steps,
            "upgrades": report["upgrades"],
            "downgrades": report["downgrades"],
            "skipped": report["skipped"],
            "has_moves": bool(report["upgrades"] or report["downgrades"]),
            "chart": chart,
            "active_report": "cohorts",
        },
    )
