"""The programme's rules as plain functions: when QBRs are due, what to propose, the invite and the missed-call text.

No Django queries here; selectors and services feed them facts.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

# Seed 000: "FlowFuse offers these meetings each quarterly"; seed 003: "typically 90 days after kickoff and again,
# 90 days before renewal".
QUARTER = timedelta(days=90)
# Seed 004, "Before a customer call (48hrs)".
ATTENDANCE_CHECK_BEFORE = timedelta(hours=48)
# Seed 004, "Missed customer call": "If the customer does not join the call after three minutes".
MISSED_CALL_AFTER = timedelta(minutes=3)
# An overdue QBR is proposed this far out: time to find a slot with the champion's stakeholders (seed 003).
OVERDUE_LEAD_TIME = timedelta(days=7)
# Two proposals closer than this are one meeting: the more specific reason wins.
SAME_MEETING_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class ProposedDate:
    day: date
    reason: str


def qbr_due_date(*, last_qbr: date | None, kickoff: date | None, joined: date) -> date:
    """When the next QBR is due: a quarter after the last one, else a quarter after kickoff (or joining)."""
    if last_qbr is not None:
        return last_qbr + QUARTER
    return (kickoff or joined) + QUARTER


def qbr_is_overdue(*, last_qbr: date | None, kickoff: date | None, joined: date, today: date) -> bool:
    """No QBR in the last quarter: overdue, once the account has been with us a quarter since kickoff."""
    return qbr_due_date(last_qbr=last_qbr, kickoff=kickoff, joined=joined) < today


def qbr_schedule_proposals(
    *, today: date, kickoff: date | None, renewal: date | None, last_qbr: date | None, joined: date
) -> list[ProposedDate]:
    """The dates the schedule proposes (the CSM confirms one), soonest first.

    Seed 003: the first about 90 days after kickoff, one 90 days before renewal; seed 000: quarterly in between.
    A date already past becomes "as soon as possible": a week from today.
    """
    proposals: list[ProposedDate] = []
    if renewal is not None and renewal - QUARTER >= today:
        proposals.append(ProposedDate(renewal - QUARTER, f"90 days before renewal on {renewal:%-d %b %Y}"))
    if last_qbr is None and kickoff is not None:
        proposals.append(ProposedDate(kickoff + QUARTER, f"90 days after kickoff on {kickoff:%-d %b %Y}"))
    elif last_qbr is not None:
        proposals.append(ProposedDate(last_qbr + QUARTER, f"a quarter after the last QBR on {last_qbr:%-d %b %Y}"))
    else:
        proposals.append(ProposedDate(joined + QUARTER, f"a quarter after the account joined on {joined:%-d %b %Y}"))
    soonest = today + OVERDUE_LEAD_TIME
    adjusted = []
    for proposal in proposals:
        if proposal.day < soonest:
            proposal = ProposedDate(soonest, f"{proposal.reason}, which has passed: as soon as possible")
        adjusted.append(proposal)
    adjusted.sort(key=lambda proposal: proposal.day)
    kept: list[ProposedDate] = []
    for proposal in adjusted:
        if kept and proposal.day - kept[-1].day < SAME_MEETING_WINDOW:
            # The renewal reason is the more specific one; keep the earlier date with both reasons.
            kept[-1] = ProposedDate(kept[-1].day, f"{kept[-1].reason}; {proposal.reason}")
            continue
        kept.append(proposal)
    return kept


def next_working_days(*, after: date, count: int) -> list[date]:
    days = []
    day = after
    while len(days) < count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


def missed_call_message(*, contact_name: str, organizer_name: str, starts_at: datetime, alternatives: list[datetime]):
    """Seed 004: "approach the situation with empathy. Anything could have happened."""
    greeting = f"Hi {contact_name}," if contact_name else "Hi,"
    options = "\n".join(f"  - {moment:%A %-d %B, %H:%M}" for moment in alternatives)
    return (
        f"{greeting}\n\n"
        f"I'm in our call for {starts_at:%H:%M} today and wanted to check that everything is all right: I hope "
        "nothing urgent came up. No problem at all if today doesn't work any more.\n\n"
        f"Would one of these times suit you instead?\n{options}\n\n"
        "If the invitation did not reach you, or it went to an address you don't use, tell me where to send it and "
        "I'll make sure you get it.\n\n"
        f"Best,\n{organizer_name}"
    )


# --- iCalendar (RFC 5545), small enough to write by hand -------------------------------------------------------


def ics_escape(text: str) -> str:
    """RFC 5545 3.3.11: backslash, semicolon and comma are escaped, newlines become \\n."""
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """RFC 5545 3.1: lines longer than 75 octets are folded with CRLF and a space."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class Invite:
    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    stamp: datetime
    summary: str
    description: str
    location: str
    organizer_name: str
    organizer_email: str
    attendees: list[tuple[str, str]]  # (name, email)
    cancelled: bool = False


def ics_calendar(invite: Invite) -> str:
    """A VCALENDAR with one VEVENT, CRLF line endings, escaped and folded."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//CS Platform//QBR//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:CANCEL" if invite.cancelled else "METHOD:REQUEST",
        "BEGIN:VEVENT",
        f"UID:{invite.uid}",
        f"SEQUENCE:{invite.sequence}",
        f"DTSTAMP:{_utc(invite.stamp)}",
        f"DTSTART:{_utc(invite.starts_at)}",
        f"DTEND:{_utc(invite.ends_at)}",
        f"SUMMARY:{ics_escape(invite.summary)}",
        f"DESCRIPTION:{ics_escape(invite.description)}",
    ]
    if invite.location:
        lines += [f"LOCATION:{ics_escape(invite.location)}", f"URL:{invite.location}"]
    if invite.organizer_email:
        lines.append(f"ORGANIZER;CN={_param(invite.organizer_name)}:mailto:{invite.organizer_email}")
    for name, email in invite.attendees:
        lines.append(f"ATTENDEE;CN={_param(name)};ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{email}")
    lines += [f"STATUS:{'CANCELLED' if invite.cancelled else 'CONFIRMED'}", "END:VEVENT", "END:VCALENDAR"]
    return "".join(_fold(line) + "\r\n" for line in lines)


def _param(value: str) -> str:
    """A parameter value: quoted, with the characters RFC 5545 forbids inside quotes removed."""
    cleaned = value.replace('"', "").replace("\r", " ").replace("\n", " ")
    return f'"{cleaned}"'
