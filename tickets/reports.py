"""The SLA report of the support inbox: per period, how many first responses and resolutions met their target,
per policy, per priority and per agent, and how long first responses took in business time.

A constant number of queries whatever the number of tickets: the settings, the tickets (with their policy and
owner) and all their status changes. The clock arithmetic is tickets.sla's, fed the way tickets.sla_clock feeds
it for one ticket; only the reads are batched."""

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from django.utils import timezone

from tickets import sla
from tickets.models import PAUSED_STATUSES, Priority, SupportSettings, Ticket, TicketStatusChange
from tickets.sla_clock import calendar_for, ticket_targets

# A longer period is cut to its last MAX_PERIOD: the report keeps every ticket of the period in memory.
MAX_PERIOD = timedelta(days=400)
MAX_TICKETS = 50_000

MET, BREACHED, RUNNING = "met", "breached", "running"
UNASSIGNED = "Unassigned"


class _StatusChangeRow(Protocol):
    ticket_id: int
    to_status: str
    changed_at: datetime


def pauses_by_ticket(changes: Iterable[_StatusChangeRow]) -> dict[int, list[sla.Pause]]:
    """The clock's pauses of many tickets at once, from their status changes in (changed_at, id) order per
    ticket: the same spans tickets.sla_clock.pauses_of reads for one ticket, without a query per ticket."""
    pauses: dict[int, list[sla.Pause]] = defaultdict(list)
    started: dict[int, datetime] = {}
    for change in changes:
        ticket_id = change.ticket_id
        if change.to_status in PAUSED_STATUSES and ticket_id not in started:
            started[ticket_id] = change.changed_at
        elif change.to_status not in PAUSED_STATUSES and ticket_id in started:
            pauses[ticket_id].append(sla.Pause(start=started.pop(ticket_id), end=change.changed_at))
    for ticket_id, start in started.items():
        pauses[ticket_id].append(sla.Pause(start=start, end=None))
    return dict(pauses)


@dataclass(frozen=True)
class TicketSla:
    """One ticket's outcome: met, breached (late, or overdue and still unanswered) or running (not due yet)."""

    ticket: Ticket
    first_response: str
    first_response_seconds: int | None  # business time until the first response, once there was one
    resolution: str | None  # None: the policy has no resolution target


def _outcome(status: sla.SlaStatus, *, happened: bool) -> str:
    if status.breached:
        return BREACHED
    return MET if happened else RUNNING


def _percent(met: int, breached: int) -> float | None:
    # Of the targets decided: a target still running may yet go either way, so it is left out until it does.
    decided = met + breached
    return round(100 * met / decided, 1) if decided else None


@dataclass
class SlaTally:
    """The counts of one row of the report (a policy, a priority, an agent, or everything)."""

    label: str
    tickets: int = 0
    first_response: dict[str, int] = field(default_factory=lambda: {MET: 0, BREACHED: 0, RUNNING: 0})
    resolution: dict[str, int] = field(default_factory=lambda: {MET: 0, BREACHED: 0, RUNNING: 0})
    first_response_seconds: list[int] = field(default_factory=list, repr=False)

    def add(self, outcome: TicketSla) -> None:
        self.tickets += 1
        self.first_response[outcome.first_response] += 1
        if outcome.resolution is not None:
            self.resolution[outcome.resolution] += 1
        if outcome.first_response_seconds is not None:
            self.first_response_seconds.append(outcome.first_response_seconds)

    @property
    def first_response_met_percent(self) -> float | None:
        return _percent(self.first_response[MET], self.first_response[BREACHED])

    @property
    def resolution_met_percent(self) -> float | None:
        return _percent(self.resolution[MET], self.resolution[BREACHED])

    @property
    def has_resolution_target(self) -> bool:
        return any(self.resolution.values())

    @property
    def breached(self) -> int:
        return self.first_response[BREACHED] + self.resolution[BREACHED]

    @property
    def running(self) -> int:
        return self.first_response[RUNNING] + self.resolution[RUNNING]

    @property
    def median_first_response_seconds(self) -> int | None:
        if not self.first_response_seconds:
            return None
        return int(statistics.median(self.first_response_seconds))  # whole seconds, as the clock counts

    @property
    def p90_first_response_seconds(self) -> int | None:
        """Nearest rank: the time within which 90% of the first responses came, and an actual response's time."""
        if not self.first_response_seconds:
            return None
        ordered = sorted(self.first_response_seconds)
        return ordered[math.ceil(0.9 * len(ordered)) - 1]

    @property
    def median_first_response(self) -> str:
        seconds = self.median_first_response_seconds
        return "—" if seconds is None else sla.format_duration(seconds)

    @property
    def p90_first_response(self) -> str:
        seconds = self.p90_first_response_seconds
        return "—" if seconds is None else sla.format_duration(seconds)


