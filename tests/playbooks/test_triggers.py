"""Triggers: domain events as the services publish them, inaction, cron schedules and dates, and the audience."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.services import account_update, contact_update
from core.events import DomainEvent
from lifecycle.services import deal_commit
from playbooks.models import Enrollment
from playbooks.services import playbook_event_handle, time_triggers_evaluate
from qbr.services import champion_change_record
from tests.factories import AccountFactory, ContactFactory, DealFactory
from usage.services import usage_ingest

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TASK = {"type": "task", "assignee": "csm", "title": "Follow up {{ account.name }}"}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def enrolled(playbook):
    return list(Enrollment.objects.filter(playbook=playbook).values_list("account__name", flat=True))


def test_deal_committed_enrolls_the_deals_account_and_runs_the_first_step(
    scope, clock, make_playbook, tenant, account, django_capture_on_commit_callbacks
):
    playbook = make_playbook([TASK, {"type": "wait", "days": 3}, TASK])
    deal = DealFactory(account=account)
    with django_capture_on_commit_callbacks(execute=True):
        deal_commit(tenant=tenant, deal=deal)
    enrollment = Enrollment.objects.get(playbook=playbook)
    assert enrollment.account == account
    assert enrollment.trigger_summary == "The AE commits a deal"
    assert [run.status for run in enrollment.step_runs.all()] == ["succeeded", "pending"]


def test_contact_stage_change_matches_the_stage_named_and_enrolls_that_contact(
    scope, clock, make_playbook, tenant, account, django_capture_on_commit_callbacks
):
    playbook = make_playbook([TASK], trigger={"type": "event", "event": "contact.stage_changed", "to_stage": "lead"})
    other = make_playbook(
        [TASK], trigger={"type": "event", "event": "contact.stage_changed", "to_stage": "customer"}, name="Other"
    )
    contact = ContactFactory(account=account, lifecycle_stage="subscriber")
    with django_capture_on_commit_callbacks(execute=True):
        contact_update(tenant=tenant, contact=contact, lifecycle_stage="lead")
    assert Enrollment.objects.get(playbook=playbook).contact == contact
    assert enrolled(other) == []


def test_cohort_change_is_an_account_updated_event_with_the_cohort_in_it(
    scope, clock, make_playbook, tenant, account, django_capture_on_commit_callbacks
):
    playbook = make_playbook(
        [TASK], trigger={"type": "event", "event": "account.cohort_changed", "to_cohort": "enterprise"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        account_update(tenant=tenant, account=account, name="Bluefin Labs GmbH")
    assert enrolled(playbook) == []
    with django_capture_on_commit_callbacks(execute=True):
        account_update(tenant=tenant, account=account, cohort="enterprise")
    assert enrolled(playbook) == ["Bluefin Labs GmbH"]


def test_champion_change_enrolls_the_account(
    scope, clock, make_playbook, tenant, account, contact, django_capture_on_commit_callbacks
):
    playbook = make_playbook([TASK], trigger={"type": "event", "event": "account.champion_changed"})
    with django_capture_on_commit_callbacks(execute=True):
        champion_change_record(tenant=tenant, account=account, new_contact=contact)
    assert enrolled(playbook) == ["Bluefin Labs"]


def test_a_usage_report_of_the_named_feature_enrolls(
    scope, clock, make_playbook, tenant, account, django_capture_on_commit_callbacks
):
    playbook = make_playbook([TASK], trigger={"type": "event", "event": "usage.reported", "feature": "pipeline_used"})
    event = {"account": account.pk, "feature": "snapshot_created", "occurred_at": NOW.isoformat(), "event_id": "e1"}
    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(tenant=tenant, metrics=[], events=[event])
    assert enrolled(playbook) == []
    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(tenant=tenant, metrics=[], events=[{**event, "feature": "pipeline_used", "event_id": "e2"}])
    assert enrolled(playbook) == ["Bluefin Labs"]


def test_health_and_sla_events_match_their_payload(scope, clock, make_playbook, account):
    down = make_playbook(
        [TASK], trigger={"type": "event", "event": "health.threshold_crossed", "direction": "down"}, name="Down"
    )
    urgent = make_playbook(
        [TASK], trigger={"type": "event", "event": "ticket.sla_breached", "priority": "urgent"}, name="Urgent"
    )

    def event(name, **payload):
        return DomainEvent(organization_id=scope.pk, name=name, account_id=account.pk, object_type="x", object_id=1,
                           payload=payload)  # fmt: skip

    assert (
        playbook_event_handle(event=event("health.threshold_crossed", direction="up", from_score=40, to_score=60)) == 0
    )
    assert playbook_event_handle(event=event("ticket.sla_breached", priority="normal", number=4)) == 0
    assert playbook_event_handle(event=event("health.threshold_crossed", direction="down", to_score=30)) == 1
    assert playbook_event_handle(event=event("ticket.sla_breached", priority="urgent", number=5)) == 1
    assert enrolled(down) == enrolled(urgent) == ["Bluefin Labs"]


def test_the_same_event_delivered_twice_enrolls_once(scope, clock, make_playbook, account):
    make_playbook([{"type": "wait", "days": 1}, TASK])
    event = DomainEvent(organization_id=scope.pk, name="deal.committed", account_id=account.pk, object_type="deal",
                        object_id=7, occurred_at=NOW)  # fmt: skip
    assert playbook_event_handle(event=event) == 1
    assert playbook_event_handle(event=event) == 0
    assert Enrollment.objects.count() == 1


def test_paused_and_draft_playbooks_do_not_enroll(scope, clock, make_playbook, account):
    make_playbook([TASK], status="paused")
    make_playbook([TASK], status="draft", name="Draft")
    event = DomainEvent(organization_id=scope.pk, name="deal.committed", account_id=account.pk)
    assert playbook_event_handle(event=event) == 0


# --- Inaction ----------------------------------------------------------------------------------------------------

INACTION = {"type": "inaction", "feature": "snapshot_created", "within_hours": 24}


def signed_up(account, when):
    type(account).objects.filter(pk=account.pk).update(created_at=when)


def test_inaction_fires_once_after_24_hours_and_not_when_the_feature_was_used(
    scope, clock, make_playbook, tenant, account
):
    playbook = make_playbook([TASK], trigger=INACTION)
    user = AccountFactory(organization=scope, name="Used snapshots")
    signed_up(account, NOW)
    signed_up(user, NOW)
    usage_ingest(
        tenant=tenant, metrics=[],
        events=[{"account": user.pk, "feature": "snapshot_created", "occurred_at": NOW.isoformat(), "event_id": "s"}],
    )  # fmt: skip

    clock.move_to(NOW + timedelta(hours=23, minutes=59))
    assert time_triggers_evaluate(organization=scope) == 0
    clock.move_to(NOW + timedelta(hours=24))
    assert time_triggers_evaluate(organization=scope) == 1
    clock.move_to(NOW + timedelta(hours=25))
    assert time_triggers_evaluate(organization=scope) == 0
    assert enrolled(playbook) == ["Bluefin Labs"]


def test_inaction_does_not_reach_back_to_accounts_signed_up_long_ago(scope, clock, make_playbook, account):
    make_playbook([TASK], trigger=INACTION)
    signed_up(account, NOW - timedelta(days=30))
    assert time_triggers_evaluate(organization=scope) == 0


# --- Schedule and dates ------------------------------------------------------------------------------------------


def test_a_cron_schedule_enrolls_the_audience_at_its_slot_once(scope, make_playbook, account):
    scope.timezone = "UTC"
    scope.save()
    with time_machine.travel(datetime(2026, 12, 7, 8, 58, tzinfo=UTC), tick=False) as clock:  # a Monday
        playbook = make_playbook([TASK], trigger={"type": "schedule", "cron": "0 9 * * 1"})
        clock.move_to(datetime(2026, 12, 7, 8, 59, 30, tzinfo=UTC))
        assert time_triggers_evaluate(organization=scope) == 0
        clock.move_to(datetime(2026, 12, 7, 9, 1, 10, tzinfo=UTC))  # the beat at 9:00 was missed: still fires
        assert time_triggers_evaluate(organization=scope) == 1
        clock.move_to(datetime(2026, 12, 7, 9, 2, tzinfo=UTC))
        assert time_triggers_evaluate(organization=scope) == 0
        assert Enrollment.objects.get(playbook=playbook).enrollment_key.startswith("cron:202612070900:")


def test_the_schedule_reads_the_organizations_time_zone(scope, make_playbook, account):
    scope.timezone = "Europe/Berlin"
    scope.save()
    with time_machine.travel(datetime(2026, 12, 7, 7, 59, tzinfo=UTC), tick=False) as clock:
        make_playbook([TASK], trigger={"type": "schedule", "cron": "0 9 * * *"})
        clock.move_to(datetime(2026, 12, 7, 8, 0, 5, tzinfo=UTC))  # 09:00 in Berlin
        assert time_triggers_evaluate(organization=scope) == 1


def test_renewal_minus_90_days(scope, clock, make_playbook, account):
    playbook = make_playbook([TASK], trigger={"type": "date", "field": "renewal_date", "offset_days": -90})
    account.renewal_date = date(2026, 12, 1) + timedelta(days=91)
    account.save()
    AccountFactory(organization=scope, name="Renewed last week", renewal_date=date(2026, 11, 24))
    assert time_triggers_evaluate(organization=scope) == 0
    clock.move_to(NOW + timedelta(days=1))
    assert time_triggers_evaluate(organization=scope) == 1
    clock.move_to(NOW + timedelta(days=2))
    assert time_triggers_evaluate(organization=scope) == 0
    enrollment = Enrollment.objects.get(playbook=playbook)
    assert enrollment.anchor_date == account.renewal_date
    # Next year's renewal is a new occurrence.
    Enrollment.objects.update(status="completed")
    account.renewal_date = account.renewal_date + timedelta(days=365)
    account.save()
    clock.move_to(NOW + timedelta(days=366))
    assert time_triggers_evaluate(organization=scope) == 1


# --- Audience ----------------------------------------------------------------------------------------------------


def test_audience_filters_cohort_owner_arr_and_contact_stage(scope, clock, make_playbook, csm, account):
    def names(audience):
        playbook = make_playbook([TASK], trigger={"type": "date", "field": "renewal_date", "offset_days": -90},
                                 audience=audience, name=str(audience))  # fmt: skip
        time_triggers_evaluate(organization=scope)
        return sorted(enrolled(playbook))

    renewal = date(2027, 1, 15)
    type(account).objects.filter(pk=account.pk).update(renewal_date=renewal, arr=Decimal("24000"))
    small = AccountFactory(
        organization=scope, name="Small", cohort="starter", arr=Decimal("5000"), renewal_date=renewal
    )
    AccountFactory(organization=scope, name="Churned", status="churned", renewal_date=renewal)
    ContactFactory(account=small, lifecycle_stage="customer")

    assert names({}) == ["Bluefin Labs", "Small"]
    assert names({"cohorts": ["premium"]}) == ["Bluefin Labs"]
    assert names({"min_arr": 10000}) == ["Bluefin Labs"]
    assert names({"csm_owner_ids": [csm.pk]}) == ["Bluefin Labs"]
    assert names({"lifecycle_stages": ["customer"]}) == ["Small"]


def test_audience_health_score_range(scope, clock, make_playbook, tenant, account):
    """Scores come from the health app (health.selectors.effective_scores): an override counts as the score."""
    from health.services import health_compute, health_override_set

    renewal = date(2027, 1, 15)
    healthy = AccountFactory(organization=scope, name="Healthy Co", renewal_date=renewal)
    type(account).objects.filter(pk=account.pk).update(renewal_date=renewal)
    unscored = AccountFactory(organization=scope, name="Unscored Co", renewal_date=renewal)
    metrics = [
        {"account": pk, "date": (NOW.date() - timedelta(days=offset)).isoformat(), "users": 5, "instances": 2,
         "devices": 3, "applications": 2}
        for pk in (account.pk, healthy.pk) for offset in range(30)
    ]  # fmt: skip
    usage_ingest(tenant=tenant, metrics=metrics, events=[])
    assert health_compute(organization=scope, account_ids=[account.pk, healthy.pk]).scored == 2
    until = date(2026, 12, 31)
    health_override_set(tenant=tenant, account=account, score=30, reason="Champion left", expires_on=until)
    health_override_set(tenant=tenant, account=healthy, score=85, reason="Expanding", expires_on=until)

    at_risk = make_playbook(
        [TASK], trigger={"type": "date", "field": "renewal_date", "offset_days": -90},
        audience={"score_min": 0, "score_max": 40}, name="At risk",
    )  # fmt: skip
    thriving = make_playbook(
        [TASK], trigger={"type": "date", "field": "renewal_date", "offset_days": -90},
        audience={"score_min": 80}, name="Thriving",
    )  # fmt: skip
    time_triggers_evaluate(organization=scope)
    assert enrolled(at_risk) == ["Bluefin Labs"]
    assert enrolled(thriving) == ["Healthy Co"]
    assert unscored.name not in enrolled(at_risk) + enrolled(thriving)  # no score is in no range


def test_a_risk_signal_of_the_chosen_kind_enrolls(scope, clock, make_playbook, account):
    drop = make_playbook(
        [TASK], trigger={"type": "event", "event": "health.signal_raised", "kind": "usage_drop"}, name="Usage drop"
    )

    def signal(kind):
        return DomainEvent(organization_id=scope.pk, name="health.signal_raised", account_id=account.pk,
                           object_type="account", object_id=account.pk, payload={"kind": kind})  # fmt: skip

    assert playbook_event_handle(event=signal("seat_growth")) == 0
    assert playbook_event_handle(event=signal("usage_drop")) == 1
    assert enrolled(drop) == ["Bluefin Labs"]


def test_a_signal_kind_that_does_not_exist_is_refused(scope):
    from playbooks.services import definition_validate

    with pytest.raises(ValidationError) as refused:
        definition_validate(
            definition={"trigger": {"type": "event", "event": "health.signal_raised", "kind": "moon_phase"},
                        "steps": [TASK]},
        )  # fmt: skip
    assert "trigger.kind" in refused.value.message_dict
