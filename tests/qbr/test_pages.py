"""The calendar of upcoming meetings per CSM, the champion-change page, the settings page, and the beat tasks."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import Role
from lifecycle.models import Task
from qbr.models import Meeting, MeetingKind, MeetingStatus, QbrSettings
from tests.factories import AccountFactory, ContactFactory, MembershipFactory
from tests.qbr.factories import MeetingFactory


def test_the_calendar_lists_my_upcoming_meetings_by_day_and_anyones_on_request(org, client_for):
    client = client_for(Role.CSM)
    colleague = MembershipFactory(organization=org, role=Role.CSM).user
    account = AccountFactory(organization=org, name="Bluefin")
    mine = MeetingFactory(
        account=account, organizer=client.user, title="Bluefin QBR", starts_at=timezone.now() + timedelta(days=2)
    )
    theirs = MeetingFactory(
        account=account, organizer=colleague, title="Their call", starts_at=timezone.now() + timedelta(days=3)
    )
    MeetingFactory(account=account, organizer=client.user, title="Long ago", status=MeetingStatus.HELD,
                   starts_at=timezone.now() - timedelta(days=30))  # fmt: skip
    MeetingFactory(account=account, organizer=client.user, title="Called off", status=MeetingStatus.CANCELLED)
    page = client.get(f"/o/{org.slug}/meetings/").content.decode()
    assert f'data-testid="calendar-meeting-{mine.pk}"' in page
    assert "Their call" not in page
    assert "Long ago" not in page
    assert "Called off" not in page
    everyone = client.get(f"/o/{org.slug}/meetings/", {"organizer": "all"}).content.decode()
    assert f'data-testid="calendar-meeting-{theirs.pk}"' in everyone
    assert "Their call" in client.get(f"/o/{org.slug}/meetings/", {"organizer": colleague.pk}).content.decode()


def test_the_calendar_says_when_there_is_nothing(org, client_for):
    assert "Nothing on the calendar" in client_for(Role.VIEWER).get(f"/o/{org.slug}/meetings/").content.decode()


def test_the_calendar_runs_a_constant_number_of_queries(org, client_for):
    client = client_for(Role.CSM)

    def add(n):
        for index in range(n):
            MeetingFactory(
                account=AccountFactory(organization=org), organizer=client.user,
                starts_at=timezone.now() + timedelta(days=1 + index % 20),
            )  # fmt: skip

    def count() -> int:
        client.get(f"/o/{org.slug}/meetings/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/o/{org.slug}/meetings/").status_code == 200
        return len(queries)

    add(2)
    few = count()
    add(20)
    assert count() == few


def test_the_meeting_page_runs_a_constant_number_of_queries(org, client_for):
    client = client_for(Role.CSM)
    account = AccountFactory(organization=org)
    meeting = MeetingFactory(account=account, organizer=client.user)
    url = f"/o/{org.slug}/meetings/{meeting.pk}/"

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    meeting.contacts.add(ContactFactory(account=account))
    few = count()
    for _ in range(10):
        meeting.contacts.add(ContactFactory(account=account))
        client.post(f"{url}action-items/", {"title": "Follow up", "due_date": timezone.localdate().isoformat()})
    assert count() == few


def test_a_champion_change_from_the_page_fills_my_work(org, client_for):
    client = client_for(Role.CSM)
    account = AccountFactory(organization=org, csm_owner=client.user)
    new = ContactFactory(account=account, first_name="Dana", last_name="Ng")
    url = f"/o/{org.slug}/accounts/{account.pk}/champion/"
    assert "The champion changed" in client.get(url).content.decode()
    refused = client.post(url, {})
    assert refused.status_code == 400
    assert client.post(url, {"new_contact": new.pk, "note": "Moved plants"}).status_code == 302
    work = client.get(f"/o/{org.slug}/my-work/").content.decode()
    assert "Get an introduction to Dana Ng" in work
    assert "First meeting with Dana Ng: proficiency, meeting time, visibility, training" in work


def test_an_admin_sets_the_threshold_and_a_csm_may_not(org, client_for):
    assert client_for(Role.CSM).get(f"/o/{org.slug}/settings/qbr/").status_code == 403
    admin = client_for(Role.ADMIN)
    response = admin.post(
        f"/o/{org.slug}/settings/qbr/", {"arr_threshold": "25000", "share_link_days": "14", "latest_version": "3.4"}
    )
    assert response.status_code == 302
    assert QbrSettings.objects.with_scopes_disabled().get(organization=org).arr_threshold == Decimal("25000")
    bad = admin.post(f"/o/{org.slug}/settings/qbr/", {"arr_threshold": "-1", "share_link_days": "0"})
    assert bad.status_code == 400


def test_the_beat_tasks_fan_out_per_organization_on_commit(org, other_org, django_capture_on_commit_callbacks):
    from qbr.tasks import attendance_checks_for_all_organizations, propose_qbrs_for_all_organizations

    csm = MembershipFactory(organization=org, role=Role.CSM).user
    account = AccountFactory(organization=org, arr=Decimal("50000"), csm_owner=csm)
    MeetingFactory(
        account=account, organizer=csm, kind=MeetingKind.ROUTINE, starts_at=timezone.now() + timedelta(hours=20)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert attendance_checks_for_all_organizations() == 1  # only the organization with a meeting in 48 hours
    assert Task.objects.with_scopes_disabled().filter(title__startswith="Confirm attendance").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert propose_qbrs_for_all_organizations() >= 2
    proposal = Meeting.objects.with_scopes_disabled().get(status=MeetingStatus.PROPOSED)
    assert proposal.account_id == account.pk
    assert proposal.organizer_id == csm.pk
    with django_capture_on_commit_callbacks(execute=True):
        propose_qbrs_for_all_organizations()
    assert Meeting.objects.with_scopes_disabled().filter(status=MeetingStatus.PROPOSED).count() == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SUPPORT])
def test_roles_without_qbr_write_cannot_schedule(org, client_for, role):
    account = AccountFactory(organization=org)
    response = client_for(role).post(
        f"/o/{org.slug}/accounts/{account.pk}/meetings/new/", {"kind": "qbr", "starts_at": "2027-01-12T10:00"}
    )
    assert response.status_code == 403
    assert not Meeting.objects.with_scopes_disabled().exists()
