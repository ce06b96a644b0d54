"""The demo's Stripe data: customers linked to accounts and a few for the review queue, subscriptions and invoices, a
year of ledger that agrees with them (built by the sync's apply functions and revenue_refresh, back-dated), and the
Stripe connection's history. Seeding twice adds nothing. And the revenue report's empty states."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import Account
from core.models import Organization, Role
from core.tenancy import tenant_scope
from integrations.models import Connection, Source, SyncError, SyncRun, WebhookEvent
from integrations.services import connection_api_key
from revenue.demo_data import seed_revenue
from revenue.ledger import COUNTED_STATUSES, account_mrr
from revenue.models import (
    MovementKind,
    PlanCohort,
    RevenueMovement,
    StripeCustomer,
    StripeInvoice,
    StripePrice,
    StripeSubscription,
    StripeSubscriptionItem,
)
from revenue.selectors import review_queue_count
from revenue.services import revenue_refresh, subscription_terms
from tests.factories import AccountFactory
from tests.revenue.factories import StripeSubscriptionFactory, StripeSubscriptionItemFactory

pytestmark = pytest.mark.django_db

MODELS = (
    StripeCustomer, StripePrice, StripeSubscription, StripeSubscriptionItem, StripeInvoice, RevenueMovement,
    PlanCohort, SyncRun, SyncError, WebhookEvent, Connection,
)  # fmt: skip


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def seeded(db):
    call_command("seed_demo", "--accounts", "60")
    return Organization.objects.get(slug="northwind")


def test_seed_demo_links_customers_leaves_a_few_for_review_and_gives_stripe_a_history(seeded):
    with tenant_scope(seeded):
        linked = StripeCustomer.objects.exclude(account=None)
        assert linked.filter(stripe_id__startswith="cus_demo").count() >= Account.objects.count() // 2
        assert {"email_domain", "metadata"} <= set(linked.values_list("linked_by", flat=True))
        assert review_queue_count() == 5
        statuses = set(StripeSubscription.objects.values_list("status", flat=True))
        assert {"active", "trialing", "canceled", "past_due"} <= statuses
        assert StripeSubscription.objects.filter(items__price_stripe_id__endswith="_yearly").exists()
        assert StripeSubscription.objects.filter(items__price_stripe_id__endswith="_monthly").exists()
        assert StripeSubscriptionItem.objects.filter(quantity__gt=1).exists()
        assert StripeSubscription.objects.exclude(discount_percent_off=None).count() == 1
        assert StripeSubscription.objects.exclude(discount_amount_off=None).count() == 1
        assert StripeInvoice.objects.filter(status="paid").exists()
        assert StripeInvoice.objects.filter(status="open", account__isnull=False).count() >= 1
        assert set(PlanCohort.objects.values_list("cohort", flat=True)) == {"starter", "premium", "enterprise"}
    # The Stripe connection has a history, and never calls out.
    with tenant_scope(seeded):
        connection = Connection.objects.get(source=Source.STRIPE)
        assert connection.enabled is False
        assert connection.api_base_url == ""
        assert connection_api_key(connection).startswith("rk_test_demo")
        runs = {run.status: run for run in SyncRun.objects.filter(source=Source.STRIPE)}
        assert set(runs) == {"succeeded", "partial", "failed"}
        full = runs["succeeded"]
        assert full.kind == "full"
        assert full.processed == full.created + full.updated + full.unchanged > 0
        assert full.summary["repaired_count"] == 2
        assert full.summary["review_queue"] == 5
        assert SyncError.objects.filter(run=runs["partial"]).count() == 2
        assert runs["failed"].error
        assert all(run.requested_at <= run.started_at <= run.finished_at for run in runs.values())
        events = WebhookEvent.objects.filter(source=Source.STRIPE)
        assert events.filter(status="processed").exists()
        assert events.filter(status="ignored").exists()
        assert events.get(status="rejected").rejection_reason
        # Processed events were applied by the webhook's code: their movements carry the event id.
        processed_ids = set(events.filter(status="processed").values_list("event_id", flat=True))
        assert processed_ids & set(RevenueMovement.objects.values_list("reason", flat=True))


def test_the_ledger_agrees_with_the_subscriptions_and_the_accounts(seeded):
    now = timezone.now()
    with tenant_scope(seeded):
        kinds = set(RevenueMovement.objects.values_list("kind", flat=True))
        assert kinds == set(MovementKind.values)
        assert not RevenueMovement.objects.filter(occurred_at__gt=now).exists()
        months = {m.strftime("%Y-%m") for m in RevenueMovement.objects.values_list("occurred_at", flat=True)}
        assert len(months) >= 6
        year_ago = now - timedelta(days=365)
        assert RevenueMovement.objects.filter(occurred_at__gte=year_ago, kind=MovementKind.EXPANSION).exists()
        ledgered = Account.objects.filter(pk__in=RevenueMovement.objects.values("account_id"))
        assert ledgered.count() > 20
        for account in ledgered:
            last = RevenueMovement.objects.filter(account=account).order_by("occurred_at", "id").last()
            assert last.mrr_after == account.mrr, account.name
            assert account.arr == account.mrr * 12
            # …and the MRR is what the account's subscriptions charge today, by the ledger's own arithmetic.
            counted = StripeSubscription.objects.filter(account=account, status__in=COUNTED_STATUSES)
            assert account_mrr(subscription_terms(s) for s in counted.prefetch_related("items")) == account.mrr
        # The last movement of each account never goes back in time.
        for account_id in ledgered.values_list("pk", flat=True)[:30]:
            times = list(RevenueMovement.objects.filter(account_id=account_id).values_list("occurred_at", flat=True))
            assert times == sorted(times)


def test_the_seeded_pages_show_the_stripe_data_and_seeding_twice_adds_nothing(seeded):
    client = Client()
    client.force_login(get_user_model().objects.get(email="admin@northwind.example"))
    today = timezone.localdate()
    report = client.get("/o/northwind/revenue/", {"start": (today - timedelta(days=365)).isoformat()})
    html = report.content.decode()
    assert 'id="mrr-data"' in html
    assert 'id="retention-data"' in html
    assert 'data-testid="mrr-empty"' not in html
    assert 'data-testid="retention-empty"' not in html
    assert sum(report.context["mrr_chart"]["series"]["Premium"]) > 0
    assert "Kestrel Maritime AS" in client.get("/o/northwind/revenue/review/").content.decode()
    with tenant_scope(seeded):
        past_due = list(StripeSubscription.objects.exclude(account=None).filter(status="past_due"))
    assert len(past_due) == 2
    for subscription in past_due:
        page = client.get(f"/o/northwind/revenue/accounts/{subscription.account_id}/").content.decode()
        assert "past_due" in page
        assert "No open invoice in Stripe" not in page  # its declined invoice can be emailed for a card update
    settings_page = client.get("/o/northwind/settings/integrations/stripe/").content.decode()
    assert "Finished with errors" in settings_page
    assert "No signatures found" in settings_page
    # Seeding again (the command, then the function itself) adds nothing.
    with tenant_scope(seeded):
        before = counts()
        mrr = dict(Account.objects.values_list("pk", "mrr"))
    call_command("seed_demo")
    with tenant_scope(seeded):
        members = {role: get_user_model().objects.get(email=f"{role}@northwind.example") for role in Role.values}
        seed_revenue(organization=seeded, members=members, rng=None)
        assert counts() == before
        assert dict(Account.objects.values_list("pk", "mrr")) == mrr


def test_revenue_refresh_dates_each_account_at_its_own_moment(scope):
    """`at=` lets a replay move many accounts in one call, each movement at its own time."""
    first, second = AccountFactory(organization=scope), AccountFactory(organization=scope)
    for account, quantity in ((first, 2), (second, 3)):
        subscription = StripeSubscriptionFactory(organization=scope, account=account)
        StripeSubscriptionItemFactory(subscription=subscription, quantity=quantity, unit_amount=5_000)
    march, may = datetime(2026, 3, 4, 10, tzinfo=UTC), datetime(2026, 5, 6, 11, tzinfo=UTC)
    movements = revenue_refresh(
        organization=scope, account_ids=[first.pk, second.pk], at={first.pk: march, second.pk: may}
    )
    assert {(m.account_id, m.occurred_at, m.mrr_after) for m in movements} == {
        (first.pk, march, Decimal("100.00")),
        (second.pk, may, Decimal("150.00")),
    }


def test_the_report_shows_empty_states_without_a_ledger(org, client_for):
    html = client_for(Role.VIEWER).get(f"/o/{org.slug}/revenue/").content.decode()
    assert 'data-testid="mrr-empty"' in html
    assert 'data-testid="retention-empty"' in html
    assert "<canvas" not in html
    assert "No MRR to chart yet" in html


def test_the_report_draws_the_charts_when_the_ledger_has_points(org, client_for):
    account = AccountFactory(organization=org)
    with tenant_scope(org):
        subscription = StripeSubscriptionFactory(organization=org, account=account)
        StripeSubscriptionItemFactory(subscription=subscription, quantity=4, unit_amount=2_500)
        revenue_refresh(organization=org, account_ids=[account.pk], occurred_at=timezone.now() - timedelta(days=120))
    response = client_for(Role.VIEWER).get(f"/o/{org.slug}/revenue/")
    html = response.content.decode()
    assert 'data-revenue-chart="mrr"' in html
    assert 'data-revenue-chart="retention"' in html
    assert 'data-testid="mrr-empty"' not in html
    assert 'data-testid="retention-empty"' not in html
    assert response.context["mrr_chart"]["series"]
    assert response.context["retention_chart"]["nrr"] == [100.0]
