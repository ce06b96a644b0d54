"""The SLA clock of a ticket: the organization's calendar, the policy's targets and the ticket's pauses, fed to
the arithmetic in tickets.sla (which knows nothing of models)."""

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from tickets import sla
from tickets.models import PAUSED_STATUSES, SlaPolicy, SupportSettings, Ticket, TicketStatusChange


def calendar_for(*, support_settings: SupportSettings, business_hours: bool = True) -> sla.BusinessCalendar:
    """Seed 000: Berlin business hours Monday to Friday; a policy may count calendar hours instead (24/7)."""
    hours = (
        sla.WeeklyHours.parse(support_settings.weekly_hours)
        if support_settings.weekly_hours
        else sla.WeeklyHours.office()
    )
    holidays: frozenset[date] = frozenset()
    if support_settings.holiday_country:
        this_year = timezone.now().year
        holidays = sla.holiday_dates(
            country=support_settings.holiday_country,
            subdivision=support_settings.holiday_subdivision,
            years=range(this_year - 1, this_year + 3),
            extra=[date.fromisoformat(day) for day in support_settings.extra_holidays or []],
        )
    return sla.BusinessCalendar(
        timezone=support_settings.timezone, hours=hours, holidays=holidays, always_open=not business_hours
    )


def pauses_of(*, ticket: Ticket) -> list[sla.Pause]:
    """The spans the ticket waited on the customer or stayed closed: the clock does not run there."""
    pauses, started = [], None
    for change in TicketStatusChange.objects.filter(ticket=ticket).order_by("changed_at", "id"):
        if change.to_status in PAUSED_STATUSES and started is None:
            started = change.changed_at
        elif change.to_status not in PAUSED_STATUSES and started is not None:
            pauses.append(sla.Pause(start=started, end=change.changed_at))
            started = None
    if started is not None:
        pauses.append(sla.Pause(start=started, end=None))
    return pauses


@dataclass(frozen=True)
class TargetStatus:
    name: str  # "First response", "Next response", "Resolution"
    status: sla.SlaStatus
    met: bool = False  # the event happened (first reply sent, ticket closed): in time or late, says status.breached


def ticket_targets(
    *,
    ticket: Ticket,
    now: datetime | None = None,
    calendar: sla.BusinessCalendar | None = None,
    pauses: list[sla.Pause] | None = None,
) -> list[TargetStatus]:
    """Each target of the ticket's policy with its time left (or overdue), as the ticket page shows them.

    A report over many tickets passes the calendar and the pauses it read in bulk; alone, the ticket reads its own.
    """
    policy: SlaPolicy | None = ticket.sla_policy
    if policy is None:
        return []
    now = now or timezone.now()
    if calendar is None:
        from tickets.services import support_settings_get

        calendar = calendar_for(
            support_settings=support_settings_get(organization=ticket.organization),
            business_hours=policy.business_hours,
        )
    if pauses is None:
        pauses = pauses_of(ticket=ticket)
    targets = [
        TargetStatus(
            "First response",
            sla.sla_status(
                calendar=calendar,
                start=ticket.created_at,
                now=now,
                target_seconds=policy.first_response_minutes * 60,
                pauses=pauses,
                met_at=ticket.first_response_at,
            ),
            met=ticket.first_response_at is not None,
        )
    ]
    waiting_since = ticket.last_customer_message_at
    if (
        policy.next_response_minutes
        and ticket.first_response_at
        and waiting_since
        and (ticket.last_agent_message_at is None or waiting_since > ticket.last_agent_message_at)
    ):
        targets.append(
            TargetStatus(
                "Next response",
                sla.sla_status(
                    calendar=calendar,
                    start=waiting_since,
                    now=now,
                    target_seconds=policy.next_response_minutes * 60,
                    pauses=pauses,
                ),
            )
        )
    if policy.resolution_minutes:
        targets.append(
            TargetStatus(
                "Resolution",
                sla.sla_status(
                    calendar=calendar,
                    start=ticket.created_at,
                    now=now,
                    target_seconds=policy.resolution_minutes * 60,
                    pauses=pauses,
                    met_at=ticket.closed_at,
                ),
                met=ticket.closed_at is not None,
            )
        )
    return targets


def next_deadline(*, ticket: Ticket, now: datetime | None = None) -> datetime | None:
    """The earliest deadline not yet met: what the inbox sorts by and when the breach alarm rings."""
    due = [
        target.status.due_at
        for target in ticket_targets(ticket=ticket, now=now)
        if target.status.due_at is not None and not target.met
    ]
    return min(due) if due else None
