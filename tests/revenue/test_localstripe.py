"""The Stripe sync against localstripe (a stateful fake Stripe, a subprocess on 127.0.0.1): customers,
subscriptions, invoices, cancel now and at period end, the Events API, and real signed webhook deliveries into a
live test server. localstripe serves older object shapes (plans, periods on the subscription); the reader accepts
both (see tests/fakes/stripe_standin.py for today's)."""

import threading
from decimal import Decimal

import pytest
import stripe
from django.core.signals import request_finished

from core.models import Role
from core.tenancy import Tenant, tenant_scope
from integrations.models import Connection, Source, SyncKind, SyncStatus, WebhookEvent, WebhookStatus
from integrations.services import sync_request
from revenue import services
from revenue.models import (
    MovementKind,
    RevenueMovement,
    StripeActionStatus,
    StripeCustomer,
    StripeInvoice,
    StripeSubscription,
)
from tests.factories import AccountFactory, MembershipFactory, OrganizationFactory
from tests.revenue.conftest import WEBHOOK_SECRET, connect_stripe


def _client(localstripe) -> stripe.StripeClient:
    return stripe.StripeClient(localstripe.api_key, base_addresses={"api": localstripe.url}, max_network_retries=0)


def _paying_customer(client: stripe.StripeClient, *, email: str, plan_id: str, quantity: int) -> tuple[dict, dict]:
    customer = client.v1.customers.create(params={"email": email, "name": email.split("@")[1]})
    card = client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}}
    )
    client.v1.payment_methods.attach(card.id, params={"customer": customer.id})
    client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": card.id}})
    subscription = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"plan": plan_id, "quantity": quantity}]}
    )
    return customer, subscription


def _plan(client: stripe.StripeClient, plan_id: str = "team-monthly", amount: int = 1000) -> None:
    product = client.v1.products.create(params={"name": "Team"})
    client.v1.plans.create(
        params={"id": plan_id, "product": product.id, "amount": amount, "currency": "usd", "interval": "month"}
    )


def _run(org, kind, capture):
    with tenant_scope(org), capture(execute=True):
        run, _ = sync_request(organization=org, source=Source.STRIPE, kind=kind)
    with tenant_scope(org):
        run.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED, run.error
    return run


