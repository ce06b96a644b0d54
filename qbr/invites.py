"""The .ics invite of a meeting, generated from the record (RFC 5545 text from qbr.rules)."""

from datetime import timedelta

from django.utils import timezone

from qbr.models import Meeting, MeetingKind, MeetingStatus
from qbr.rules import Invite, ics_calendar


def meeting_invite(*, meeting: Meeting, page_url: str = "") -> str:
    """The meeting as an invitation: a stable UID per meeting, the SEQUENCE grows with each change."""
    organizer = meeting.organizer
    attendees = [(str(contact), contact.email) for contact in meeting.contacts.all() if contact.email]
    attendees += [(member.get_full_name() or member.email, member.email) for member in meeting.members.all()]
    lines = [meeting.title]
    if meeting.kind == MeetingKind.QBR:
        lines.append(
            "Goals: relationship, problem-value alignment, issue prevention, broader feature adoption, data collection."
        )
    lines += [f"- {item}" for item in meeting.agenda_items]
    if meeting.video_url:
        lines.append(f"Join: {meeting.video_url}")
    return ics_calendar(
        Invite(
            uid=f"meeting-{meeting.pk}-{meeting.organization_id}@cs-platform",
            sequence=int(meeting.updated_at.timestamp()) // 60 - int(meeting.created_at.timestamp()) // 60,
            starts_at=meeting.starts_at,
            ends_at=meeting.starts_at + timedelta(minutes=meeting.duration_minutes),
            stamp=timezone.now(),
            summary=meeting.title,
            description="\n".join(lines),
            location=meeting.video_url,
            organizer_name=(organizer.get_full_name() or organizer.email) if organizer else "",
            organizer_email=organizer.email if organizer else "",
            attendees=attendees,
            cancelled=meeting.status == MeetingStatus.CANCELLED,
        )
    )
