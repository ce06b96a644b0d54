"""Demo health for seed_demo: the default and Trial models, some CSM sentiment, four weeks of daily scores
computed from the other seeds' data as it stood each day (so the trend chart and "what changed" have content),
and one override with its reason."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import Account, AccountStatus
from core.models import Organization, Role
from core.tenancy import Tenant
from health.models import CsmSentiment, HealthScore
from health.services import health_compute, health_models_ensure, health_override_set

HISTORY_DAYS = 28
SENTIMENT_COMMENTS = {
    1: "Champion left; the new lead is evaluating alternatives.",
    2: "Frustrated by the outage last month.",
    3: "Fine, nothing special either way.",
    4: "Happy with the roll-out pace.",
    5: "Asked to be a reference customer.",
}


def seed_health(*, organization: Organization, members: dict, rng, now=None) -> None:
    """Runs once per organization: one that has scores already is left as it is."""
    if HealthScore.objects.exists():
        return
    now = now or timezone.now()
    csm = members[Role.CSM]
    tenant = Tenant(organization=organization, role=Role.CSM, user=csm)
    health_models_ensure(organization=organization)
    accounts = list(Account.objects.filter(status=AccountStatus.ACTIVE).order_by("pk"))
    sentiments = []
    for account in accounts:
        if rng.random() < 0.4:
            value = rng.choice((1, 2, 3, 3, 4, 4, 4, 5))
            sentiments.append(
                CsmSentiment(
                    organization=organization, account=account, sentiment=value, comment=SENTIMENT_COMMENTS[value],
                    recorded_by=csm, recorded_at=now - timedelta(days=rng.randint(HISTORY_DAYS + 1, 60)),
                )
            )  # fmt: skip
    CsmSentiment.objects.bulk_create(sentiments)
    for days_ago in range(HISTORY_DAYS - 1, -1, -1):
        health_compute(organization=organization, now=now - timedelta(days=days_ago))
    # The override goes on an account whose score has most of its inputs, so its card shows the fullest picture.
    latest = list(HealthScore.objects.filter(day=timezone.localdate(now)).order_by("account_id"))
    fewest = min((len(row.missing) for row in latest), default=0)
    scored = [row.account_id for row in latest if len(row.missing) == fewest]
    if scored:
        chosen = rng.choice(scored)
        account = next(account for account in accounts if account.pk == chosen)
        health_override_set(
            tenant=tenant, account=account, score=35, now=now,
            reason="Renewal call went badly: the budget holder wants to cut seats. Usage does not show it yet.",
            expires_on=timezone.localdate(now) + timedelta(days=30),
        )  # fmt: skip
