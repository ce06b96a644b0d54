"""Meetings: scheduling, the 48-hour check (seed 004), the missed-call flow, outcomes and action items,
the .ics invite, the PDF, the share link, the health check and the champion change (seed 003)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.models import Role
from core.tenancy import Tenant
from lifecycle.models import Task
from qbr import rules
from qbr.models import CustomerResponse, Meeting, MeetingKind, MeetingStatus, OutreachAttempt, QbrTaskLink
from qbr.services import (
    champion_change_record,
    meeting_action_item_add,
    meeting_attendance_check,
    meeting_create,
    meeting_outcomes_record,
    meeting_status_set,
    meeting_update,
)
from qbr.tasks import attendance_checks
from tests.factories import AccountFactory, ContactFactory, MembershipFactory
from tests.qbr.factories import MeetingFactory

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def csm(org):
    return MembershipFactory(organization=org, role=Role.CSM, user__first_name="Casey").user


@pytest.fixture
def csm_tenant(org, csm):
    return Tenant(organization=org, role=Role.CSM, user=csm)


@pytest.fixture
def account(org, csm):
    return AccountFactory(organization=org, name="Bluefin Logistics", arr=Decimal("24000"), csm_owner=csm)


# --- Scheduling ------------------------------------------------------------------------------------------------


def test_a_qbr_reviews_the_quarter_before_it_and_refuses_strangers(scope, csm_tenant, account, other_org):
    stranger = ContactFactory(account=AccountFactory(organization=scope))
    with pytest.raises(ValidationError) as refused:
        meeting_create(tenant=csm_tenant, account=account, starts_at=NOW, contacts=[stranger])
    assert "is not a contact of Bluefin Logistics" in refused.value.message_dict["contacts"][0]
    champion = ContactFactory(account=account)
    meeting = meeting_create(tenant=csm_tenant, account=account, starts_at=NOW, contacts=[champion])
    assert meeting.title == "Quarterly business review: Bluefin Logistics"
    assert (meeting.period_start, meeting.period_end) == (NOW.date() - timedelta(days=90), NOW.date())
    assert meeting.organizer == csm_tenant.user


def test_a_held_meeting_stays_held(scope, csm_tenant, account):
    meeting = MeetingFactory(account=account, status=MeetingStatus.HELD)
    with pytest.raises(ValidationError) as refused:
        meeting_status_set(tenant=csm_tenant, meeting=meeting, status=MeetingStatus.CANCELLED)
    assert refused.value.message_dict["status"] == ["A held meeting cannot become cancelled."]


# --- 48 hours before -------------------------------------------------------------------------------------------


def test_the_48_hour_check_makes_one_task_to_confirm_attendance(org, scope, csm, account):
    meeting = MeetingFactory(account=account, organizer=csm, starts_at=NOW + timedelta(hours=47))
    with time_machine.travel(NOW, tick=False):
        assert attendance_checks.run(org.pk) == 1
        assert attendance_checks.run(org.pk) == 0  # run twice: still one task
    (link,) = QbrTaskLink.objects.filter(meeting=meeting, kind=QbrTaskLink.Kind.CONFIRM_ATTENDANCE)
    task = link.task
    assert task.assignee == csm
    assert task.status == Task.Status.OPEN
    assert task.title == f"Confirm attendance: {meeting.title}"
    assert "test the video link" in task.description
    assert Task.objects.filter(account=account).count() == 1


def test_no_task_when_the_customer_accepted_or_the_meeting_is_far(org, scope, csm, account):
    accepted = MeetingFactory(
        account=account, organizer=csm, starts_at=NOW + timedelta(hours=30), customer_response=CustomerResponse.ACCEPTED
    )
    far = MeetingFactory(account=account, organizer=csm, starts_at=NOW + timedelta(hours=49))
    with time_machine.travel(NOW, tick=False):
        assert attendance_checks.run(org.pk) == 0
    accepted.refresh_from_db()
    far.refresh_from_db()
    assert accepted.attendance_checked_at is not None
    assert far.attendance_checked_at is None
    assert not Task.objects.exists()


def test_a_stale_copy_of_the_meeting_does_not_check_twice(scope, csm, account):
    meeting = MeetingFactory(account=account, organizer=csm, starts_at=NOW + timedelta(hours=20))
    stale = Meeting.objects.get(pk=meeting.pk)
    assert meeting_attendance_check(meeting=meeting, now=NOW) is not None
    assert meeting_attendance_check(meeting=stale, now=NOW) is None
    assert QbrTaskLink.objects.count() == 1


def test_a_new_time_needs_a_new_answer_and_a_new_check(scope, csm_tenant, csm, account):
    meeting = MeetingFactory(
        account=account, organizer=csm, starts_at=NOW + timedelta(hours=20), customer_response=CustomerResponse.ACCEPTED
    )
    meeting_attendance_check(meeting=meeting, now=NOW)
    meeting = meeting_update(tenant=csm_tenant, meeting=meeting, starts_at=NOW + timedelta(hours=30))
    assert meeting.customer_response == CustomerResponse.PENDING
    assert meeting.attendance_checked_at is None
    assert meeting_attendance_check(meeting=meeting, now=NOW) is not None


# --- The missed call -------------------------------------------------------------------------------------------


def test_the_meeting_page_offers_the_outreach_checklist_three_minutes_after_the_start(org, client_for, account):
    client = client_for(Role.CSM)
    contact = ContactFactory(account=account, first_name="Robin")
    meeting = MeetingFactory(account=account, organizer=client.user, starts_at=NOW)
    meeting.contacts.add(contact)
    url = f"/o/{org.slug}/meetings/{meeting.pk}/"
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert 'data-testid="missed-call"' not in client.get(url).content.decode()
    with time_machine.travel(NOW + timedelta(minutes=4), tick=False):
        page = client.get(url).content.decode()
        assert 'data-testid="missed-call"' in page
        assert "Hi Robin," in page
        assert "I hope nothing urgent came up" in page
        for label in ("Slack (shared channel)", "Email (address from the invite)", "LinkedIn direct message", "Phone"):
            assert label in page
        assert client.post(f"{url}outreach/", {"channel": "slack", "note": "Posted in #bluefin"}).status_code == 302
        assert client.post(f"{url}outreach/", {"channel": "email"}).status_code == 302
        assert client.post(f"{url}outreach/", {"channel": "carrier-pigeon"}).status_code == 302
        attempts = list(OutreachAttempt.objects.with_scopes_disabled().filter(meeting=meeting).order_by("id"))
        assert [(a.channel, a.note, a.attempted_by_id) for a in attempts] == [
            ("slack", "Posted in #bluefin", client.user.pk),
            ("email", "", client.user.pk),
        ]
        page = client.get(url).content.decode()
        assert "Posted in #bluefin" in page
        client.post(f"{url}response/", {"joined": "1"})
        assert 'data-testid="missed-call"' not in client.get(url).content.decode()


def test_the_missed_call_message_offers_alternative_times_with_empathy():
    start = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    text = rules.missed_call_message(
        contact_name="Robin", organizer_name="Casey", starts_at=start,
        alternatives=[start + timedelta(days=1), start + timedelta(days=2)],
    )  # fmt: skip
    assert text.startswith("Hi Robin,")
    assert "Wednesday 2 December, 15:00" in text
    assert "Thursday 3 December, 15:00" in text
    assert text.rstrip().endswith("Casey")


# --- After the meeting -----------------------------------------------------------------------------------------


def test_outcomes_per_goal_and_action_items_that_land_in_my_work(org, client_for, account):
    client = client_for(Role.CSM)
    meeting = MeetingFactory(account=account, organizer=client.user, starts_at=timezone.now() - timedelta(hours=1))
    url = f"/o/{org.slug}/meetings/{meeting.pk}/"
    response = client.post(
        f"{url}outcomes/",
        {"goal_relationship": "Candid about the rollout delays.", "goal_feature_adoption": "Will try the API.",
         "notes": "Good call.", "customer_feedback": "Wants SSO."},
    )  # fmt: skip
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD
    assert meeting.held_at is not None
    assert meeting.goal_outcomes == {
        "relationship": "Candid about the rollout delays.",
        "feature_adoption": "Will try the API.",
    }
    due = (timezone.localdate() + timedelta(days=3)).isoformat()
    assert client.post(f"{url}action-items/", {"title": "Send the API guide", "due_date": due}).status_code == 302
    refused = client.post(f"{url}action-items/", {"title": "", "due_date": due})
    assert refused.status_code == 400
    assert "This field is required." in refused.content.decode()
    task = Task.objects.with_scopes_disabled().get(title="Send the API guide")
    assert task.assignee == client.user
    assert task.account == account
    assert "Send the API guide" in client.get(f"/o/{org.slug}/my-work/").content.decode()
    assert "Candid about the rollout delays." in client.get(url).content.decode()


def test_a_health_check_records_features_and_findings_that_the_qbr_shows(org, scope, csm_tenant, account, client_for):
    check = MeetingFactory(account=account, kind=MeetingKind.HEALTH_CHECK, starts_at=timezone.now() - timedelta(days=5))
    meeting_outcomes_record(
        tenant=csm_tenant, meeting=check, features_in_use="Dashboards daily, to watch the line.",
        findings="They do not know about alerts.",
    )  # fmt: skip
    qbr = MeetingFactory(account=account, starts_at=timezone.now() + timedelta(days=5))
    page = client_for(Role.VIEWER).get(f"/o/{org.slug}/meetings/{qbr.pk}/").content.decode()
    assert "They do not know about alerts." in page
    assert "Dashboards daily" in page


def test_a_routine_meeting_gets_seed_003s_agenda(org, scope, csm_tenant, account, client_for):
    from qbr.services import qbr_settings_update

    qbr_settings_update(tenant=csm_tenant, latest_version="4.2", release_notes="Faster dashboards.")
    previous = MeetingFactory(account=account, kind=MeetingKind.ROUTINE, status=MeetingStatus.HELD,
                              starts_at=timezone.now() - timedelta(days=7))  # fmt: skip
    meeting_action_item_add(tenant=csm_tenant, meeting=previous, title="Share the SSO timeline")
    routine = MeetingFactory(account=account, kind=MeetingKind.ROUTINE, starts_at=timezone.now() + timedelta(days=1))
    page = client_for(Role.CSM).get(f"/o/{org.slug}/meetings/{routine.pk}/").content.decode()
    assert 'data-testid="routine-agenda"' in page
    for text in ("Attendees", "(4.2)", "Faster dashboards.", "The version the customer runs", "Share the SSO timeline",
                 "Feature-request updates"):  # fmt: skip
        assert text in page


def test_a_champion_change_records_the_new_dri_and_the_checklist(scope, csm_tenant, csm, account):
    old, new = ContactFactory(account=account), ContactFactory(account=account, first_name="Dana", last_name="Ng")
    change = champion_change_record(tenant=csm_tenant, account=account, new_contact=new, previous_contact=old)
    titles = list(
        Task.objects.filter(qbr_link__champion_change=change).order_by("due_date").values_list("title", flat=True)
    )
    assert titles == [
        "Get an introduction to Dana Ng",
        "Add Dana Ng to the shared Slack channel",
        "Invite Dana Ng to the success meetings",
        "First meeting with Dana Ng: proficiency, meeting time, visibility, training",
    ]
    assert set(Task.objects.values_list("assignee", flat=True)) == {csm.pk}
    with pytest.raises(ValidationError):
        champion_change_record(
            tenant=csm_tenant, account=account, new_contact=ContactFactory(account=AccountFactory(organization=scope))
        )


# --- The invite, the PDF and the share link --------------------------------------------------------------------


def test_the_ics_invite_is_rfc_5545(org, client_for, account):
    client = client_for(Role.CSM)
    contact = ContactFactory(account=account, first_name="Robin", last_name="Mayer", email="robin@bluefin.example")
    meeting = MeetingFactory(
        account=account, organizer=client.user, title="QBR; Q4, with Bluefin", video_url="https://meet.example/abc",
        starts_at=datetime(2027, 1, 12, 14, 30, tzinfo=ZoneInfo("Europe/Berlin")), duration_minutes=45,
        agenda_items=["Roadmap, and what ships next"],
    )  # fmt: skip
    meeting.contacts.add(contact)
    response = client.get(f"/o/{org.slug}/meetings/{meeting.pk}/invite.ics")
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert body.endswith("END:VCALENDAR\r\n")
    assert "\n" not in body.replace("\r\n", "")
    unfolded = body.replace("\r\n ", "")
    assert "DTSTART:20270112T133000Z" in unfolded  # 14:30 in Berlin
    assert "DTEND:20270112T141500Z" in unfolded
    assert "SUMMARY:QBR\\; Q4\\, with Bluefin" in unfolded
    assert "LOCATION:https://meet.example/abc" in unfolded
    assert (
        'ATTENDEE;CN="Robin Mayer";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:robin@bluefin.example'
        in unfolded
    )
    assert "ORGANIZER;CN=" in unfolded
    assert f"mailto:{client.user.email}" in unfolded
    assert f"UID:meeting-{meeting.pk}-{org.pk}@cs-platform" in unfolded
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))


def test_the_qbr_pdf(org, client_for, account):
    client = client_for(Role.VIEWER)
    meeting = MeetingFactory(account=account, narrative="A strong quarter.", goal_outcomes={"relationship": "Warm."})
    response = client.get(f"/o/{org.slug}/meetings/{meeting.pk}/qbr.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
    from fpdf import FPDF  # noqa: F401 (the library the export uses)

    text = _pdf_text(response.content)
    assert "Bluefin Logistics" in text
    assert "A strong quarter." in text
    assert "No data yet: health scores are not set up." in text


def _pdf_text(data: bytes) -> str:
    """The text of fpdf2's output (its content streams are zlib-compressed by default)."""
    import re
    import zlib

    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            chunks.append(stream.decode("latin-1"))
    return "".join(re.findall(r"\((.*?)\)\s*Tj", "".join(chunks)))


