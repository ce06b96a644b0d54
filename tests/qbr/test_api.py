"""/api/v1/qbrs/, /api/v1/meetings/ and /api/v1/feature-requests/: the rules of the pages, 400s naming the field,
404 for another organization's objects, and a constant number of queries per list page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import Role
from qbr.models import Meeting, MeetingKind, MeetingStatus
from tests.factories import AccountFactory, ContactFactory, MembershipFactory
from tests.qbr.factories import FeatureRequestFactory, MeetingFactory


@pytest.fixture
def account(org):
    return AccountFactory(organization=org, name="Bluefin", arr=Decimal("24000"))


def test_qbr_crud(org, api_for, account):
    api = api_for(Role.CSM)
    contact = ContactFactory(account=account)
    created = api.post(
        "/api/v1/qbrs/",
        {"account": account.pk, "starts_at": "2027-01-12T10:00:00Z", "contacts": [contact.pk], "video_url": "https://meet.example/x",
         "agenda_items": ["Roadmap"]},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["kind"] == "qbr"
    assert body["status"] == "scheduled"
    assert body["contacts"] == [contact.pk]
    assert (body["period_start"], body["period_end"]) == ("2026-10-14", "2027-01-12")
    url = f"/api/v1/qbrs/{body['id']}/"
    patched = api.patch(
        url, {"goal_outcomes": {"relationship": "Warm"}, "narrative": "Good quarter", "status": "held"}, format="json"
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["goal_outcomes"] == {"relationship": "Warm"}
    assert patched.json()["status"] == "held"
    assert api.get(url).json()["narrative"] == "Good quarter"
    pack = api.get(f"{url}data-pack/").json()
    assert [part["key"] for part in pack["parts"]][:2] == ["usage", "health"]
    assert pack["parts"][1]["empty_message"] == "No data yet: health scores are not set up."
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_qbr_field_errors_are_400s_naming_the_field(org, api_for, account):
    api = api_for(Role.CSM)
    stranger = ContactFactory(account=AccountFactory(organization=org))
    missing = api.post("/api/v1/qbrs/", {"account": account.pk}, format="json")
    assert missing.status_code == 400
    assert "starts_at" in missing.json()
    wrong = api.post(
        "/api/v1/qbrs/", {"account": account.pk, "starts_at": "2027-01-12T10:00:00Z", "contacts": [stranger.pk]},
        format="json",
    )  # fmt: skip
    assert wrong.status_code == 400
    assert "is not a contact of Bluefin" in wrong.json()["contacts"][0]
    meeting = MeetingFactory(account=account, status=MeetingStatus.HELD)
    moved = api.patch(f"/api/v1/qbrs/{meeting.pk}/", {"status": "cancelled"}, format="json")
    assert moved.status_code == 400
    assert moved.json()["status"] == ["A held meeting cannot become cancelled."]
    api.post("/api/v1/qbrs/", {"account": account.pk, "starts_at": "2027-02-01T10:00:00Z", "status": "proposed"})
    second = api.post(
        "/api/v1/qbrs/", {"account": account.pk, "starts_at": "2027-03-01T10:00:00Z", "status": "proposed"}
    )
    assert second.status_code == 400
    assert second.json()["status"] == ["This account already has a proposed QBR: confirm or cancel it."]
    goals = api.patch(f"/api/v1/qbrs/{meeting.pk}/", {"goal_outcomes": {"vibes": "good"}}, format="json")
    assert goals.status_code == 400
    assert "goal_outcomes" in goals.json()


def test_meetings_lists_every_kind_and_filters(org, api_for, account):
    api = api_for(Role.VIEWER)
    MeetingFactory(account=account, kind=MeetingKind.QBR)
    MeetingFactory(account=account, kind=MeetingKind.HEALTH_CHECK)
    kinds = sorted(row["kind"] for row in api.get("/api/v1/meetings/").json()["results"])
    assert kinds == ["health_check", "qbr"]
    assert [row["kind"] for row in api.get("/api/v1/meetings/?kind=health_check").json()["results"]] == ["health_check"]
    assert [row["kind"] for row in api.get("/api/v1/qbrs/").json()["results"]] == ["qbr"]
    assert (
        api.post(
            "/api/v1/meetings/", {"account": account.pk, "starts_at": "2027-01-12T10:00:00Z"}, format="json"
        ).status_code
        == 403
    )


def test_a_meeting_of_another_organization_is_not_found(org, other_org, api_for):
    foreign = MeetingFactory(account=AccountFactory(organization=other_org))
    foreign_request = FeatureRequestFactory(organization=other_org)
    api = api_for(Role.ADMIN)
    urls = [
        f"/api/v1/meetings/{foreign.pk}/",
        f"/api/v1/qbrs/{foreign.pk}/",
        f"/api/v1/qbrs/{foreign.pk}/data-pack/",
        f"/api/v1/feature-requests/{foreign_request.pk}/",
    ]
    for url in urls:
        assert api.get(url).status_code == 404, url
    assert api.patch(f"/api/v1/meetings/{foreign.pk}/", {"title": "Stolen"}, format="json").status_code == 404
    own = AccountFactory(organization=org)
    foreign_account = AccountFactory(organization=other_org)
    pointed = api.post(
        "/api/v1/meetings/", {"account": foreign_account.pk, "starts_at": "2027-01-12T10:00:00Z"}, format="json"
    )
    assert pointed.status_code == 400
    assert "account" in pointed.json()
    added = api.post("/api/v1/feature-requests/", {"title": "X", "accounts": [foreign.account_id]}, format="json")
    assert added.status_code == 400
    assert "accounts" in added.json()
    assert own.pk


def test_feature_request_crud_and_shipping(org, api_for, account):
    csm = MembershipFactory(organization=org, role=Role.CSM).user
    account.csm_owner = csm
    account.save()
    api = api_for(Role.SUPPORT)
    created = api.post(
        "/api/v1/feature-requests/", {"title": "SSO", "accounts": [account.pk], "tracker_url": "https://t.example/1"},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    url = f"/api/v1/feature-requests/{created.json()['id']}/"
    assert created.json()["accounts"] == [account.pk]
    assert created.json()["status"] == "new"
    shipped = api.patch(url, {"status": "shipped"}, format="json").json()
    assert shipped["shipped_at"]
    assert next(entry["text"] for entry in shipped["log"]) == "Status: New → Shipped"
    from lifecycle.models import Task

    assert Task.objects.with_scopes_disabled().filter(assignee=csm, account=account).count() == 1
    api.patch(url, {"status": "shipped", "title": "SSO (Okta)"}, format="json")
    assert Task.objects.with_scopes_disabled().filter(assignee=csm).count() == 1
    bad = api.patch(url, {"status": "someday"}, format="json")
    assert bad.status_code == 400
    assert "status" in bad.json()
    assert api.post("/api/v1/feature-requests/", {"title": ""}, format="json").json().keys() >= {"title"}
    assert api_for(Role.VIEWER).delete(url).status_code == 403
    assert api.delete(url).status_code == 204


@pytest.mark.parametrize("path", ["/api/v1/meetings/", "/api/v1/qbrs/", "/api/v1/feature-requests/"])
def test_list_endpoints_run_a_constant_number_of_queries(org, api_for, path):
    api = api_for(Role.VIEWER)

    def add(n):
        for _ in range(n):
            account = AccountFactory(organization=org)
            meeting = MeetingFactory(account=account, starts_at=timezone.now() + timedelta(days=3))
            meeting.contacts.add(ContactFactory(account=account))
            request = FeatureRequestFactory(organization=org)
            from qbr.models import FeatureRequestAccount

            FeatureRequestAccount.objects.with_scopes_disabled().create(
                organization=org, request=request, account=account, added_at=timezone.now()
            )

    def count() -> int:
        api.get(path)
        with CaptureQueriesContext(connection) as queries:
            assert api.get(path).status_code == 200
        return len(queries)

    add(2)
    few = count()
    add(12)
    assert count() == few
    assert Meeting.objects.with_scopes_disabled().count() == 14
