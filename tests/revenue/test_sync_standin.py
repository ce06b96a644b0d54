"""The Stripe sync and actions against the stand-in (tests/fakes/stripe_standin.py): today's object shapes (prices,
item-level periods, discounts), what the SDK sends (bodies and Idempotency-Key), retries."""

from decimal import Decimal

import pytest
import stripe

from accounts.models import CohortChange
from core.errors import ApplicationError
from core.models import AuditEntry, Role
from core.tenancy import Tenant, tenant_scope
from integrations.models import Source, SyncKind, SyncStatus
from integrations.services import sync_request
from revenue import services
from revenue.models import (
    MovementKind,
    PlanCohort,
    RevenueMovement,
    StripeActionStatus,
    StripeCustomer,
    StripeCustomerLink,
    StripeInvoice,
    StripePrice,
    StripeSubscription,
)
from revenue.tasks import stripe_subscription_cancel
from tests.factories import AccountFactory, MembershipFactory
from tests.revenue.conftest import STANDIN_API_KEY, connect_stripe

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected(org, standin):
    connect_stripe(org, url=standin.url, api_key=STANDIN_API_KEY)
    return standin


@pytest.fixture
def admin_tenant(org):
    return Tenant(organization=org, role=Role.ADMIN, user=MembershipFactory(organization=org, role=Role.ADMIN).user)


@pytest.fixture
def reconcile(django_capture_on_commit_callbacks):
    """A full run requested as the schedule or the settings page does; the task runs (eagerly) on commit."""

    def run_it(org):
        with tenant_scope(org), django_capture_on_commit_callbacks(execute=True):
            run, _ = sync_request(organization=org, source=Source.STRIPE, kind=SyncKind.FULL)
        with tenant_scope(org):
            run.refresh_from_db()
        return run

    return run_it


def test_full_reconcile_imports_todays_shapes_links_accounts_and_fills_the_ledger(org, connected, reconcile):
    by_id = AccountFactory(organization=org, name="Stored", domain="stored.example", stripe_customer_id="cus_stored")
    by_meta = AccountFactory(organization=org, name="Meta", domain="meta.example")
    by_domain = AccountFactory(organization=org, name="Domain", domain="acme.example", cohort="trial")
    monthly = connected.add_price(unit_amount=2500, product="prod_team")
    yearly = connected.add_price(unit_amount=120000, interval="year", product="prod_enterprise")
    c1 = connected.add_customer(id="cus_stored", email="billing@elsewhere.example")
    c2 = connected.add_customer(email="x@gmail.example", metadata={"account_id": str(by_meta.pk)})
    c3 = connected.add_customer(email="ops@acme.example", name="Acme Ops")
    connected.add_customer(email="who@nowhere.example", name="Nobody Inc")
    twenty_off = connected.add_coupon(percent_off=20)
    s1 = connected.add_subscription(customer=c1, items=[(monthly, 4)])  # 4 x $25 = $100
    connected.add_subscription(customer=c2, items=[(yearly, 1)], coupon=twenty_off)  # $100 - 20% = $80
    connected.add_subscription(customer=c3, items=[(monthly, 1)], status="trialing")  # no MRR
    connected.add_invoice(customer=c1, subscription=s1, amount=10000, status="paid")

    run = reconcile(org)

    assert run.status == SyncStatus.SUCCEEDED, run.error
    assert run.summary["customers"]["created"] == 4
    assert run.summary["subscriptions"]["created"] == 3
    assert run.summary["invoices"]["created"] == 1
    assert run.summary["review_queue"] == 1
    with tenant_scope(org):
        links = dict(StripeCustomer.objects.values_list("stripe_id", "linked_by"))
        assert links["cus_stored"] == StripeCustomerLink.STORED_ID
        assert links[c2["id"]] == StripeCustomerLink.METADATA
        assert links[c3["id"]] == StripeCustomerLink.EMAIL_DOMAIN
        unmatched = StripeCustomer.objects.get(name="Nobody Inc")
        assert unmatched.account is None
        assert unmatched.last_synced_at is not None
        subscription = StripeSubscription.objects.get(stripe_id=s1["id"])
        item = subscription.items.get()
        # Item-level periods (API 2025-03-31 "basil") and the price carried by the item.
        assert item.current_period_start is not None
        assert item.price_stripe_id == monthly["id"]
        assert (item.unit_amount, item.quantity, item.interval) == (2500, 4, "month")
        assert StripePrice.objects.filter(stripe_id=yearly["id"], interval="year").exists()
        discounted = StripeSubscription.objects.get(customer_stripe_id=c2["id"])
        assert discounted.discount_percent_off == Decimal("20")
        assert StripeInvoice.objects.get().account == by_id
        # A trial carries no MRR, so the ledger has nothing to say yet and the hand-entered figure stays.
        for account, expected in ((by_id, "100.00"), (by_meta, "80.00"), (by_domain, "1000.00")):
            account.refresh_from_db()
            assert account.mrr == Decimal(expected)
        assert by_id.arr == Decimal("1200.00")
        kinds = list(
            RevenueMovement.objects.order_by("account__name").values_list("account__name", "kind", "mrr_after")
        )
        assert kinds == [("Meta", "new", Decimal("80.00")), ("Stored", "new", Decimal("100.00"))]
        assert AuditEntry.objects.filter(action="account.updated", object_id=by_id.pk).exists()
    # The discount came as an id in the list; the subscription was fetched again, expanded.
    refetches = connected.sent("GET", rf"/v1/subscriptions/{discounted.stripe_id}")
    assert refetches
    assert refetches[0].query["expand[0]"] == "discounts.source.coupon"
    assert all(r.headers["Authorization"] == f"Bearer {STANDIN_API_KEY}" for r in connected.requests)