def test_a_share_link_works_then_expires_and_shows_nothing_editable(org, client_for, account):
    from django.test import Client

    client = client_for(Role.CSM)
    meeting = MeetingFactory(account=account, narrative="A strong quarter.")
    with time_machine.travel(NOW, tick=False):
        client.post(f"/o/{org.slug}/meetings/{meeting.pk}/share/")
        page = client.get(f"/o/{org.slug}/meetings/{meeting.pk}/").content.decode()
        url = page.split('data-testid="share-url"')[0].rsplit('value="', 1)[1].split('"')[0]
        assert "/shared/qbr/" in url
        # Shown once: the next visit no longer has it.
        assert url not in client.get(f"/o/{org.slug}/meetings/{meeting.pk}/").content.decode()
        path = url.split("testserver", 1)[1]
        anonymous = Client()
        shared = anonymous.get(path)
        assert shared.status_code == 200
        body = shared.content.decode()
        assert "Bluefin Logistics" in body
        assert "A strong quarter." in body
        assert "<form" not in body
        assert "<textarea" not in body
        assert "<input" not in body
        assert "Sign out" not in body
        assert "No uptime notes for this quarter." in body
        assert "Ask the infrastructure team" not in body  # the team's advice stays inside
        assert anonymous.post(path).status_code == 405  # read-only: nothing to post
        assert anonymous.get(path[:-5] + "xxxx/").status_code == 404
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        assert anonymous.get(path).status_code == 404


