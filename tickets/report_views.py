"""The SLA report page of the support inbox: the view translates the query string, calls tickets.reports.sla_report
and renders; the selector does the counting."""

from dataclasses import replace

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core.decorators import tenant_permission_required
from core.permissions import Permission

# Private in lifecycle, but the one place that reads a report period from the query string; shared rather than
# copied so every report treats dates, zones and bad input the same way.
from lifecycle.report_views import report_period
from tickets.reports import SlaTally, sla_report

DEFAULT_DAYS = 30


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value}%"


def _chart(rows: list[SlaTally]) -> dict:
    # None (nothing decided yet) travels as null: the chart leaves a gap rather than drawing a misleading 0%.
    return {
        "labels": [row.label for row in rows],
        "series": [
            {"label": "First response", "values": [row.first_response_met_percent for row in rows]},
            {"label": "Resolution", "values": [row.resolution_met_percent for row in rows]},
        ],
    }


def _row(tally: SlaTally) -> dict:
    return {
        "label": tally.label,
        "tickets": tally.tickets,
        "first_response": _percent(tally.first_response_met_percent),
        "first_response_counts": tally.first_response,
        "resolution": _percent(tally.resolution_met_percent) if tally.has_resolution_target else "no target",
        "resolution_counts": tally.resolution,
        "has_resolution_target": tally.has_resolution_target,
        "median_first_response": tally.median_first_response,
        "p90_first_response": tally.p90_first_response,
    }


@tenant_permission_required(Permission.VIEW)
def sla_report_view(request, org_slug: str) -> HttpResponse:
    period = report_period(request, default_days=DEFAULT_DAYS)
    report = sla_report(start=period.start_at, end=period.end_before)
    if report.start > period.start_at:
        # Capped by the selector: the form and the subtitle show the days actually counted.
        period = replace(period, start=timezone.localdate(report.start))
    errors = [message for message in (period.error, *report.warnings) if message]
    total = report.total
    return render(
        request,
        "tickets/report_sla.html",
        {
            "period": period,
            "errors": errors,
            "report": report,
            "total": _row(total),
            "breached": total.breached,
            "running": total.running,
            "policies": [_row(tally) for tally in report.by_policy],
            "priorities": [_row(tally) for tally in report.by_priority],
            "agents": [_row(tally) for tally in report.by_agent],
            "priority_chart": _chart(report.by_priority),
            "agent_chart": _chart(report.by_agent),
            "active_report": "sla",  # for lifecycle/_report_tabs.html once it has an SLA tab
        },
    )
