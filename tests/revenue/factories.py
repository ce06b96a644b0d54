"""Stripe rows for tests, created through the unscoped manager like tests/factories.py (the test names the org)."""

import factory
from django.utils import timezone

from revenue.models import PlanCohort, StripeCustomer, StripeSubscription, StripeSubscriptionItem
from tests.factories import AccountFactory, TenantFactory


class StripeCustomerFactory(TenantFactory):
    class Meta:
        model = StripeCustomer

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    stripe_id = factory.Sequence(lambda n: f"cus_factory{n:05d}")
    email = factory.Sequence(lambda n: f"billing{n}@customer.example")
    last_synced_at = factory.LazyFunction(timezone.now)


class StripeSubscriptionFactory(TenantFactory):
    class Meta:
        model = StripeSubscription

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    stripe_id = factory.Sequence(lambda n: f"sub_factory{n:05d}")
    customer_stripe_id = factory.Sequence(lambda n: f"cus_factory{n:05d}")
    status = "active"
    currency = "usd"
    start_date = factory.LazyFunction(timezone.now)
    last_synced_at = factory.LazyFunction(timezone.now)


class StripeSubscriptionItemFactory(TenantFactory):
    class Meta:
        model = StripeSubscriptionItem

    subscription = factory.SubFactory(StripeSubscriptionFactory)
    organization = factory.SelfAttribute("subscription.organization")
    stripe_id = factory.Sequence(lambda n: f"si_factory{n:05d}")
    price_stripe_id = "price_factory"
    product_id = "prod_factory"
    currency = "usd"
    unit_amount = 1000
    interval = "month"
    quantity = 1
    last_synced_at = factory.LazyFunction(timezone.now)


def revenue_objects(organization, account):
    """One object of each kind a revenue URL points at, for the outsider test."""
    customer = StripeCustomerFactory(organization=organization, account=None, email="secret@stripe.example")
    subscription = StripeSubscriptionFactory(organization=organization, account=account)
    StripeSubscriptionItemFactory(subscription=subscription, organization=organization)
    mapping = PlanCohort.objects.with_scopes_disabled().create(
        organization=organization, stripe_id="price_secret", cohort="premium"
    )
    return customer, subscription, mapping
