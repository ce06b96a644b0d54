"""The demo seed: models, four weeks of daily scores from the usage seed's data, sentiment, one override."""

import random

import pytest
from django.utils import timezone

from core.models import Role
from health.demo_data import HISTORY_DAYS, seed_health
from health.models import AccountHealth, HealthModel, HealthScore
from tests.factories import AccountFactory, MembershipFactory
from tests.health.factories import usage_days

pytestmark = pytest.mark.django_db


def test_the_seed_scores_four_weeks_and_leaves_one_override(scope, org):
    csm = MembershipFactory(organization=org, role=Role.CSM).user
    accounts = AccountFactory.create_batch(4, organization=org)
    for account in accounts:
        usage_days(account, users=5, days=60, today=timezone.localdate())
    seed_health(organization=org, members={Role.CSM: csm}, rng=random.Random(4))

    assert set(HealthModel.objects.values_list("cohort", flat=True)) == {"", "trial"}
    assert HealthScore.objects.values("day").distinct().count() == HISTORY_DAYS
    assert AccountHealth.objects.count() == 4
    assert AccountHealth.objects.filter(override_score=35).count() == 1
    seed_health(organization=org, members={Role.CSM: csm}, rng=random.Random(4))  # a second run adds nothing
    assert HealthScore.objects.count() == 4 * HISTORY_DAYS
