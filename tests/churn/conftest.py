"""Real servers on 127.0.0.1 for the churn steps: localstripe (tests/revenue's session fixture), the HubSpot fake,
and a Slack stand-in on pytest-httpserver that records what was posted and can refuse."""

import json
import uuid
from dataclasses import dataclass, field

import pytest
import stripe
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from churn.models import ChurnSettings
from churn.services import churn_settings_get
from core.models import Role
from core.tenancy import Tenant, tenant_scope
from integrations.models import Source, SyncKind, SyncStatus
from integrations.services import connection_update, sync_request
from tests.factories import AccountFactory, ContactFactory, MembershipFactory
from tests.fakes.hubspot_fake import HubSpotFake
from tests.fakes.loopback import loopback_server
from tests.revenue.conftest import connect_stripe, localstripe, localstripe_session  # noqa: F401 (fixtures)


@dataclass
class SlackStandIn:
    """An incoming webhook: 200 "ok" for a JSON body with text, or the status a test sets."""

    server: HTTPServer
    posts: list[str] = field(default_factory=list)
    answer_status: int = 200

    @property
    def url(self) -> str:
        return self.server.url_for("/services/T000/B000/XXXX")

    def handle(self, request: Request) -> Response:
        if self.answer_status != 200:
            return Response("internal_error", status=self.answer_status)
        self.posts.append(json.loads(request.data)["text"])
        return Response("ok", status=200)


@pytest.fixture(scope="session")
def slack_server():
    with loopback_server() as server:
        yield server


@pytest.fixture
def slack(slack_server) -> SlackStandIn:
    slack_server.clear_all_handlers()
    stand_in = SlackStandIn(slack_server)
    slack_server.expect_request("/services/T000/B000/XXXX", method="POST").respond_with_handler(stand_in.handle)
    yield stand_in
    slack_server.clear_all_handlers()


@pytest.fixture
def hubspot_server():
    with loopback_server() as server:
        yield server


@pytest.fixture
def hubspot(hubspot_server) -> HubSpotFake:
    return HubSpotFake(hubspot_server, token=f"pat-na1-{uuid.uuid4()}", rate_limit=1000).install()


@pytest.fixture
def ae(org):
    return MembershipFactory(organization=org, role=Role.AE).user


@pytest.fixture
def ae_tenant(org, ae):
    return Tenant(organization=org, role=Role.AE, user=ae)


@pytest.fixture
def customer(org, ae):
    """An annually billed customer with two contacts."""
    account = AccountFactory(
        organization=org,
        name="Acme Robotics",
        domain="acme.example",
        cohort="premium",
        arr="24000.00",
        mrr="2000.00",
        ae_owner=ae,
    )
    ContactFactory(account=account, email="cto@acme.example", first_name="Ada")
    ContactFactory(account=account, email="ops@acme.example", first_name="Otto")
    return account


def sales_channel(org, url: str) -> None:
    """The sales channel's webhook, set directly: the settings form accepts only Slack's own hosts."""
    with tenant_scope(org):
        churn_settings_get(organization=org)
        ChurnSettings.objects.filter(organization=org).update(sales_slack_webhook_url=url)


def stripe_client(server) -> stripe.StripeClient:
    return stripe.StripeClient(server.api_key, base_addresses={"api": server.url}, max_network_retries=0)


def stripe_subscription_for(org, server, capture, *, email: str = "billing@acme.example") -> str:
    """A paying annual subscription in localstripe, applied to our tables as the sync does; its id."""
    client = stripe_client(server)
    product = client.v1.products.create(params={"name": "Premium"})
    plan_id = f"premium-yearly-{uuid.uuid4().hex[:6]}"
    client.v1.plans.create(
        params={"id": plan_id, "product": product.id, "amount": 2400000, "currency": "usd", "interval": "year"}
    )
    stripe_customer = client.v1.customers.create(params={"email": email, "name": "Acme Robotics"})
    card = client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}}
    )
    client.v1.payment_methods.attach(card.id, params={"customer": stripe_customer.id})
    client.v1.customers.update(stripe_customer.id, params={"invoice_settings": {"default_payment_method": card.id}})
    subscription = client.v1.subscriptions.create(params={"customer": stripe_customer.id, "items": [{"plan": plan_id}]})
    connect_stripe(org, url=server.url, api_key=server.api_key)
    # The Stripe sync itself reads it (a full reconcile), links the customer by its email's domain, fills the ledger.
    with tenant_scope(org), capture(execute=True):
        run, _ = sync_request(organization=org, source=Source.STRIPE, kind=SyncKind.FULL)
    with tenant_scope(org):
        run.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED, run.error
    return subscription.id


def connect_hubspot(org, fake: HubSpotFake) -> None:
    with tenant_scope(org):
        connection_update(
            tenant=Tenant(organization=org, role=Role.ADMIN),
            source=Source.HUBSPOT,
            api_key=fake.token,
            webhook_secret="app-secret",
            api_base_url=fake.base_url,
            enabled=True,
        )
