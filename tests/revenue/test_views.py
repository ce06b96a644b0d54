"""The revenue pages: the report (MRR over time, NRR and GRR per cohort), the review queue, the account's Stripe
page with its actions, the plan → cohort settings; and the outsider who must get 404 on every one of them."""

import zoneinfo
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from core.models import Role
from core.tenancy import tenant_scope
from revenue.models import MovementKind, PlanCohort, RevenueMovement, StripeCustomer, StripeCustomerLink
from revenue.selectors import mrr_over_time, retention_by_cohort
from tests.factories import AccountFactory
from tests.revenue.conftest import STANDIN_API_KEY, connect_stripe
from tests.revenue.factories import StripeCustomerFactory, StripeSubscriptionFactory, StripeSubscriptionItemFactory

pytestmark = pytest.mark.django_db


def at(month: int, day: int = 1) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def move(account, when, before, after, kind, cohort="starter"):
    return RevenueMovement.objects.with_scopes_disabled().create(
        organization=account.organization,
        account=account,
        occurred_at=when,
        kind=kind,
        currency="USD",
        mrr_before=Decimal(before),
        mrr_after=Decimal(after),
        cohort=cohort,
    )


@pytest.fixture
def ledger(org):
    """Four accounts through Q2 2026, hand-computed: at 1 April Alpha 100 and Beta 200 (Starter), Gamma 300
    (Premium); in the period Alpha grows to 150, Beta churns, Gamma shrinks to 240 and Delta arrives (500)."""
    alpha, beta, gamma, delta = (
        AccountFactory(organization=org, name=name) for name in ("Alpha", "Beta", "Gamma", "Delta")
    )
    move(alpha, at(1), "0", "100", MovementKind.NEW)
    move(beta, at(2), "0", "200", MovementKind.NEW)
    move(gamma, at(3), "0", "300", MovementKind.NEW, cohort="premium")
    move(alpha, at(4, 10), "100", "150", MovementKind.EXPANSION)
    move(beta, at(5, 3), "200", "0", MovementKind.CHURN)
    move(gamma, at(5, 20), "300", "240", MovementKind.CONTRACTION, cohort="premium")
    move(delta, at(6, 2), "0", "500", MovementKind.NEW, cohort="premium")
    return alpha, beta, gamma, delta


def test_nrr_and_grr_per_cohort_from_the_ledger(scope, ledger):
    report = retention_by_cohort(start=at(4, 1), end=at(7, 1), currency="USD")
    rows = {row.cohort: row for row in report.rows}
    assert (rows["starter"].nrr, rows["starter"].grr) == (Decimal("50.00"), Decimal("33.33"))  # 150/300, 100/300
    assert (rows["premium"].nrr, rows["premium"].grr) == (
        Decimal("80.00"),
        Decimal("80.00"),
    )  # Delta is new, not counted
    assert (report.total.nrr, report.total.grr) == (Decimal("65.00"), Decimal("56.67"))


def test_mrr_over_time_reads_each_month_from_the_ledger(scope, ledger):
    series = mrr_over_time(month_starts=[at(1), at(1, 15), at(4, 2), at(6, 2), at(7)], currency="USD")
    assert series.total == [Decimal(0), Decimal(100), Decimal(600), Decimal(390), Decimal(890)]
    assert series.by_cohort["Premium"] == [0, 0, 300, 240, 740]


