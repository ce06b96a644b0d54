"""Playbooks tests: a playbook is made through the services, as the editor and the API make it."""

import pytest

from core.models import Role
from core.tenancy import Tenant
from playbooks.models import PlaybookStatus
from playbooks.services import playbook_create
from tests.factories import AccountFactory, ContactFactory, MembershipFactory


@pytest.fixture
def csm(org):
    return MembershipFactory(organization=org, role=Role.CSM, user__first_name="Casey", user__last_name="Moss").user


@pytest.fixture
def account(org, csm):
    return AccountFactory(organization=org, name="Bluefin Labs", csm_owner=csm, cohort="premium")


@pytest.fixture
def contact(account):
    return ContactFactory(account=account, first_name="Ada", email="ada@bluefin.example")


@pytest.fixture
def make_playbook(tenant):
    def make(steps, trigger=None, audience=None, status=PlaybookStatus.ACTIVE, name="Test playbook"):
        definition = {"trigger": trigger or {"type": "event", "event": "deal.committed"}, "steps": steps}
        if audience is not None:
            definition["audience"] = audience
        return playbook_create(tenant=tenant, name=name, definition=definition, status=status)

    return make


@pytest.fixture
def system(org):
    return Tenant(organization=org, role=Role.ADMIN)