def test_a_second_reconcile_changes_nothing_and_a_later_one_repairs_what_a_lost_webhook_missed(
    org, connected, reconcile
):
    account = AccountFactory(organization=org, domain="acme.example")
    price = connected.add_price(unit_amount=1000)
    customer = connected.add_customer(email="a@acme.example")
    subscription = connected.add_subscription(customer=customer, items=[(price, 5)])
    assert reconcile(org).status == SyncStatus.SUCCEEDED

    again = reconcile(org)
    assert again.summary["subscriptions"] == {"created": 0, "updated": 0, "unchanged": 1, "stale": 0}
    assert again.summary["ledger_movements"] == 0
    assert again.summary["repaired"] == []

    # The customer added seats; the webhook never reached us.
    subscription["items"]["data"][0]["quantity"] = 8
    repaired = reconcile(org)
    assert repaired.summary["subscriptions"]["updated"] == 1
    assert repaired.summary["repaired"] == [subscription["id"]]
    with tenant_scope(org):
        account.refresh_from_db()
        assert account.mrr == Decimal("80.00")
        assert list(RevenueMovement.objects.values_list("kind", flat=True)) == [
            MovementKind.NEW,
            MovementKind.EXPANSION,
        ]


def test_the_plan_cohort_map_moves_accounts_through_account_services(org, connected, admin_tenant, reconcile):
    account = AccountFactory(organization=org, domain="acme.example", cohort="starter")
    price = connected.add_price(unit_amount=50000, product="prod_enterprise")
    customer = connected.add_customer(email="a@acme.example")
    connected.add_subscription(customer=customer, items=[(price, 1)])
    reconcile(org)
    with tenant_scope(org):
        services.plan_cohort_set(tenant=admin_tenant, stripe_id="prod_enterprise", cohort="enterprise")
        account.refresh_from_db()
        assert account.cohort == "enterprise"
        change = CohortChange.objects.filter(account=account).latest("changed_at")
        assert (change.from_cohort, change.to_cohort) == ("starter", "enterprise")
        assert PlanCohort.objects.get().cohort == "enterprise"
        with pytest.raises(Exception, match="price id"):
            services.plan_cohort_set(tenant=admin_tenant, stripe_id="enterprise", cohort="enterprise")


def _imported(org, standin, reconcile, *, status="active"):
    account = AccountFactory(organization=org, domain="acme.example")
    price = standin.add_price(unit_amount=1000)
    customer = standin.add_customer(email="a@acme.example")
    subscription = standin.add_subscription(customer=customer, items=[(price, 3)], status=status)
    invoice = standin.add_invoice(customer=customer, subscription=subscription, amount=3000, status="open")
    reconcile(org)
    with tenant_scope(org):
        return account, StripeSubscription.objects.get(stripe_id=subscription["id"]), invoice


def test_cancel_at_period_end_sends_the_flag_under_a_key_named_after_the_action(
    org, connected, admin_tenant, reconcile
):
    account, subscription, _ = _imported(org, connected, reconcile)
    with tenant_scope(org):
        action = services.subscription_cancel(tenant=admin_tenant, subscription=subscription, at_period_end=True)
        assert action.status == StripeActionStatus.SUCCEEDED
        subscription.refresh_from_db()
        assert subscription.cancel_at_period_end
        assert subscription.status == "active"
        account.refresh_from_db()
        assert account.mrr == Decimal("30.00")  # still paying until the period ends
    [sent] = connected.sent("POST", rf"/v1/subscriptions/{subscription.stripe_id}")
    assert sent.form == {"cancel_at_period_end": "true"}
    assert sent.idempotency_key == f"cs-platform:{org.pk}:subscription_cancel:{subscription.stripe_id}:period_end"
    assert action.response["cancel_at_period_end"] is True


