"""Customer requests (seed 004) shared by accounts, with a dated log; shipping one asks each asking account's CSM
to bring it back to the customer, once (seed 003, "Communicate feedback on prioritized customer requests")."""

import pytest
from django.core.exceptions import ValidationError

from core.models import Role
from core.tenancy import Tenant, tenant_scope
from lifecycle.models import Task
from qbr.models import FeatureRequest, FeatureRequestStatus
from qbr.services import feature_request_account_add, feature_request_create, feature_request_update
from tests.factories import AccountFactory, MembershipFactory
from tests.qbr.factories import MeetingFactory


@pytest.fixture
def people(org):
    return {role: MembershipFactory(organization=org, role=role).user for role in ("csm", "ae", "support")}


def test_shipping_gives_each_asking_accounts_csm_one_task(scope, people):
    other_csm = MembershipFactory(organization=scope, role=Role.CSM).user
    support = Tenant(organization=scope, role=Role.SUPPORT, user=people["support"])
    first = AccountFactory(organization=scope, name="Bluefin", csm_owner=people["csm"])
    second = AccountFactory(organization=scope, name="Quarry", csm_owner=other_csm)
    no_csm = AccountFactory(organization=scope, name="Orphan")
    request = feature_request_create(
        tenant=support, title="SSO with Okta", tracker_url="https://tracker.example/issues/42", accounts=[first, second]
    )
    feature_request_account_add(tenant=support, feature_request=request, account=no_csm)
    feature_request_account_add(tenant=support, feature_request=request, account=first)  # asking twice: once
    assert request.askers.count() == 3
    feature_request_update(tenant=support, feature_request=request, status=FeatureRequestStatus.PLANNED)
    assert not Task.objects.exists()
    feature_request_update(tenant=support, feature_request=request, status=FeatureRequestStatus.SHIPPED)
    tasks = {task.account_id: task for task in Task.objects.all()}
    assert set(tasks) == {first.pk, second.pk, no_csm.pk}
    assert tasks[first.pk].assignee == people["csm"]
    assert tasks[second.pk].assignee == other_csm
    assert tasks[no_csm.pk].assignee == people["support"]  # no CSM on the account: whoever shipped it
    assert tasks[first.pk].title == "Bring the shipped request back to Bluefin: SSO with Okta"
    assert "https://tracker.example/issues/42" in tasks[first.pk].description
    # Shipped again (after a detour), or saved again: no second task.
    feature_request_update(tenant=support, feature_request=request, status=FeatureRequestStatus.PLANNED)
    feature_request_update(tenant=support, feature_request=request, status=FeatureRequestStatus.SHIPPED)
    feature_request_update(tenant=support, feature_request=request, description="Okta and Azure AD")
    assert Task.objects.count() == 3
    # An account asking after it shipped gets its own task at once.
    late = AccountFactory(organization=scope, csm_owner=people["csm"])
    feature_request_account_add(tenant=support, feature_request=request, account=late)
    assert Task.objects.filter(account=late).count() == 1


def test_the_request_keeps_a_dated_log(scope, people):
    tenant = Tenant(organization=scope, role=Role.CSM, user=people["csm"])
    account = AccountFactory(organization=scope, name="Bluefin")
    meeting = MeetingFactory(account=account, title="Q4 review")
    request = feature_request_create(tenant=tenant, title="Dark mode", accounts=[account], meeting=meeting)
    feature_request_update(tenant=tenant, feature_request=request, status=FeatureRequestStatus.UNDER_REVIEW)
    log = list(request.events.order_by("created_at", "id").values_list("text", flat=True))
    assert log == ["Request created", "Bluefin asks for it (in Q4 review)", "Status: New → Under review"]
    assert all(event.created_at and event.actor_label for event in request.events.all())


def test_a_request_needs_a_title_and_a_known_status(scope, people):
    tenant = Tenant(organization=scope, role=Role.CSM, user=people["csm"])
    with pytest.raises(ValidationError) as refused:
        feature_request_create(tenant=tenant, title="  ")
    assert "title" in refused.value.message_dict
    request = feature_request_create(tenant=tenant, title="Dark mode")
    with pytest.raises(ValidationError) as refused:
        feature_request_update(tenant=tenant, feature_request=request, status="someday")
    assert "status" in refused.value.message_dict


def test_requests_heard_in_a_meeting_become_tracked_requests_on_the_account(org, client_for):
    client = client_for(Role.SUPPORT)
    account = AccountFactory(organization=org, name="Bluefin")
    meeting = MeetingFactory(account=account)
    url = f"/o/{org.slug}/meetings/{meeting.pk}/feature-requests/"
    assert client.post(url, {"title": "Export to Parquet", "description": "For their lake."}).status_code == 302
    with tenant_scope(org):
        request = FeatureRequest.objects.get(title="Export to Parquet")
        assert list(request.askers.values_list("account_id", "meeting_id")) == [(account.pk, meeting.pk)]
    other = MeetingFactory(account=AccountFactory(organization=org))
    assert (
        client.post(f"/o/{org.slug}/meetings/{other.pk}/feature-requests/", {"existing": request.pk}).status_code == 302
    )
    with tenant_scope(org):
        assert request.askers.count() == 2
    refused = client.post(url, {"title": ""})
    assert refused.status_code == 400
    assert "Give the new request a title" in refused.content.decode()


def test_the_status_page_ships_and_says_how_many_csms_were_asked(org, client_for):
    client = client_for(Role.CSM)
    with_csm = AccountFactory(organization=org, csm_owner=client.user)
    request = FeatureRequest.objects.with_scopes_disabled().create(organization=org, title="Webhooks")
    from qbr.models import FeatureRequestAccount

    FeatureRequestAccount.objects.with_scopes_disabled().create(
        organization=org, request=request, account=with_csm, added_at=request.created_at
    )
    response = client.post(f"/o/{org.slug}/feature-requests/{request.pk}/status/", {"status": "shipped"}, follow=True)
    assert "1 CSM task to bring it back to the customer." in response.content.decode()
    page = client.get(f"/o/{org.slug}/feature-requests/{request.pk}/").content.decode()
    assert 'data-testid="follow-ups"' in page


def test_the_feature_request_list_runs_a_constant_number_of_queries(org, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(Role.VIEWER)
    tenant = Tenant(organization=org, role=Role.ADMIN)

    def add(n):
        with tenant_scope(org):
            for index in range(n):
                feature_request_create(
                    tenant=tenant, title=f"Request {index}", accounts=AccountFactory.create_batch(2, organization=org)
                )

    def count() -> int:
        client.get(f"/o/{org.slug}/feature-requests/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/o/{org.slug}/feature-requests/").status_code == 200
        return len(queries)

    add(2)
    few = count()
    add(10)
    assert count() == few