@pytest.mark.django_db
def test_reconcile_cancel_and_events_against_localstripe(org, localstripe, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    account = AccountFactory(organization=org, name="Acme", domain="acme.example")
    client = _client(localstripe)
    _plan(client)
    _, subscription = _paying_customer(client, email="billing@acme.example", plan_id="team-monthly", quantity=3)
    connect_stripe(org, url=localstripe.url, api_key=localstripe.api_key)

    run = _run(org, SyncKind.FULL, capture)
    assert run.summary["customers"]["created"] == 1
    assert run.summary["subscriptions"]["created"] == 1
    tenant = Tenant(organization=org, role=Role.ADMIN, user=MembershipFactory(organization=org, role=Role.ADMIN).user)
    with tenant_scope(org):
        assert StripeCustomer.objects.get().account == account
        stored = StripeSubscription.objects.get(stripe_id=subscription.id)
        item = stored.items.get()
        assert (item.price_stripe_id, item.quantity, item.unit_amount, item.interval) == (
            "team-monthly",
            3,
            1000,
            "month",
        )
        assert item.current_period_end is not None  # from the subscription: localstripe's (pre-basil) shape
        invoice = StripeInvoice.objects.get()
        assert (invoice.status, invoice.amount_paid, invoice.subscription_stripe_id) == ("paid", 3000, subscription.id)
        account.refresh_from_db()
        assert account.mrr == Decimal("30.00")
        assert account.arr == Decimal("360.00")

        at_end = services.subscription_cancel(tenant=tenant, subscription=stored, at_period_end=True)
        assert at_end.status == StripeActionStatus.SUCCEEDED, at_end.error
        assert client.v1.subscriptions.retrieve(subscription.id).cancel_at_period_end is True

        now = services.subscription_cancel(tenant=tenant, subscription=stored, at_period_end=False)
        assert now.status == StripeActionStatus.SUCCEEDED, now.error
        assert client.v1.subscriptions.retrieve(subscription.id).status == "canceled"
        account.refresh_from_db()
        assert account.mrr == Decimal("0.00")
        assert RevenueMovement.objects.latest("id").kind == MovementKind.CHURN

    # Incremental: a new customer and subscription, read from the Events API (watermark minus the overlap).
    with tenant_scope(org):
        assert Connection.objects.get(source=Source.STRIPE).events_watermark is not None
    second = AccountFactory(organization=org, name="Globex", domain="globex.example")
    _paying_customer(client, email="ap@globex.example", plan_id="team-monthly", quantity=2)
    run = _run(org, SyncKind.INCREMENTAL, capture)
    assert run.summary["events"] > 0
    assert run.summary.get("applied", 0) >= 2
    with tenant_scope(org):
        second.refresh_from_db()
        assert second.mrr == Decimal("20.00")
        # Every event read is recorded once; a second pass over the same window applies nothing twice.
        recorded = WebhookEvent.objects.count()
    again = _run(org, SyncKind.INCREMENTAL, capture)
    assert again.summary.get("applied", 0) == 0
    with tenant_scope(org):
        assert WebhookEvent.objects.count() == recorded
        assert RevenueMovement.objects.filter(account=second).count() == 1


@pytest.mark.django_db(transaction=True)
def test_localstripe_delivers_signed_webhooks_into_the_live_server(live_server, localstripe_own):
    """localstripe posts each event, signed (t=…,v1=HMAC-SHA256), to every endpoint configured on it. The live
    server shares the test's in-memory SQLite connection, so the test touches the database only once the expected
    deliveries have finished (Django's request_finished), and each endpoint follows one event type (deliveries of
    one event go out one after another)."""
    localstripe = localstripe_own
    org = OrganizationFactory(slug="acme-live")
    other = OrganizationFactory(slug="other-live")
    account = AccountFactory(organization=org, name="Initech", domain="initech.example")
    connect_stripe(org, url=localstripe.url, api_key=localstripe.api_key)
    connect_stripe(other, url=localstripe.url, api_key=localstripe.api_key, webhook_secret="whsec_other_secret")
    followed = ["customer.subscription.created"]
    localstripe.configure_webhook(
        name="org", url=f"{live_server.url}/webhooks/stripe/{org.slug}/", secret=WEBHOOK_SECRET, events=followed
    )
    # The other organization's endpoint gets the same delivery, signed with org's secret: refused there.
    localstripe.configure_webhook(
        name="other", url=f"{live_server.url}/webhooks/stripe/{other.slug}/", secret=WEBHOOK_SECRET, events=followed
    )
    finished = threading.Semaphore(0)

    def count(**kwargs):
        finished.release()

    request_finished.connect(count, weak=False)
    try:
        client = _client(localstripe)
        _plan(client, plan_id="pro-monthly", amount=4900)
        _, subscription = _paying_customer(client, email="it@initech.example", plan_id="pro-monthly", quantity=1)
        assert finished.acquire(timeout=20), "localstripe delivered nothing to the live server"
        assert finished.acquire(timeout=20), "localstripe delivered to one endpoint only"
    finally:
        request_finished.disconnect(count)
    with tenant_scope(org):
        delivered = WebhookEvent.objects.get()
        assert (delivered.event_type, delivered.status) == ("customer.subscription.created", WebhookStatus.PROCESSED)
        stored = StripeSubscription.objects.get(stripe_id=subscription.id)
        assert stored.account == account  # its customer was fetched from localstripe by the task
        account.refresh_from_db()
        assert account.mrr == Decimal("49.00")
        assert RevenueMovement.objects.get().reason == delivered.event_id
    with tenant_scope(other):
        assert not StripeSubscription.objects.exists()
        assert WebhookEvent.objects.get().status == WebhookStatus.REJECTED