@dataclass(frozen=True)
class SlaReport:
    start: datetime  # the period counted, [start, end): shorter than asked when it was capped
    end: datetime
    total: SlaTally
    by_policy: list[SlaTally]
    by_priority: list[SlaTally]
    by_agent: list[SlaTally]
    outcomes: list[TicketSla]
    warnings: list[str]

    @property
    def tickets(self) -> int:
        return self.total.tickets


def _tally(outcomes: list[TicketSla], key: Callable[[Ticket], Hashable], label: Callable[[Ticket], str]):
    rows: dict[Hashable, SlaTally] = {}
    for outcome in outcomes:
        ticket = outcome.ticket
        rows.setdefault(key(ticket), SlaTally(label(ticket))).add(outcome)
    return rows


def _agent_name(ticket: Ticket) -> str:
    if ticket.owner is None:
        return UNASSIGNED
    return ticket.owner.get_full_name() or ticket.owner.email


def sla_report(*, start: datetime, end: datetime, now: datetime | None = None) -> SlaReport:
    """Tickets created in [start, end) under an SLA policy, in the active tenant scope, and how their first
    response and resolution targets fared as of `now`."""
    now = now or timezone.now()
    warnings = []
    if end - start > MAX_PERIOD:
        start = end - MAX_PERIOD  # the most recent part is the one people act on
        warnings.append(
            f"A report covers at most {MAX_PERIOD.days} days: showing the {MAX_PERIOD.days} days up to the end date."
        )
    tickets_in_period = Ticket.objects.filter(created_at__gte=start, created_at__lt=end, sla_policy__isnull=False)
    tickets = list(
        tickets_in_period.select_related("sla_policy", "owner").order_by("created_at", "id")[: MAX_TICKETS + 1]
    )
    changes = TicketStatusChange.objects.filter(
        ticket__created_at__gte=start, ticket__created_at__lt=end, ticket__sla_policy__isnull=False
    )
    if len(tickets) > MAX_TICKETS:
        tickets = tickets[:MAX_TICKETS]
        last_created = timezone.localtime(tickets[-1].created_at)
        warnings.append(
            f"More than {MAX_TICKETS:,} tickets in this period: the report counts the first {MAX_TICKETS:,}, "
            f"created up to {last_created:%d %b %Y %H:%M}. Choose a shorter period to see them all."
        )
        changes = changes.filter(ticket__created_at__lte=tickets[-1].created_at)
    pauses = pauses_by_ticket(
        changes.order_by("ticket_id", "changed_at", "id").values_list(
            "ticket_id", "to_status", "changed_at", named=True
        )
    )
    # The settings row exists once the organization has a ticket; unsaved defaults stand in before that.
    support_settings = SupportSettings.objects.first() or SupportSettings()
    calendars: dict[bool, sla.BusinessCalendar] = {}
    outcomes = []
    for ticket in tickets:
        policy = ticket.sla_policy
        if policy.business_hours not in calendars:
            calendars[policy.business_hours] = calendar_for(
                support_settings=support_settings, business_hours=policy.business_hours
            )
        calendar, ticket_pauses = calendars[policy.business_hours], pauses.get(ticket.pk, [])
        # The ticket page's own computation, fed what was read in bulk: the report cannot disagree with it.
        targets = {
            target.name: target
            for target in ticket_targets(ticket=ticket, now=now, calendar=calendar, pauses=ticket_pauses)
        }
        first_response = targets["First response"].status
        resolution = targets["Resolution"].status if "Resolution" in targets else None
        outcomes.append(
            TicketSla(
                ticket=ticket,
                first_response=_outcome(first_response, happened=ticket.first_response_at is not None),
                first_response_seconds=first_response.elapsed_seconds if ticket.first_response_at else None,
                resolution=None if resolution is None else _outcome(resolution, happened=ticket.closed_at is not None),
            )
        )
    total = SlaTally("All tickets")
    for outcome in outcomes:
        total.add(outcome)
    by_policy = _tally(outcomes, lambda t: (t.sla_policy.position, t.sla_policy.pk), lambda t: t.sla_policy.name)
    priority_order = {value: index for index, value in enumerate(Priority.values)}
    priority_labels = dict(Priority.choices)
    by_priority = _tally(
        outcomes,
        lambda t: (priority_order.get(t.priority, len(priority_order)), t.priority),
        lambda t: priority_labels.get(t.priority, t.priority),
    )
    by_agent = _tally(outcomes, lambda t: t.owner_id, _agent_name)
    return SlaReport(
        start=start,
        end=end,
        total=total,
        by_policy=[by_policy[key] for key in sorted(by_policy)],
        by_priority=[by_priority[key] for key in sorted(by_priority)],
        # By name, as people look themselves up; the unowned tickets last, as they are nobody's score.
        by_agent=[by_agent[key] for key in sorted(by_agent, key=lambda k: (k is None, by_agent[k].label.casefold()))],
        outcomes=outcomes,
        warnings=warnings,
    )