def test_a_revoked_share_link_is_not_found(org, client_for, account):
    from django.test import Client

    from qbr.models import MeetingShare

    client = client_for(Role.CSM)
    meeting = MeetingFactory(account=account)
    client.post(f"/o/{org.slug}/meetings/{meeting.pk}/share/")
    page = client.get(f"/o/{org.slug}/meetings/{meeting.pk}/").content.decode()
    path = page.split('data-testid="share-url"')[0].rsplit('value="', 1)[1].split('"')[0].split("testserver", 1)[1]
    assert Client().get(path).status_code == 200
    share = MeetingShare.objects.with_scopes_disabled().get(meeting=meeting)
    client.post(f"/o/{org.slug}/meetings/{meeting.pk}/share/revoke/", {"share": share.pk})
    assert Client().get(path).status_code == 404


def test_a_qbr_always_reviews_a_quarter_even_when_it_was_another_kind(scope, csm_tenant, account):
    meeting = meeting_create(tenant=csm_tenant, account=account, kind=MeetingKind.ROUTINE, starts_at=NOW)
    assert meeting.period_start is None
    meeting = meeting_update(tenant=csm_tenant, meeting=meeting, kind=MeetingKind.QBR)
    assert (meeting.period_start, meeting.period_end) == (NOW.date() - timedelta(days=90), NOW.date())
    moved = meeting_update(tenant=csm_tenant, meeting=meeting, starts_at=NOW + timedelta(days=10))
    assert moved.period_end == NOW.date() + timedelta(days=10)  # the default quarter moves with the date