def test_cancel_now_after_a_failure_retries_with_the_same_key_and_records_the_churn(
    org, connected, admin_tenant, reconcile
):
    account, subscription, _ = _imported(org, connected, reconcile)
    connected.fail_next(rf"/v1/subscriptions/{subscription.stripe_id}$", status=500)
    with tenant_scope(org):
        with pytest.raises(stripe.APIError):
            services.subscription_cancel(tenant=admin_tenant, subscription=subscription, at_period_end=False)
        action = services.subscription_cancel(tenant=admin_tenant, subscription=subscription, at_period_end=False)
        assert (action.status, action.attempts) == (StripeActionStatus.SUCCEEDED, 2)
        account.refresh_from_db()
        assert account.mrr == Decimal("0.00")
        assert RevenueMovement.objects.latest("id").kind == MovementKind.CHURN
        # Done once: asking again sends nothing more.
        services.subscription_cancel(tenant=admin_tenant, subscription=subscription, at_period_end=False)
    sent = connected.sent("DELETE", rf"/v1/subscriptions/{subscription.stripe_id}")
    assert len(sent) == 2
    assert {r.idempotency_key for r in sent} == {
        f"cs-platform:{org.pk}:subscription_cancel:{subscription.stripe_id}:now"
    }


def test_the_cancel_task_retries_a_rate_limit_with_the_same_key(org, connected, reconcile):
    _, subscription, _ = _imported(org, connected, reconcile)
    connected.fail_next(rf"/v1/subscriptions/{subscription.stripe_id}$", status=429, times=2)
    assert stripe_subscription_cancel.delay(org.pk, subscription.pk, False).get() == StripeActionStatus.SUCCEEDED
    sent = connected.sent("DELETE", rf"/v1/subscriptions/{subscription.stripe_id}")
    assert len(sent) == 3
    assert len({r.idempotency_key for r in sent}) == 1


def test_invoice_send_for_card_update_emails_the_open_invoice_once(org, connected, admin_tenant, reconcile):
    account, _, invoice = _imported(org, connected, reconcile)
    with tenant_scope(org):
        first = services.invoice_send_for_card_update(tenant=admin_tenant, account=account)
        second = services.invoice_send_for_card_update(tenant=admin_tenant, account=account)
        assert first.pk == second.pk
        assert first.status == StripeActionStatus.SUCCEEDED
        assert first.response["id"] == invoice["id"]
        assert (
            AuditEntry.objects.filter(action="stripe.invoice_send_for_card_update", account_id=account.pk).count() == 1
        )
    [sent] = connected.sent("POST", rf"/v1/invoices/{invoice['id']}/send")
    assert sent.idempotency_key.startswith(f"cs-platform:{org.pk}:invoice_send_for_card_update:{invoice['id']}:")
    assert connected.invoices[invoice["id"]]["_sent"] == 1


def test_invoice_send_refuses_without_an_open_invoice(org, connected, admin_tenant, reconcile):
    account = AccountFactory(organization=org)
    with tenant_scope(org), pytest.raises(ApplicationError, match="no open invoice"):
        services.invoice_send_for_card_update(tenant=admin_tenant, account=account)
    assert connected.sent("POST", r"/v1/invoices/.*/send") == []


def test_stripe_refusing_an_action_is_recorded_not_raised(org, connected, admin_tenant, reconcile):
    account, _, invoice = _imported(org, connected, reconcile)
    connected.invoices[invoice["id"]]["status"] = "paid"  # paid in Stripe meanwhile; we still think it is open
    with tenant_scope(org):
        action = services.invoice_send_for_card_update(tenant=admin_tenant, account=account)
    assert action.status == StripeActionStatus.FAILED
    assert "open invoice" in action.error


@pytest.fixture
def incremental(django_capture_on_commit_callbacks):
    def run_it(org):
        with tenant_scope(org), django_capture_on_commit_callbacks(execute=True):
            run, _ = sync_request(organization=org, source=Source.STRIPE, kind=SyncKind.INCREMENTAL)
        with tenant_scope(org):
            run.refresh_from_db()
        return run

    return run_it


