"""A fake HubSpot on 127.0.0.1 (tests/fakes/hubspot_fake.py) and an organization connected to it.

The SDK talks real HTTP to the fake; nothing of the adapter is patched. Each test gets a fresh portal with its own
token, so the process-wide pacer of one test never slows another.
"""

import uuid

import pytest

from core.models import Role
from core.tenancy import Tenant, tenant_scope
from integrations.models import Source, SyncKind, SyncRun
from integrations.services import connection_update
from tests.fakes.hubspot_fake import HubSpotFake
from tests.fakes.loopback import loopback_server

APP_SECRET = "app-client-secret-for-tests"


@pytest.fixture(scope="session")
def hubspot_server():
    with loopback_server() as server:
        yield server


@pytest.fixture
def hubspot(hubspot_server):
    """A fresh fake portal: a generous rate limit unless a test sets its own."""
    hubspot_server.clear_all_handlers()
    hubspot_server.clear_log()
    fake = HubSpotFake(hubspot_server, token=f"pat-na1-{uuid.uuid4()}", rate_limit=1000, interval_ms=10_000)
    yield fake.install()
    hubspot_server.clear_all_handlers()


@pytest.fixture
def system(org):
    return Tenant(organization=org, role=Role.ADMIN)


@pytest.fixture
def connection(org, hubspot, system):
    with tenant_scope(org):
        return connection_update(
            tenant=system,
            source=Source.HUBSPOT,
            api_key=hubspot.token,
            webhook_secret=APP_SECRET,
            api_base_url=hubspot.base_url,
            enabled=True,
        )


@pytest.fixture
def run_sync(org, connection):
    """Runs one sync the way the Celery task does (the foundation's sync_execute, under the lock); returns the run."""
    from integrations.services import sync_execute

    def run(kind: str = SyncKind.FULL) -> SyncRun:
        with tenant_scope(org):
            new_run = SyncRun.objects.create(organization=org, source=Source.HUBSPOT, kind=kind)
            return sync_execute(organization=org, run=new_run)

    return run
