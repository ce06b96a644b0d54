"""Health test data: daily usage as the product reports it, health rows kept inside the account's organization."""

from datetime import date, datetime, time, timedelta

import factory
from django.utils import timezone

from health.models import CsmSentiment, HealthModel
from tests.factories import AccountFactory, TenantFactory
from usage.models import DailyUsage, FeatureAdoption

TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.get_fixed_timezone(0))


def usage_days(account, *, users, instances=2, applications=2, days=35, today=TODAY):
    """`days` daily rows ending today; users/instances may be a function of days ago."""
    rows = []
    for ago in range(days):
        value = users(ago) if callable(users) else users
        count = instances(ago) if callable(instances) else instances
        rows.append(
            DailyUsage(
                organization_id=account.organization_id, account=account, day=today - timedelta(days=ago), users=value,
                instances=count, devices=0, applications=applications, reported_at=NOW,
            )
        )  # fmt: skip
    DailyUsage.objects.with_scopes_disabled().bulk_create(rows)


def features(account, names, *, used=NOW):
    for name in names:
        FeatureAdoption.objects.with_scopes_disabled().create(
            organization_id=account.organization_id, account=account, feature=name, first_used_at=used,
            last_used_at=used, event_count=1, updated_at=used,
        )  # fmt: skip


class HealthModelFactory(TenantFactory):
    class Meta:
        model = HealthModel

    name = "Default"
    cohort = ""
    measures = factory.LazyFunction(
        lambda: [
            {"type": "active_users", "weight": 50, "thresholds": [0, 5, 10]},
            {"type": "feature_adoption", "weight": 30, "thresholds": [0, 2, 4]},
            {"type": "csm_sentiment", "weight": 20, "thresholds": [1, 3, 5]},
        ]
    )


class SentimentFactory(TenantFactory):
    class Meta:
        model = CsmSentiment

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    sentiment = 3
    recorded_at = NOW


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.get_fixed_timezone(0))