def test_incremental_reads_from_the_watermark_minus_five_minutes_and_moves_it(org, connected, incremental):
    from datetime import timedelta

    from django.utils import timezone

    from integrations.models import Connection

    account = AccountFactory(organization=org, domain="acme.example", mrr=Decimal(0), arr=Decimal(0))
    watermark = timezone.now().replace(microsecond=0) - timedelta(minutes=1)
    with tenant_scope(org):
        Connection.objects.filter(source=Source.STRIPE).update(events_watermark=watermark)
    price = connected.add_price(unit_amount=700)
    customer = connected.add_customer(email="a@acme.example")
    connected.emit("customer.created", customer, created=int(watermark.timestamp()) - 120)  # inside the overlap
    connected.add_subscription(customer=customer, items=[(price, 2)])
    run = incremental(org)
    assert run.status == SyncStatus.SUCCEEDED, run.error
    [listing] = connected.sent("GET", r"/v1/events")
    assert int(listing.query["created[gte]"]) == int(watermark.timestamp()) - 300
    assert run.summary["applied"] == 2
    with tenant_scope(org):
        account.refresh_from_db()
        assert account.mrr == Decimal("14.00")
        assert Connection.objects.get(source=Source.STRIPE).events_watermark > watermark
    # Without a watermark (or one older than the 30 days the Events API keeps) a run reads everything instead.
    with tenant_scope(org):
        Connection.objects.filter(source=Source.STRIPE).update(events_watermark=None)
    assert "customers" in incremental(org).summary


def test_zero_decimal_currency_from_stripe_to_the_account(org, connected, reconcile):
    account = AccountFactory(organization=org, domain="tokyo.example", currency="USD")
    price = connected.add_price(unit_amount=120000, currency="jpy", interval="year")  # ¥120,000 a year
    connected.add_subscription(customer=connected.add_customer(email="k@tokyo.example"), items=[(price, 1)])
    reconcile(org)
    with tenant_scope(org):
        account.refresh_from_db()
        assert (account.mrr, account.arr, account.currency) == (Decimal("10000.00"), Decimal("120000.00"), "JPY")
        assert RevenueMovement.objects.get(account=account).currency == "JPY"


def test_the_stripe_tasks_are_safe_to_redeliver():
    from revenue.tasks import stripe_invoice_send_for_card_update, stripe_webhook_apply

    for task in (stripe_webhook_apply, stripe_subscription_cancel, stripe_invoice_send_for_card_update):
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True
        assert task.retry_backoff
        assert task.retry_jitter is True
        assert task.time_limit > task.soft_time_limit > 0
        assert stripe.RateLimitError in task.autoretry_for
        assert stripe.APIConnectionError in task.autoretry_for


def test_the_connection_check_reads_each_kind_of_object(org, connected):
    from integrations.services import connection_test

    with tenant_scope(org):
        checks = connection_test(tenant=Tenant(organization=org, role=Role.ADMIN), source=Source.STRIPE)
    assert [(check.name, check.ok) for check in checks] == [
        ("Read customers", True),
        ("Read subscriptions", True),
        ("Read invoices", True),
        ("Read events", True),
    ]


def test_a_subscription_with_more_items_than_its_payload_shows_is_listed_in_full(org, connected, reconcile):
    account = AccountFactory(organization=org, domain="acme.example")
    prices = [connected.add_price(unit_amount=1000 * (n + 1)) for n in range(3)]
    customer = connected.add_customer(email="a@acme.example")
    subscription = connected.add_subscription(customer=customer, items=[(p, 1) for p in prices], items_page=2)
    reconcile(org)
    [listing] = connected.sent("GET", r"/v1/subscription_items")
    assert listing.query["subscription"] == subscription["id"]
    with tenant_scope(org):
        assert StripeSubscription.objects.get().items.count() == 3
        account.refresh_from_db()
        assert account.mrr == Decimal("60.00")  # 10 + 20 + 30, not the first two only


def test_a_reconcile_that_meets_a_stripe_outage_is_retried_and_finishes(org, connected, reconcile):
    """integrations.tasks.sync_run_execute retries a TransientSyncError; the retry must carry the organization's id
    (core.tasks.TenantTask.retry), and the upserts make the second pass write nothing twice."""
    AccountFactory(organization=org, domain="acme.example")
    price = connected.add_price(unit_amount=1000)
    connected.add_subscription(customer=connected.add_customer(email="a@acme.example"), items=[(price, 1)])
    connected.fail_next(r"^/v1/subscriptions$", status=500)
    run = reconcile(org)
    assert run.status == SyncStatus.SUCCEEDED, run.error
    assert len(connected.sent("GET", r"/v1/subscriptions")) == 2
    with tenant_scope(org):
        assert StripeCustomer.objects.count() == 1
        assert RevenueMovement.objects.count() == 1


def test_a_turned_off_connection_sends_no_action_to_stripe(org, connected, admin_tenant, reconcile):
    from core.errors import ApplicationError
    from integrations.models import Connection

    _, subscription, _ = _imported(org, connected, reconcile)
    with tenant_scope(org):
        Connection.objects.filter(source="stripe").update(enabled=False)
        with pytest.raises(ApplicationError, match="turned off"):
            services.subscription_cancel(tenant=admin_tenant, subscription=subscription, at_period_end=True)
    assert connected.sent("POST", rf"/v1/subscriptions/{subscription.stripe_id}") == []
