"""The SLA report: which targets were met, breached or still running, counted per policy, priority and agent,
read from the selector and from the page the way a member reads it."""

import json
import zoneinfo
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import Role
from core.tenancy import Tenant, tenant_scope
from tests.factories import MembershipFactory
from tests.lifecycle.test_reports import has, table, text
from tickets import reports, services
from tickets.models import Priority, SlaPolicy, Status, Ticket, TicketStatusChange
from tickets.reports import BREACHED, MET, RUNNING, pauses_by_ticket, sla_report
from tickets.sla_clock import pauses_of, ticket_targets

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def berlin(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


# Tuesday 1 December 2026, noon in Berlin: "now" for every number below.
NOW = berlin(1, 12, month=12)
PERIOD = {"start": "2026-11-23", "end": "2026-12-01"}


def report_url(org) -> str:
    return f"/o/{org.slug}/reports/sla/"


@pytest.fixture
def staff(org):
    def make(first_name: str, last_name: str, role: str = Role.SUPPORT) -> Tenant:
        user = MembershipFactory(
            organization=org, role=role, user__first_name=first_name, user__last_name=last_name
        ).user
        return Tenant(organization=org, role=role, user=user)

    return make


@pytest.fixture
def ana(staff):
    return staff("Ana", "Lopez")


@pytest.fixture
def ben(staff):
    return staff("Ben", "Okafor")


@pytest.fixture
def admin(staff):
    return staff("Ada", "Admin", Role.ADMIN)


@pytest.fixture
def policies(org):
    with tenant_scope(org):
        critical = SlaPolicy.objects.create(
            organization=org, name="Critical 24/7", position=0, priority=Priority.P0,
            first_response_minutes=15, resolution_minutes=240, business_hours=False,
        )  # fmt: skip
        # Seed 003: "We respond within 1-hour during business hours"; resolution within five business days.
        standard = SlaPolicy.objects.create(
            organization=org, name="Standard", position=1, first_response_minutes=60, resolution_minutes=2400
        )
    return {"critical": critical, "standard": standard}


def _open(tenant: Tenant, at: datetime, subject: str, priority: str = Priority.P2) -> Ticket:
    with time_machine.travel(at, tick=False):
        return services.ticket_create(
            tenant=tenant, subject=subject, body="Help.", requester_email="robin@quarry.example", priority=priority
        )


def _reply(tenant: Tenant, ticket: Ticket, at: datetime, status: str = Status.PENDING_CUSTOMER) -> None:
    with time_machine.travel(at, tick=False):
        services.ticket_reply(tenant=tenant, ticket=ticket, body="On it.", status=status)


@pytest.fixture
def scenario(org, admin, ana, ben, policies):
    """Six tickets in the week of 23 November 2026 (Berlin, business hours Monday to Friday 9-17), one before it
    and one without a policy; the comment on each says what its first response and resolution targets show."""
    with tenant_scope(org):
        # First response met (30 min), closed the same afternoon: resolution met. Ana.
        quick = _open(admin, berlin(25, 10), "Quick", Priority.P1)
        _reply(ana, quick, berlin(25, 10, 30))
        with time_machine.travel(berlin(25, 14), tick=False):
            services.ticket_status_set(tenant=ana, ticket=quick, status=Status.CLOSED)
        # Friday 16:30 to Monday 09:20 is 30 + 20 = 50 business minutes: met, the weekend does not count. Ben.
        weekend = _open(admin, berlin(27, 16, 30), "Weekend")
        _reply(ben, weekend, berlin(30, 9, 20))
        # 24/7 policy: answered in 10 minutes on a Saturday (met); still open long after its 4 hours (breached). Ben.
        critical = _open(admin, berlin(28, 10), "Critical", Priority.P0)
        _reply(ben, critical, berlin(28, 10, 10), status=Status.OPEN)
        # Answered after 2 business hours: breached, though answered. Ana.
        late = _open(admin, berlin(30, 10), "Late")
        _reply(ana, late, berlin(30, 12))
        # Never answered, 11 business hours old: breached. Unassigned.
        ignored = _open(admin, berlin(30, 9), "Ignored")
        # Half an hour old: first response still running. Unassigned.
        fresh = _open(admin, berlin(1, 11, 30, month=12), "Fresh", Priority.P1)
        # Outside the period, and (below) inside it but without a policy: neither is counted.
        before = _open(admin, berlin(20, 10), "Before the period", Priority.P1)
        _reply(ana, before, berlin(20, 13))
        unmanaged = _open(admin, berlin(24, 10), "No policy")
        Ticket.objects.filter(pk=unmanaged.pk).update(sla_policy=None)
    return {
        "quick": quick, "weekend": weekend, "critical": critical, "late": late, "ignored": ignored, "fresh": fresh,
        "before": before, "unmanaged": unmanaged,
    }  # fmt: skip


PERIOD_START, PERIOD_END = berlin(23, 0), berlin(2, 0, month=12)


def _report(org, start=PERIOD_START, end=PERIOD_END):
    # As in a request: the organization's scope and time zone (the middleware activates both), and a fixed now.
    with tenant_scope(org), timezone.override(BERLIN), time_machine.travel(NOW, tick=False):
        return sla_report(start=start, end=end)


def _pcts(rows) -> dict[str, tuple]:
    return {row.label: (row.tickets, row.first_response_met_percent, row.resolution_met_percent) for row in rows}


# --- The selector ----------------------------------------------------------------------------------------------


def test_each_ticket_is_met_breached_or_running_by_business_time(org, scenario):
    report = _report(org)
    outcomes = {outcome.ticket.subject: outcome for outcome in report.outcomes}
    assert set(outcomes) == {"Quick", "Weekend", "Critical", "Late", "Ignored", "Fresh"}
    assert {subject: (o.first_response, o.resolution) for subject, o in outcomes.items()} == {
        "Quick": (MET, MET),
        "Weekend": (MET, RUNNING),  # waiting on the customer since the answer: the resolution clock is paused
        "Critical": (MET, BREACHED),
        "Late": (BREACHED, RUNNING),
        "Ignored": (BREACHED, RUNNING),
        "Fresh": (RUNNING, RUNNING),
    }
    minutes = {subject: o.first_response_seconds and o.first_response_seconds // 60 for subject, o in outcomes.items()}
    assert minutes == {"Quick": 30, "Weekend": 50, "Critical": 10, "Late": 120, "Ignored": None, "Fresh": None}


def test_the_report_agrees_with_the_clock_of_each_ticket_page(org, scenario):
    """Batched reads, same answers: each outcome is what tickets.sla_clock.ticket_targets says for the ticket."""
    report = _report(org)
    with tenant_scope(org), time_machine.travel(NOW, tick=False):
        changes = TicketStatusChange.objects.order_by("ticket_id", "changed_at", "id")
        batched = pauses_by_ticket(changes)
        for outcome in report.outcomes:
            ticket = Ticket.objects.select_related("sla_policy", "organization").get(pk=outcome.ticket.pk)
            assert batched.get(ticket.pk, []) == pauses_of(ticket=ticket)
            targets = {target.name: target for target in ticket_targets(ticket=ticket, now=NOW)}
            for name, reported in (("First response", outcome.first_response), ("Resolution", outcome.resolution)):
                target = targets[name]
                expected = BREACHED if target.status.breached else MET if target.met else RUNNING
                assert reported == expected, (ticket.subject, name)


def test_percentages_per_policy_priority_and_agent_and_the_first_response_times(org, scenario):
    report = _report(org)
    total = report.total
    assert report.tickets == 6
    assert (total.first_response, total.resolution) == (
        {MET: 3, BREACHED: 2, RUNNING: 1},
        {MET: 1, BREACHED: 1, RUNNING: 4},
    )
    assert (total.first_response_met_percent, total.resolution_met_percent) == (60.0, 50.0)
    # 10, 30, 50 and 120 minutes: the median is between the middle two; 90% came within the slowest.
    assert (total.median_first_response, total.p90_first_response) == ("40 min", "2 h")
    assert _pcts(report.by_policy) == {"Critical 24/7": (1, 100.0, 0.0), "Standard": (5, 50.0, 100.0)}
    assert [row.label for row in report.by_policy] == ["Critical 24/7", "Standard"]  # by position
    assert report.by_policy[1].median_first_response == "50 min"
    assert _pcts(report.by_priority) == {
        "P0 · Critical": (1, 100.0, 0.0),
        "P1 · High": (2, 100.0, 100.0),
        "P2 · Normal": (3, 33.3, None),  # no resolution decided yet: no percentage rather than 0%
    }
    assert [row.label for row in report.by_priority] == ["P0 · Critical", "P1 · High", "P2 · Normal"]
    assert _pcts(report.by_agent) == {
        "Ana Lopez": (2, 50.0, 100.0),
        "Ben Okafor": (2, 100.0, 0.0),
        "Unassigned": (2, 0.0, None),
    }
    assert [row.label for row in report.by_agent] == ["Ana Lopez", "Ben Okafor", "Unassigned"]
    assert report.warnings == []


def test_the_period_is_capped_at_400_days_and_the_tickets_at_the_maximum(org, scenario, monkeypatch):
    long_ago = _report(org, start=berlin(1, 0, month=1) - timedelta(days=3 * 365))
    assert long_ago.start == PERIOD_END - timedelta(days=400)
    assert "at most 400 days" in long_ago.warnings[0]
    assert long_ago.tickets == 7  # the ticket of 20 November is in the last 400 days

    monkeypatch.setattr(reports, "MAX_TICKETS", 2)
    capped = _report(org)
    assert [outcome.ticket.subject for outcome in capped.outcomes] == ["Quick", "Weekend"]  # the earliest two
    assert "More than 2 tickets in this period" in capped.warnings[0]
    assert "created up to 27 Nov 2026 16:30" in capped.warnings[0]


# --- The page --------------------------------------------------------------------------------------------------


def _get(client, org, params=None):
    with time_machine.travel(NOW, tick=False):
        return client.get(report_url(org), params or {})


def test_the_page_shows_the_cards_the_charts_and_the_tables(org, scenario, client_for):
    response = _get(client_for(Role.VIEWER), org, PERIOD)
    assert (text(response, "kpi-tickets"), text(response, "kpi-first-response")) == ("6", "60.0%")
    assert (text(response, "kpi-resolution"), text(response, "kpi-median")) == ("50.0%", "40 min")
    assert text(response, "kpi-p90") == "90% within 2 h"
    assert table(response, "priority-table") == [
        ["Priority", "Tickets", "First response met", "Resolution met"],
        ["P0 · Critical", "1", "100.0%", "0.0%"],
        ["P1 · High", "2", "100.0%", "100.0%"],
        ["P2 · Normal", "3", "33.3%", "—"],
    ]
    assert table(response, "agent-table")[1:] == [
        ["Ana Lopez", "2", "50.0%", "100.0%"],
        ["Ben Okafor", "2", "100.0%", "0.0%"],
        ["Unassigned", "2", "0.0%", "—"],
    ]
    assert table(response, "policy-table") == [
        ["Policy", "Tickets", "First response met", "Resolution met", "Median first response", "90% within"],
        ["Critical 24/7", "1", "100.0% 1 · 0 · 0", "0.0% 0 · 1 · 0", "10 min", "10 min"],
        ["Standard", "5", "50.0% 2 · 2 · 1", "100.0% 1 · 0 · 4", "50 min", "2 h"],
    ]
    html = response.content.decode()
    assert html.count('data-chart="sla-met"') == 2
    priority_chart = json.loads(html.split('<script id="sla-priority-data" type="application/json">')[1].split("<")[0])
    assert priority_chart == {
        "labels": ["P0 · Critical", "P1 · High", "P2 · Normal"],
        "series": [
            {"label": "First response", "values": [100.0, 100.0, 33.3]},
            {"label": "Resolution", "values": [0.0, 100.0, None]},
        ],
    }
    assert not has(response, "period-errors")


def test_the_page_shows_an_empty_state_and_explains_bad_dates(org, scenario, client_for):
    client = client_for(Role.CSM)
    empty = _get(client, org, {"start": "2026-10-01", "end": "2026-10-31"})
    assert "No tickets under an SLA policy in this period" in text(empty, "empty")
    assert not has(empty, "policy-table")

    bad = _get(client, org, {"start": "last monday"})
    assert "“last monday” is not a date: write it as YYYY-MM-DD" in text(bad, "period-errors")
    assert "last 30 days" in text(bad, "period-errors")
    assert text(bad, "kpi-tickets") == "7"  # the last 30 days up to 1 December hold the ticket of 20 November too


def test_a_long_period_is_cut_to_400_days_with_a_message(org, scenario, client_for):
    response = _get(client_for(Role.CSM), org, {"start": "2020-01-01", "end": "2026-12-01"})
    assert "at most 400 days" in text(response, "period-errors")
    assert f'value="{date(2026, 12, 2) - timedelta(days=400):%Y-%m-%d}"' in response.content.decode()
    assert "400 days" in response.content.decode()


def test_names_in_the_chart_data_cannot_close_the_script_tag(org, policies, staff, admin, client_for):
    mallory = staff("</script><script>alert(1)</script>", "X")
    with tenant_scope(org):
        ticket = _open(admin, berlin(30, 10), "Hello")
        _reply(mallory, ticket, berlin(30, 10, 5))
    html = _get(client_for(Role.VIEWER), org, PERIOD).content.decode()
    assert "<script>alert(1)" not in html
    assert "\\u003C/script\\u003E\\u003Cscript\\u003Ealert(1)" in html  # there, escaped, in the chart data


# --- Access and cost -------------------------------------------------------------------------------------------


def test_viewers_see_the_report_outsiders_get_404(org, other_org, client_for):
    assert client_for(Role.VIEWER).get(report_url(org)).status_code == 200
    assert client_for(Role.ADMIN, organization=other_org).get(report_url(org)).status_code == 404


def _queries(client, url: str) -> int:
    client.get(url)  # the first visit writes the active organization to the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_queries_do_not_grow_with_tickets(org, policies, staff, admin, client_for):
    client = client_for(Role.CSM)
    agents = [staff(f"Agent{index}", "Support") for index in range(4)]

    def add_tickets(count: int, prefix: str) -> None:
        with tenant_scope(org):
            for index in range(count):
                ticket = services.ticket_create(
                    tenant=admin, subject=f"{prefix} {index}", body="Help.", requester_email="robin@quarry.example",
                    priority=Priority.values[index % len(Priority.values)],
                )  # fmt: skip
                if index % 3:
                    services.ticket_reply(tenant=agents[index % len(agents)], ticket=ticket, body="On it.")
                if index % 4 == 0:
                    services.ticket_status_set(tenant=admin, ticket=ticket, status=Status.CLOSED)

    add_tickets(3, "few")
    few = _queries(client, report_url(org))
    add_tickets(17, "many")
    assert _queries(client, report_url(org)) == few
    assert text(client.get(report_url(org)), "kpi-tickets") == "20"  # the tickets were counted, not left out