def test_the_report_page_shows_the_charts_data_and_the_retention_table(org, client_for, ledger):
    response = client_for(Role.VIEWER).get(f"/o/{org.slug}/revenue/", {"start": "2026-04-01", "end": "2026-06-30"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="mrr-data"' in html
    assert 'id="retention-data"' in html
    assert response.context["report"].total.nrr == Decimal("65.00")
    assert response.context["retention_chart"]["nrr"] == [50.0, 80.0]
    assert response.context["mrr_chart"]["labels"][-1] == "30 Jun 2026"
    assert response.context["mrr_chart"]["series"]["Starter"][-1] == 150.0


def test_the_review_queue_lists_unmatched_customers_with_their_last_sync(org, client_for):
    StripeCustomerFactory(organization=org, account=None, email="lost@nowhere.example", name="Lost Co")
    StripeCustomerFactory(organization=org)  # linked: not in the queue
    response = client_for(Role.CSM).get(f"/o/{org.slug}/revenue/review/")
    assert response.status_code == 200
    assert [c.name for c in response.context["customers"]] == ["Lost Co"]
    assert "Last synced" in response.content.decode()


def test_a_csm_links_a_customer_and_the_account_gets_its_revenue(org, client_for):
    account = AccountFactory(organization=org, stripe_customer_id="", mrr=Decimal(0), arr=Decimal(0))
    customer = StripeCustomerFactory(organization=org, account=None, stripe_id="cus_orphan")
    subscription = StripeSubscriptionFactory(organization=org, account=None, customer_stripe_id="cus_orphan")
    StripeSubscriptionItemFactory(subscription=subscription, organization=org, unit_amount=2000, quantity=2)
    response = client_for(Role.CSM).post(f"/o/{org.slug}/revenue/review/{customer.pk}/", {"account": account.pk})
    assert response.status_code == 302
    with tenant_scope(org):
        customer.refresh_from_db()
        account.refresh_from_db()
        assert (customer.account, customer.linked_by) == (account, StripeCustomerLink.MANUAL)
        assert account.stripe_customer_id == "cus_orphan"
        assert account.mrr == Decimal("40.00")
        assert RevenueMovement.objects.get(account=account).kind == MovementKind.NEW


def test_a_customer_can_become_a_new_account(org, client_for):
    customer = StripeCustomerFactory(organization=org, account=None, name="Fresh Ltd", email="ap@fresh.example")
    client_for(Role.CSM).post(f"/o/{org.slug}/revenue/review/{customer.pk}/", {"create": "1"})
    with tenant_scope(org):
        customer.refresh_from_db()
        assert (customer.account.name, customer.account.domain) == ("Fresh Ltd", "fresh.example")
        assert customer.account.stripe_customer_id == customer.stripe_id


def test_a_viewer_may_look_but_not_link(org, client_for):
    customer = StripeCustomerFactory(organization=org, account=None)
    account = AccountFactory(organization=org)
    viewer = client_for(Role.VIEWER)
    assert viewer.get(f"/o/{org.slug}/revenue/review/{customer.pk}/").status_code == 200
    assert viewer.post(f"/o/{org.slug}/revenue/review/{customer.pk}/", {"account": account.pk}).status_code == 403
    with tenant_scope(org):
        assert StripeCustomer.objects.get(pk=customer.pk).account is None


def test_only_admins_map_plans_to_cohorts(org, client_for):
    assert client_for(Role.CSM).get(f"/o/{org.slug}/settings/revenue/plans/").status_code == 403
    admin = client_for(Role.ADMIN)
    response = admin.post(f"/o/{org.slug}/settings/revenue/plans/", {"stripe_id": "nonsense", "cohort": "premium"})
    assert response.status_code == 200
    assert "price id" in response.content.decode()
    admin.post(f"/o/{org.slug}/settings/revenue/plans/", {"stripe_id": "price_pro", "cohort": "premium"})
    with tenant_scope(org):
        assert PlanCohort.objects.get().stripe_id == "price_pro"


def test_the_account_stripe_page_shows_last_synced_and_cancels_through_stripe(org, client_for, standin):
    connect_stripe(org, url=standin.url, api_key=STANDIN_API_KEY)
    price = standin.add_price(unit_amount=1000)
    remote = standin.add_subscription(customer=standin.add_customer(email="a@b.example"), items=[(price, 1)])
    account = AccountFactory(organization=org)
    subscription = StripeSubscriptionFactory(organization=org, account=account, stripe_id=remote["id"])
    csm = client_for(Role.CSM)
    page = csm.get(f"/o/{org.slug}/revenue/accounts/{account.pk}/")
    assert page.status_code == 200
    # The page shows the organization's local date, which differs from UTC's in the last hours of a UTC day.
    local = timezone.localtime(subscription.last_synced_at, zoneinfo.ZoneInfo(org.timezone))
    assert local.strftime("%-d %b %Y") in page.content.decode()
    response = csm.post(f"/o/{org.slug}/revenue/subscriptions/{subscription.pk}/cancel/", {"when": "period_end"})
    assert response.status_code == 302
    [sent] = standin.sent("POST", rf"/v1/subscriptions/{remote['id']}")
    assert sent.form == {"cancel_at_period_end": "true"}
    assert (
        client_for(Role.VIEWER).post(f"/o/{org.slug}/revenue/subscriptions/{subscription.pk}/cancel/").status_code
        == 403
    )


def test_an_outsider_gets_404_on_every_revenue_page(org, other_org, client_for):
    account = AccountFactory(organization=org)
    customer = StripeCustomerFactory(organization=org, account=None)
    subscription = StripeSubscriptionFactory(organization=org, account=account)
    mapping = PlanCohort.objects.with_scopes_disabled().create(organization=org, stripe_id="price_x", cohort="trial")
    outsider = client_for(Role.ADMIN, organization=other_org)
    own = f"/o/{other_org.slug}"
    # Their own organization's URLs, with our ids: not found.
    for path in (
        f"{own}/revenue/review/{customer.pk}/",
        f"{own}/revenue/accounts/{account.pk}/",
    ):
        assert outsider.get(path).status_code == 404, path
    for path in (
        f"{own}/revenue/review/{customer.pk}/",
        f"{own}/revenue/accounts/{account.pk}/send-invoice/",
        f"{own}/revenue/subscriptions/{subscription.pk}/cancel/",
        f"{own}/settings/revenue/plans/{mapping.pk}/delete/",
    ):
        assert outsider.post(path, {"account": account.pk}).status_code == 404, path
    # Our organization's URLs: not a member, not found.
    for path in ("/revenue/", "/revenue/review/", f"/revenue/accounts/{account.pk}/", "/settings/revenue/plans/"):
        assert outsider.get(f"/o/{org.slug}{path}").status_code == 404, path
    # Nothing they see lists our rows.
    assert list(outsider.get(f"{own}/revenue/review/").context["customers"]) == []
    with tenant_scope(org):
        assert PlanCohort.objects.filter(pk=mapping.pk).exists()
        assert StripeCustomer.objects.get(pk=customer.pk).account is None


def _queries_for(client, path, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_list_pages_run_a_constant_number_of_queries(org, client_for, django_assert_max_num_queries):
    csm = client_for(Role.CSM)
    account = AccountFactory(organization=org)
    StripeCustomerFactory(organization=org, account=None)
    subscription = StripeSubscriptionFactory(organization=org, account=account)
    StripeSubscriptionItemFactory(subscription=subscription, organization=org)
    move(account, at(1), "0", "10", MovementKind.NEW)
    paths = (
        f"/o/{org.slug}/revenue/review/",
        f"/o/{org.slug}/revenue/",
        f"/o/{org.slug}/revenue/accounts/{account.pk}/",
    )
    csm.get(paths[0])  # the first request of a session stores the active organization
    few = [_queries_for(csm, path, django_assert_max_num_queries, 40) for path in paths]
    for index in range(25):
        StripeCustomerFactory(organization=org, account=None)
        other = StripeSubscriptionFactory(organization=org, account=account)
        StripeSubscriptionItemFactory(subscription=other, organization=org)
        move(AccountFactory(organization=org), at(1, 2 + index), "0", "10", MovementKind.NEW)
    many = [_queries_for(csm, path, django_assert_max_num_queries, 40) for path in paths]
    assert many == few
