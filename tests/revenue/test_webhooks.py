"""POST /webhooks/stripe/<organization>/: replays signed with the SDK's own helper (stripe.WebhookSignature.
generate_signature_header), tampered, wrongly signed, stale, duplicated and out of order."""

import json
import time
from decimal import Decimal

import pytest
import stripe
from django.test import Client

from core.tenancy import tenant_scope
from integrations.models import WebhookEvent, WebhookStatus
from revenue.models import RevenueMovement, StripeInvoice, StripeSubscription, StripeSubscriptionItem
from tests.factories import AccountFactory, OrganizationFactory
from tests.revenue.conftest import STANDIN_API_KEY, WEBHOOK_SECRET, connect_stripe

pytestmark = pytest.mark.django_db


def subscription_event(*, quantity=2, created=None, event_id=None, subscription_id="sub_hook1", status="active"):
    created = created or int(time.time())
    return {
        "id": event_id or f"evt_{subscription_id}_{quantity}_{created}",
        "object": "event",
        "type": "customer.subscription.updated",
        "created": created,
        "api_version": "2026-10-28.endive",
        "data": {
            "object": {
                "id": subscription_id,
                "object": "subscription",
                "customer": "cus_hook",
                "status": status,
                "currency": "usd",
                "cancel_at_period_end": False,
                "discounts": [],
                "start_date": created - 86400,
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": "si_hook1",
                            "object": "subscription_item",
                            "quantity": quantity,
                            "current_period_start": created - 86400,
                            "current_period_end": created + 29 * 86400,
                            "price": {
                                "id": "price_hook",
                                "object": "price",
                                "currency": "usd",
                                "unit_amount": 1500,
                                "product": "prod_hook",
                                "recurring": {"interval": "month", "interval_count": 1},
                            },
                        }
                    ],
                },
            }
        },
    }


def customer_event(*, email="billing@hook.example", created=None):
    created = created or int(time.time())
    return {
        "id": f"evt_customer_{created}",
        "object": "event",
        "type": "customer.created",
        "created": created,
        "data": {"object": {"id": "cus_hook", "object": "customer", "email": email, "created": created}},
    }


def signed(event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> tuple[str, str]:
    body = json.dumps(event)
    return body, stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    def post(organization, body: str, signature: str | None):
        headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
        with django_capture_on_commit_callbacks(execute=True):
            return Client().post(
                f"/webhooks/stripe/{organization.slug}/", data=body, content_type="application/json", **headers
            )

    return post


@pytest.fixture
def connected(org, standin):
    connect_stripe(org, url=standin.url, api_key=STANDIN_API_KEY)
    return standin


def test_a_valid_delivery_is_recorded_answered_and_applied(org, connected, deliver):
    account = AccountFactory(organization=org, domain="hook.example")
    deliver(org, *signed(customer_event()))
    response = deliver(org, *signed(subscription_event(quantity=2)))
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    with tenant_scope(org):
        recorded = WebhookEvent.objects.get(event_type="customer.subscription.updated")
        assert (recorded.status, recorded.attempts) == (WebhookStatus.PROCESSED, 1)
        subscription = StripeSubscription.objects.get(stripe_id="sub_hook1")
        assert subscription.account == account
        account.refresh_from_db()
        assert account.mrr == Decimal("30.00")
        assert RevenueMovement.objects.get().reason == recorded.event_id


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (
            lambda body, header: (body.replace('"quantity": 2', '"quantity": 200'), header),
            "No signatures found matching",
        ),
        (
            lambda body, header: (body, stripe.WebhookSignature.generate_signature_header(body, "whsec_wrong")),
            "matching",
        ),
        (
            lambda body, header: (
                body,
                stripe.WebhookSignature.generate_signature_header(
                    body, WEBHOOK_SECRET, timestamp=int(time.time()) - 600
                ),
            ),
            "tolerance",
        ),
        (lambda body, header: (body, None), "No Stripe-Signature header"),
        (lambda body, header: (body, "garbage"), "Unable to extract"),
    ],
    ids=["tampered-body", "wrong-secret", "stale-timestamp", "no-header", "unreadable-header"],
)
def test_a_bad_signature_is_refused_with_400_and_recorded_as_rejected(org, connected, deliver, mangle, reason):
    body, header = mangle(*signed(subscription_event()))
    response = deliver(org, body, header)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    with tenant_scope(org):
        rejected = WebhookEvent.objects.get()
        assert rejected.status == WebhookStatus.REJECTED
        assert reason in rejected.rejection_reason
        assert rejected.event_id == ""
        assert rejected.raw_body == body
        assert not StripeSubscription.objects.exists()


