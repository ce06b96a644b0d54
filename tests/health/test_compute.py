"""Computing scores: what each source feeds in, per-cohort models, versions, history, signals and their events,
the tasks, and a query count that does not grow with the number of accounts."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.events import event_subscribe, event_unsubscribe
from core.models import Role
from core.tenancy import Tenant
from health import services
from health.models import AccountHealth, HealthModel, HealthScore, HealthSignal
from health.selectors import effective_scores
from health.tasks import health_recompute_account, health_recompute_all_organizations
from tests.factories import AccountFactory, NoteFactory
from tests.health.factories import NOW, TODAY, HealthModelFactory, SentimentFactory, at, features, usage_days

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def published():
    events = []
    event_subscribe(events.append)
    yield events
    event_unsubscribe(events.append)


def only_users_model(org, cohort="", thresholds=(0, 5, 10)):
    return HealthModelFactory(
        organization=org, cohort=cohort, name=f"Users {cohort}",
        measures=[{"type": "active_users", "weight": 100, "thresholds": list(thresholds)}],
    )  # fmt: skip


def test_scores_are_stored_with_inputs_contributions_missing_and_model_version(scope, org):
    HealthModelFactory(organization=org)
    account = AccountFactory(organization=org)
    usage_days(account, users=5)
    features(account, ["instance_created", "snapshot_created"])

    result = services.health_compute(organization=org)

    assert result.scored == 1
    score = HealthScore.objects.get(account=account)
    # users 5 → 50 (weight 50 of 80), 2 features → 50 (30 of 80); sentiment has no data and is left out.
    assert score.score == 50
    assert score.inputs == {"active_users": 5.0, "feature_adoption": 2.0}
    assert score.missing == ["csm_sentiment"]
    assert score.contributions["active_users"]["weight"] == pytest.approx(62.5)
    assert score.model_version == 1
    health = AccountHealth.objects.get(account=account)
    assert (health.computed_score, health.band, health.trend_delta) == (50, "watch", None)


def test_an_account_with_no_data_from_any_source_gets_no_score(scope, org):
    HealthModelFactory(organization=org)
    AccountFactory(organization=org)
    assert services.health_compute(organization=org).scored == 0
    assert not AccountHealth.objects.exists()


def test_the_default_models_are_created_the_first_time(scope, org):
    account = AccountFactory(organization=org)
    usage_days(account, users=20)
    services.health_compute(organization=org)
    assert set(HealthModel.objects.values_list("cohort", flat=True)) == {"", "trial"}
    assert HealthScore.objects.get(account=account).health_model.cohort == ""


def test_each_cohort_uses_its_own_model_else_the_default(scope, org):
    only_users_model(org, "", thresholds=(0, 5, 10))
    only_users_model(org, "enterprise", thresholds=(0, 50, 100))
    starter = AccountFactory(organization=org, cohort="starter")
    enterprise = AccountFactory(organization=org, cohort="enterprise")
    usage_days(starter, users=10)
    usage_days(enterprise, users=10)
    services.health_compute(organization=org)
    assert effective_scores(account_ids=[starter.pk, enterprise.pk]) == {starter.pk: 100, enterprise.pk: 10}


def test_a_changed_model_rescores_the_organization_once_committed_and_an_unchanged_one_does_not(
    scope, org, tenant, django_capture_on_commit_callbacks
):
    account = AccountFactory(organization=org)
    usage_days(account, users=5)
    only_users_model(org)
    services.health_compute(organization=org)
    stricter = [{"type": "active_users", "weight": 100, "thresholds": [0, 10, 20]}]
    with django_capture_on_commit_callbacks(execute=True):
        services.health_model_save(tenant=tenant, cohort="", name="Stricter", measures=stricter)
    assert AccountHealth.objects.get(account=account).computed_score == 25  # rescored by the new thresholds
    with django_capture_on_commit_callbacks(execute=True) as rescored:
        services.health_model_save(tenant=tenant, cohort="", name="Stricter", measures=stricter)
    assert rescored == []  # no audit entry, no rescore


def test_editing_the_model_bumps_its_version_and_new_scores_record_it(scope, org, tenant):
    account = AccountFactory(organization=org)
    usage_days(account, users=5)
    model = only_users_model(org)
    services.health_compute(organization=org)
    saved = services.health_model_save(
        tenant=tenant, cohort="", name="Stricter",
        measures=[{"type": "active_users", "weight": 100, "thresholds": [0, 10, 20]}],
    )  # fmt: skip
    assert saved.pk == model.pk
    assert saved.version == 2
    again = services.health_model_save(tenant=tenant, cohort="", name="Stricter", measures=saved.measures)
    assert again.version == 2  # saving without a change is not a new version
    services.health_compute(organization=org)
    score = HealthScore.objects.get(account=account)
    assert (score.score, score.model_version) == (25, 2)


def test_an_invalid_model_is_refused_with_the_rows_errors(scope, org, tenant):
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        services.health_model_save(
            tenant=tenant, cohort="", name="Bad", measures=[{"type": "active_users", "weight": 5, "thresholds": [1]}]
        )
    assert refused.value.field_errors == {
        "measures": {0: "Give three numbers: the raw values that score 0, 50 and 100."}
    }


def test_each_source_feeds_its_measure(scope, org):
    from tickets.models import SlaPolicy, Ticket

    HealthModelFactory(
        organization=org,
        measures=[
            {"type": "support_load", "weight": 1, "thresholds": [4, 2, 0]},
            {"type": "sla_breaches", "weight": 1, "thresholds": [2, 1, 0]},
            {"type": "engagement_recency", "weight": 1, "thresholds": [60, 30, 0]},
            {"type": "csm_sentiment", "weight": 1, "thresholds": [1, 3, 5]},
            {"type": "usage_trend", "weight": 1, "thresholds": [-50, 0, 50]},
        ],
    )
    account = AccountFactory(organization=org)
    SlaPolicy.objects.create(organization=org, name="Standard", first_response_minutes=60)
    for number, status in enumerate(("open", "new", "closed"), start=1):
        Ticket.objects.create(
            organization=org, number=number, subject="Help", account=account, status=status,
            sla_breached_at=NOW - timedelta(days=3) if number == 1 else None,
        )  # fmt: skip
    note = NoteFactory(account=account)
    type(note).objects.filter(pk=note.pk).update(created_at=NOW - timedelta(days=15))
    SentimentFactory(account=account, sentiment=4)
    usage_days(account, users=lambda ago: 10 if ago < 14 else 20, instances=0, applications=0)

    services.health_compute(organization=org)

    inputs = HealthScore.objects.get(account=account).inputs
    assert inputs == {
        "support_load": 2.0, "sla_breaches": 1.0, "engagement_recency": 15.0, "csm_sentiment": 4.0,
        "usage_trend": -50.0,
    }  # fmt: skip


def test_the_week_ago_score_gives_the_trend_and_history_keeps_a_row_per_day(scope, org):
    only_users_model(org)
    account = AccountFactory(organization=org)
    usage_days(account, users=lambda ago: 4 if ago >= 7 else 8, days=60)
    services.health_compute(organization=org, now=NOW - timedelta(days=7))
    services.health_compute(organization=org)
    services.health_compute(organization=org)  # again the same day: the day's row is replaced
    assert list(HealthScore.objects.order_by("day").values_list("day", "score")) == [
        (TODAY - timedelta(days=7), 40), (TODAY, 80),
    ]  # fmt: skip
    assert AccountHealth.objects.get(account=account).trend_delta == 40


def test_crossing_a_band_threshold_records_a_signal_and_publishes_the_event_once(
    scope, org, published, django_capture_on_commit_callbacks
):
    only_users_model(org)
    account = AccountFactory(organization=org)
    usage_days(account, users=8)
    services.health_compute(organization=org)  # 80: healthy
    from usage.models import DailyUsage

    DailyUsage.objects.filter(account=account, day__gt=TODAY - timedelta(days=7)).update(users=3)
    with django_capture_on_commit_callbacks(execute=True):
        services.health_compute(organization=org)  # 30: at risk, crossing 70 and 40
    with django_capture_on_commit_callbacks(execute=True):
        services.health_compute(organization=org)  # the nightly rerun raises nothing new

    crossings = [e for e in published if e.name == "health.threshold_crossed"]
    assert len(crossings) == 1
    assert crossings[0].account_id == account.pk
    assert crossings[0].payload == {
        "from_score": 80, "to_score": 30, "threshold": 40, "direction": "down", "band": "at_risk",
    }  # fmt: skip
    signal = HealthSignal.objects.get(kind="threshold_crossed")
    assert signal.summary == "Health down from 80 to 30, crossing 40"


def test_a_sharp_usage_drop_and_growth_in_seats_and_instances_are_signals(
    scope, org, published, django_capture_on_commit_callbacks
):
    only_users_model(org)
    dropping = AccountFactory(organization=org, name="Dropping")
    growing = AccountFactory(organization=org, name="Growing")
    usage_days(dropping, users=lambda ago: 4 if ago < 14 else 20, instances=1, applications=1)
    usage_days(growing, users=lambda ago: 12 if ago < 7 else 5, instances=lambda ago: 6 if ago < 7 else 3)

    with django_capture_on_commit_callbacks(execute=True):
        services.health_compute(organization=org)
    with django_capture_on_commit_callbacks(execute=True):
        services.health_compute(organization=org)  # the same week: nothing twice

    kinds = sorted(HealthSignal.objects.values_list("account__name", "kind"))
    assert kinds == [("Dropping", "usage_drop"), ("Growing", "instance_growth"), ("Growing", "seat_growth")]
    raised = sorted((e.account_id, e.payload["kind"]) for e in published if e.name == "health.signal_raised")
    assert raised == sorted([(dropping.pk, "usage_drop"), (growing.pk, "seat_growth"), (growing.pk, "instance_growth")])
    growth = next(e for e in published if e.payload.get("kind") == "seat_growth")
    assert growth.payload["from"] == 5
    assert growth.payload["to"] == 12


def test_the_compute_costs_the_same_queries_for_3_and_30_accounts(scope, org):
    HealthModelFactory(organization=org)

    def queries_for(count: int) -> int:
        for account in AccountFactory.create_batch(count, organization=org):
            usage_days(account, users=6, days=20)
            features(account, ["device_added"])
        with CaptureQueriesContext(connection) as captured:
            assert services.health_compute(organization=org).scored >= count
        return len(captured)

    assert queries_for(3) == queries_for(30)


def test_an_override_is_effective_until_it_expires_and_the_computed_score_stays(scope, org):
    only_users_model(org)
    account = AccountFactory(organization=org)
    usage_days(account, users=5)
    services.health_compute(organization=org)
    csm = Tenant(organization=org, role=Role.CSM)
    services.health_override_set(
        tenant=csm, account=account, score=20, reason="Champion left", expires_on=TODAY + timedelta(days=10)
    )
    assert effective_scores(account_ids=[account.pk]) == {account.pk: 20}
    assert AccountHealth.objects.get(account=account).computed_score == 50
    with time_machine.travel(at(TODAY + timedelta(days=11)), tick=False):
        assert effective_scores(account_ids=[account.pk]) == {account.pk: 50}


@pytest.mark.parametrize(
    ("score", "reason", "days", "field", "message"),
    [
        (120, "Why", 5, "score", "Give a score from 0 to 100."),
        (40, "  ", 5, "reason", "Say why: the next person reading this score needs to know."),
        (40, "Why", 0, "expires_on", "Choose a day after today."),
        (40, "Why", 181, "expires_on", "An override lasts at most 180 days; set it again after that."),
    ],
)
def test_an_override_needs_a_score_a_reason_and_a_near_expiry(scope, org, score, reason, days, field, message):
    from core.errors import ApplicationError

    account = AccountFactory(organization=org)
    usage_days(account, users=5)
    services.health_compute(organization=org)
    with pytest.raises(ApplicationError) as refused:
        services.health_override_set(
            tenant=Tenant(organization=org, role=Role.CSM), account=account, score=score, reason=reason,
            expires_on=TODAY + timedelta(days=days),
        )  # fmt: skip
    assert refused.value.field_errors[field] == message


def test_effective_scores_leaves_out_unscored_and_foreign_accounts(scope, org, other_org):
    only_users_model(org)
    scored, unscored = AccountFactory(organization=org), AccountFactory(organization=org)
    foreign = AccountFactory(organization=other_org)
    usage_days(scored, users=10)
    usage_days(foreign, users=10)
    services.health_compute(organization=org)
    assert effective_scores(account_ids=[scored.pk, unscored.pk, foreign.pk]) == {scored.pk: 100}


def test_the_recompute_task_is_idempotent_and_touches_only_its_account(scope, org):
    only_users_model(org)
    mine, other = AccountFactory(organization=org), AccountFactory(organization=org)
    usage_days(mine, users=5)
    usage_days(other, users=5)
    assert health_recompute_account.delay(org.pk, mine.pk).get() == 1
    assert health_recompute_account.delay(org.pk, mine.pk).get() == 1
    assert list(HealthScore.objects.values_list("account_id", flat=True)) == [mine.pk]
    assert HealthScore.objects.count() == 1


def test_an_input_event_enqueues_a_recompute_of_that_account(scope, org, django_capture_on_commit_callbacks):
    from accounts.services import note_add

    only_users_model(org)
    account = AccountFactory(organization=org)
    usage_days(account, users=5)
    with django_capture_on_commit_callbacks(execute=True):
        note_add(tenant=Tenant(organization=org, role=Role.CSM), account=account, body="Call went well.")
    assert HealthScore.objects.filter(account=account).exists()


def test_the_nightly_task_rescores_every_organization(org, other_org, django_capture_on_commit_callbacks):
    from core.tenancy import tenant_scope

    for organization in (org, other_org):
        account = AccountFactory(organization=organization)
        usage_days(account, users=5)
    with django_capture_on_commit_callbacks(execute=True):
        assert health_recompute_all_organizations() == 2
    for organization in (org, other_org):
        with tenant_scope(organization):
            assert AccountHealth.objects.count() == 1


def test_recording_sentiment_rescores_the_account_at_once(scope, org):
    HealthModelFactory(organization=org)
    account = AccountFactory(organization=org)
    usage_days(account, users=5)
    services.health_compute(organization=org)
    before = AccountHealth.objects.get(account=account).computed_score
    services.sentiment_record(tenant=Tenant(organization=org, role=Role.CSM), account=account, sentiment=5)
    after = AccountHealth.objects.get(account=account).computed_score
    # users 5 → 50 at 50, no features → 0 at 30: 31 of 80; sentiment 5 → 100 adds its 20 of 100: 45
    assert (before, after) == (31, 45)


def test_a_score_wobbling_around_a_threshold_signals_once_it_is_clearly_across(
    scope, org, published, django_capture_on_commit_callbacks
):
    from usage.models import DailyUsage

    only_users_model(org, thresholds=(0, 50, 100))  # the score is the users count
    account = AccountFactory(organization=org)
    usage_days(account, users=80)
    for users in (80, 69, 71, 69, 67):
        DailyUsage.objects.filter(account=account).update(users=users)
        with django_capture_on_commit_callbacks(execute=True):
            services.health_compute(organization=org)
    crossings = [e.payload for e in published if e.name == "health.threshold_crossed"]
    assert crossings == [{"from_score": 69, "to_score": 67, "threshold": 70, "direction": "down", "band": "watch"}]
