"""Stripe test servers: localstripe (a subprocess, once per session) and the stand-in (pytest-httpserver), both on
127.0.0.1, and organizations connected to either through the integrations foundation."""

from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer

from core.models import Organization, Role
from core.tenancy import Tenant, tenant_scope
from integrations.models import Connection, Source
from integrations.services import connection_update
from tests.fakes.loopback import loopback_server
from tests.fakes.stripe_local import LocalStripe, localstripe_server
from tests.fakes.stripe_standin import StripeStandIn

WEBHOOK_SECRET = "whsec_test_helper_secret"
STANDIN_API_KEY = "rk_test_standin_restricted"


@pytest.fixture(scope="session")
def localstripe_session() -> LocalStripe:
    with localstripe_server() as server:
        yield server


@pytest.fixture
def localstripe(localstripe_session: LocalStripe) -> LocalStripe:
    """An empty localstripe for each test (its store is flushed before the test)."""
    localstripe_session.flush()
    return localstripe_session


@pytest.fixture
def localstripe_own() -> LocalStripe:
    """A localstripe of this test's own: webhook endpoints stay registered for a process's life, and deliveries of
    an earlier test's events (sent a second after them) must not reach this test's server."""
    with localstripe_server() as server:
        yield server


@pytest.fixture(scope="session")
def stripe_httpserver() -> HTTPServer:
    with loopback_server() as server:
        yield server


@pytest.fixture
def standin(stripe_httpserver: HTTPServer) -> StripeStandIn:
    stripe_httpserver.clear()
    return StripeStandIn().install(stripe_httpserver)


def connect_stripe(
    organization: Organization, *, url: str, api_key: str, webhook_secret: str = WEBHOOK_SECRET
) -> Connection:
    with tenant_scope(organization):
        return connection_update(
            tenant=Tenant(organization=organization, role=Role.ADMIN),
            source=Source.STRIPE,
            api_key=api_key,
            webhook_secret=webhook_secret,
            api_base_url=url,
            enabled=True,
        )


@pytest.fixture
def connect() -> Callable[..., Connection]:
    return connect_stripe
