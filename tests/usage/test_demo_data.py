"""The demo's product usage: 90 days of metrics and feature events through the ingest, quickly, once."""

import random
import time

from core.models import Role
from core.tenancy import tenant_scope
from tests.factories import AccountFactory, MembershipFactory
from usage.demo_data import DAYS, seed_usage
from usage.models import DailyUsage, FeatureAdoption, FeatureEvent


def test_the_demo_reports_90_days_and_feature_events_for_most_accounts_once(org):
    members = {Role.CSM: MembershipFactory(organization=org, role=Role.CSM).user}
    accounts = [AccountFactory(organization=org) for _ in range(60)]
    AccountFactory(organization=org, status="churned")
    with tenant_scope(org):
        started = time.monotonic()
        seed_usage(organization=org, members=members, rng=random.Random(7))
        elapsed = time.monotonic() - started
        reporting = set(DailyUsage.objects.values_list("account_id", flat=True).distinct())
        assert 40 <= len(reporting) < len(accounts)  # a few are not connected: their card shows the empty state
        assert reporting <= {account.pk for account in accounts}
        assert DailyUsage.objects.count() == DAYS * len(reporting)
        assert FeatureEvent.objects.count() > len(reporting)
        adopted = set(FeatureAdoption.objects.values_list("account_id", flat=True))
        assert adopted == reporting
        counts = (DailyUsage.objects.count(), FeatureEvent.objects.count())
        seed_usage(organization=org, members=members, rng=random.Random(8))
        assert (DailyUsage.objects.count(), FeatureEvent.objects.count()) == counts
    assert elapsed < 10