def test_a_duplicate_delivery_does_nothing(org, connected, deliver):
    body, header = signed(subscription_event(quantity=3))
    assert deliver(org, body, header).json()["duplicate"] is False
    second = deliver(org, body, header)
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    with tenant_scope(org):
        assert WebhookEvent.objects.get().attempts == 1
        assert StripeSubscription.objects.count() == 1


def test_an_older_event_arriving_late_never_rolls_back(org, connected, deliver):
    now = int(time.time())
    deliver(org, *signed(subscription_event(quantity=5, created=now)))
    deliver(org, *signed(subscription_event(quantity=2, created=now - 60)))
    with tenant_scope(org):
        assert StripeSubscriptionItem.objects.get().quantity == 5
        late = WebhookEvent.objects.get(payload__data__object__items__data__0__quantity=2)
        assert (late.status, late.error) == (WebhookStatus.IGNORED, "stale")
    # A newer one still applies.
    deliver(org, *signed(subscription_event(quantity=7, created=now + 1)))
    with tenant_scope(org):
        assert StripeSubscriptionItem.objects.get().quantity == 7


def test_two_events_in_the_same_second_make_us_ask_stripe(org, connected, deliver):
    now = int(time.time())
    customer = connected.add_customer(id="cus_hook", email="a@hook.example")
    price = connected.add_price(unit_amount=1500, price_id="price_hook")
    truth = connected.add_subscription(customer=customer, items=[(price, 9)], emit=None)
    deliver(org, *signed(subscription_event(quantity=4, created=now, subscription_id=truth["id"])))
    deliver(org, *signed(subscription_event(quantity=3, created=now, subscription_id=truth["id"])))
    assert len(connected.sent("GET", rf"/v1/subscriptions/{truth['id']}")) == 1
    with tenant_scope(org):
        assert StripeSubscriptionItem.objects.get().quantity == 9  # what Stripe holds now, not either snapshot


def test_the_webhook_of_one_organization_cannot_write_into_another(org, connected, deliver):
    other = OrganizationFactory(slug="helios")
    connect_stripe(other, url=connected.url, api_key=STANDIN_API_KEY, webhook_secret="whsec_helios_secret")
    body, header = signed(subscription_event(), secret=WEBHOOK_SECRET)  # signed for org, posted to other
    assert deliver(other, body, header).status_code == 400
    assert deliver(org, body, header).status_code == 200
    with tenant_scope(other):
        assert not StripeSubscription.objects.exists()
        assert WebhookEvent.objects.get().status == WebhookStatus.REJECTED
    with tenant_scope(org):
        assert StripeSubscription.objects.count() == 1


def test_an_unknown_organization_is_404_and_get_is_not_allowed(org, deliver):
    body, _ = signed(subscription_event())
    response = Client().post("/webhooks/stripe/nope/", data=body, content_type="application/json")
    assert response.status_code == 404
    assert Client().get(f"/webhooks/stripe/{org.slug}/").status_code == 405


def test_without_a_stored_secret_every_delivery_is_refused(org, standin, deliver):
    connect_stripe(org, url=standin.url, api_key=STANDIN_API_KEY, webhook_secret="")
    response = deliver(org, *signed(subscription_event()))
    assert response.status_code == 400
    assert "secret" in response.json()["error"]


def test_a_deleted_subscription_event_records_the_churn_and_invoice_events_keep_payment_status(org, connected, deliver):
    account = AccountFactory(organization=org, domain="hook.example")
    now = int(time.time())
    deliver(org, *signed(customer_event(created=now - 10)))
    deliver(org, *signed(subscription_event(quantity=2, created=now - 5)))
    deleted = subscription_event(quantity=2, created=now, status="canceled")
    deleted["type"] = "customer.subscription.deleted"
    deleted["data"]["object"]["ended_at"] = now
    deliver(org, *signed(deleted))
    failed = {
        "id": "evt_invoice_failed",
        "object": "event",
        "type": "invoice.payment_failed",
        "created": now,
        "data": {
            "object": {
                "id": "in_hook",
                "object": "invoice",
                "customer": "cus_hook",
                "status": "open",
                "currency": "usd",
                "amount_due": 3000,
                "amount_paid": 0,
                "amount_remaining": 3000,
                "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_hook1"}},
            }
        },
    }
    deliver(org, *signed(failed))
    with tenant_scope(org):
        account.refresh_from_db()
        assert account.mrr == Decimal("0.00")
        assert list(RevenueMovement.objects.values_list("kind", flat=True)) == ["new", "churn"]
        invoice = StripeInvoice.objects.get(stripe_id="in_hook")
        assert (invoice.status, invoice.amount_remaining, invoice.subscription_stripe_id) == ("open", 3000, "sub_hook1")
        assert invoice.account == account
