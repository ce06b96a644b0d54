import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.models import Role
from core.services import api_key_create
from core.tenancy import Tenant, tenant_scope
from tests.factories import MembershipFactory, OrganizationFactory


@pytest.fixture
def org(db):
    return OrganizationFactory(slug="northwind", name="Northwind Robotics")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(slug="helios", name="Helios Analytics")


@pytest.fixture
def scope(org):
    """Run the test body inside the tenant scope of `org`, as a request or a task would."""
    with tenant_scope(org):
        yield org


@pytest.fixture
def member_factory(db):
    def make(role: str = Role.CSM, organization=None):
        return MembershipFactory(role=role, organization=organization or OrganizationFactory())

    return make


@pytest.fixture
def client_for(db, org):
    """A signed-in browser client for a new member of `organization` (default: org) with `role`."""

    def make(role: str = Role.CSM, organization=None) -> Client:
        membership = MembershipFactory(role=role, organization=organization or org)
        client = Client()
        client.force_login(membership.user)
        client.user = membership.user
        return client

    return make


@pytest.fixture
def api_for(db, org):
    """An API client authenticated with a fresh key of `role` for `organization` (default: org)."""

    def make(role: str = Role.CSM, organization=None) -> APIClient:
        _, raw_key = api_key_create(tenant=None, organization=organization or org, role=role, name=f"{role} key")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        client.raw_key = raw_key
        return client

    return make


@pytest.fixture
def tenant(org, member_factory):
    membership = member_factory(Role.ADMIN, org)
    return Tenant(organization=org, role=Role.ADMIN, user=membership.user)


@pytest.fixture
def domain_events():
    """The domain events (core.events) delivered during the test, in order; delivery happens on commit, so tests
    run the change under django_capture_on_commit_callbacks(execute=True)."""
    from core.events import event_subscribe, event_unsubscribe

    delivered: list = []
    event_subscribe(delivered.append)
    yield delivered
    event_unsubscribe(delivered.append)
