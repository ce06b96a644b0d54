"""Seed 000's churn procedure against real servers on 127.0.0.1: each step's success and failure, running a step
twice, a redelivered task, and the case closing only when every step is done or skipped with a reason."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import Account, AccountStatus
from churn import services
from churn.models import ChurnCase, ChurnCaseStatus, ChurnStep, StepKind, StepStatus
from churn.tasks import churn_case_advance_task, retry_failed_step
from core.errors import ApplicationError
from core.models import AuditEntry
from core.tenancy import tenant_scope
from integrations.hubspot.client import hubspot_client
from integrations.hubspot.services import stage_mappings_refresh
from integrations.models import Connection, Source
from integrations.services import external_records_touch
from lifecycle.models import DealStage, DealType
from revenue.models import MovementKind, RevenueMovement, StripeAction, StripeSubscription
from tests.churn.conftest import connect_hubspot, sales_channel, stripe_client, stripe_subscription_for
from tests.factories import AccountFactory, DealFactory

pytestmark = pytest.mark.django_db


def open_case(tenant, account, capture, **values):
    values = {"primary_reason": "price", "churn_date": date(2027, 3, 31), **values}
    with tenant_scope(tenant.organization), capture(execute=True):
        return services.churn_case_open(tenant=tenant, account=account, **values)


def steps_of(case) -> dict[str, ChurnStep]:
    with tenant_scope(case.organization):
        return {step.kind: step for step in ChurnStep.objects.filter(case=case)}


def test_opening_a_case_runs_the_ready_steps_and_waits_for_the_rest(
    org, customer, ae_tenant, django_capture_on_commit_callbacks
):
    case = open_case(ae_tenant, customer, django_capture_on_commit_callbacks, summary="Budget moved to a rival.")
    steps = steps_of(case)
    assert [s.position for s in steps.values()] == [1, 2, 3, 4, 5]
    assert steps[StepKind.MARK_CHURNED].status == StepStatus.DONE
    assert steps[StepKind.MARK_CHURNED].done_by_label == "System"  # the task ran it
    assert steps[StepKind.CLOSE_DEALS].status == StepStatus.DONE  # no open deals: done, nothing to close
    # No Stripe subscription, no sales channel: those wait, saying for what; the email went out.
    assert steps[StepKind.CANCEL_STRIPE].status == StepStatus.PENDING
    assert steps[StepKind.ANNOUNCE_SLACK].status == StepStatus.PENDING
    assert steps[StepKind.SEND_ACKNOWLEDGMENT].status == StepStatus.DONE
    with tenant_scope(org):
        customer.refresh_from_db()
        assert customer.status == AccountStatus.CHURNED
        assert "No Stripe subscription" in services.churn_step_readiness(step=steps[StepKind.CANCEL_STRIPE])
        assert "Slack webhook" in services.churn_step_readiness(step=steps[StepKind.ANNOUNCE_SLACK])
        case.refresh_from_db()
    assert case.status == ChurnCaseStatus.OPEN
    assert case.arr_lost == Decimal("24000.00")  # the account's ARR by default
    assert steps[StepKind.MARK_CHURNED].result["arr_lost"] == "24000.00"


def test_opening_twice_returns_the_same_case(org, customer, ae_tenant, django_capture_on_commit_callbacks):
    first = open_case(ae_tenant, customer, django_capture_on_commit_callbacks)
    second = open_case(ae_tenant, customer, django_capture_on_commit_callbacks, primary_reason="acquired")
    assert first.pk == second.pk
    with tenant_scope(org):
        assert ChurnCase.objects.count() == 1
        assert ChurnStep.objects.count() == 5


def test_the_reasons_follow_the_organization_taxonomy(org, customer, ae_tenant, django_capture_on_commit_callbacks):
    with pytest.raises(ValidationError) as refused:
        open_case(ae_tenant, customer, django_capture_on_commit_callbacks, primary_reason="weather")
    assert "not one of this organization's churn reasons" in str(refused.value.message_dict["primary_reason"])
    with pytest.raises(ValidationError) as refused:
        open_case(ae_tenant, customer, django_capture_on_commit_callbacks, primary_reason="other")
    assert "reason_other" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        open_case(ae_tenant, customer, django_capture_on_commit_callbacks, secondary_reason="price")
    assert "repeats the main one" in str(refused.value.message_dict["secondary_reason"])


def test_the_case_closes_only_when_every_step_is_done_or_skipped_with_a_reason(
    org, customer, ae_tenant, slack, django_capture_on_commit_callbacks
):
    case = open_case(ae_tenant, customer, django_capture_on_commit_callbacks)
    steps = steps_of(case)
    with tenant_scope(org):
        with pytest.raises(ValidationError):
            services.churn_step_skip(tenant=ae_tenant, step=steps[StepKind.CANCEL_STRIPE], reason="  ")
        services.churn_step_skip(tenant=ae_tenant, step=steps[StepKind.CANCEL_STRIPE], reason="Paid by bank transfer")
        case.refresh_from_db()
        assert case.status == ChurnCaseStatus.OPEN  # the announcement is still pending
        # A done step cannot be skipped afterwards.
        skipped = services.churn_step_skip(tenant=ae_tenant, step=steps[StepKind.MARK_CHURNED], reason="no")
        assert skipped.status == StepStatus.DONE
    sales_channel(org, slack.url)
    with tenant_scope(org):
        step = services.churn_step_run(tenant=ae_tenant, step=steps[StepKind.ANNOUNCE_SLACK])
        assert step.status == StepStatus.DONE
        assert step.done_by_label == ae_tenant.actor_label
        case.refresh_from_db()
        assert case.status == ChurnCaseStatus.CLOSED
        assert case.closed_at is not None
        skipped_step = ChurnStep.objects.get(case=case, kind=StepKind.CANCEL_STRIPE)
        assert (skipped_step.status, skipped_step.skip_reason) == (StepStatus.SKIPPED, "Paid by bank transfer")
        assert AuditEntry.objects.filter(action="churn.case_closed", object_id=case.pk).count() == 1


def test_slack_announcement_success_failure_and_retry(
    org, customer, ae_tenant, slack, django_capture_on_commit_callbacks
):
    sales_channel(org, slack.url)
    slack.answer_status = 500
    case = open_case(
        ae_tenant,
        customer,
        django_capture_on_commit_callbacks,
        secondary_reason="missing_feature",
        summary="They needed SSO.",
    )
    step = steps_of(case)[StepKind.ANNOUNCE_SLACK]
    assert step.status == StepStatus.FAILED
    assert "Slack did not accept" in step.error
    assert slack.posts == []
    slack.answer_status = 200
    with tenant_scope(org):
        step = services.churn_step_run(tenant=ae_tenant, step=step)
    assert step.status == StepStatus.DONE
    assert step.attempts == 2
    assert len(slack.posts) == 1
    text = slack.posts[0]
    assert "Acme Robotics" in text
    assert "Price; Missing feature" in text
    assert "They needed SSO." in text
    assert f"/churn/{case.pk}/" in text
    assert "Questions" in text
    # Running it again (a second click) posts nothing more.
    with tenant_scope(org):
        again = services.churn_step_run(tenant=ae_tenant, step=step)
    assert again.status == StepStatus.DONE
    assert again.attempts == 2
    assert len(slack.posts) == 1


def test_acknowledgment_email_goes_to_the_contacts_with_the_learning_link(
    org, customer, ae_tenant, django_capture_on_commit_callbacks
):
    case = open_case(ae_tenant, customer, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["cto@acme.example", "ops@acme.example"]
    assert f"/feedback/churn/{case.learning_token}/" in message.body
    assert "What was the main reason you decided not to renew?" in message.body
    assert "31 March 2027" in message.body
    step = steps_of(case)[StepKind.SEND_ACKNOWLEDGMENT]
    with tenant_scope(org):
        services.churn_step_run(tenant=ae_tenant, step=step)
        churn_case_advance_task.delay(org.pk, case.pk)  # a redelivered task
    assert len(mail.outbox) == 1


def test_acknowledgment_failure_is_recorded_and_can_be_run_again(
    org, customer, ae_tenant, settings, django_capture_on_commit_callbacks
):
    # A real SMTP client against a port where nothing listens on loopback: the send fails.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    case = open_case(ae_tenant, customer, django_capture_on_commit_callbacks)
    step = steps_of(case)[StepKind.SEND_ACKNOWLEDGMENT]
    assert step.status == StepStatus.FAILED
    assert "could not be sent" in step.error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with tenant_scope(org):
        # The task's retry (what the worker runs 30 s later) sends it.
        assert retry_failed_step.delay(org.pk, step.pk).get() == StepStatus.DONE
    assert len(mail.outbox) == 1


def test_a_claimed_step_is_not_run_by_a_second_caller(
    org, customer, ae_tenant, slack, django_capture_on_commit_callbacks
):
    case = open_case(ae_tenant, customer, django_capture_on_commit_callbacks)
    sales_channel(org, slack.url)
    with tenant_scope(org):
        step = steps_of(case)[StepKind.ANNOUNCE_SLACK]
        # Another worker holds it (the compare-and-set took it): this caller changes nothing.
        ChurnStep.objects.filter(pk=step.pk).update(status=StepStatus.RUNNING, started_at=step.case.created_at)
        from django.utils import timezone

        ChurnStep.objects.filter(pk=step.pk).update(started_at=timezone.now())
        result = services.churn_step_run(tenant=ae_tenant, step=step)
        assert result.status == StepStatus.RUNNING
    assert slack.posts == []


def test_cancel_in_stripe_at_period_end_with_an_idempotency_key(
    org, customer, ae_tenant, localstripe, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    subscription_id = stripe_subscription_for(org, localstripe, capture)
    case = open_case(ae_tenant, customer, capture)
    step = steps_of(case)[StepKind.CANCEL_STRIPE]
    assert step.status == StepStatus.DONE, step.error
    answer = step.result["subscriptions"][0]
    assert answer["subscription"] == subscription_id
    assert answer["cancel_at_period_end"] is True
    assert answer["idempotency_key"].endswith(f"subscription_cancel:{subscription_id}:period_end")
    remote = stripe_client(localstripe).v1.subscriptions.retrieve(subscription_id)
    assert remote.cancel_at_period_end is True
    assert remote.status == "active"
    with tenant_scope(org):
        # Stripe still bills it until the period ends: its churn reaches the ledger from Stripe then, not now.
        assert not RevenueMovement.objects.filter(account=customer, kind=MovementKind.CHURN).exists()
    with tenant_scope(org):
        # Twice (a second click): the step is done, Stripe is not asked again.
        services.churn_step_run(tenant=ae_tenant, step=step)
        assert StripeAction.objects.count() == 1
        assert StripeAction.objects.get().attempts == 1


def test_cancel_now_writes_the_churn_into_the_ledger(
    org, customer, ae_tenant, localstripe, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    subscription_id = stripe_subscription_for(org, localstripe, capture)
    case = open_case(ae_tenant, customer, capture, cancel_mode="now")
    step = steps_of(case)[StepKind.CANCEL_STRIPE]
    assert step.status == StepStatus.DONE, step.error
    assert step.result["subscriptions"][0]["stripe_status"] == "canceled"
    assert stripe_client(localstripe).v1.subscriptions.retrieve(subscription_id).status == "canceled"
    with tenant_scope(org):
        assert StripeSubscription.objects.get(stripe_id=subscription_id).status == "canceled"
        churn = RevenueMovement.objects.get(account=customer, kind=MovementKind.CHURN)
        assert churn.mrr_after == Decimal("0.00")


def test_cancel_fails_when_stripe_refuses_and_succeeds_when_run_again(
    org, customer, ae_tenant, localstripe, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    stripe_subscription_for(org, localstripe, capture)
    with tenant_scope(org):
        # The connection points at a wrong address on localstripe: the cancellation gets an error answer.
        connection = Connection.objects.get(source=Source.STRIPE)
        good_key = connection.api_key_sealed
        Connection.objects.filter(pk=connection.pk).update(api_base_url=localstripe.url + "/nothing-here")
    case = open_case(ae_tenant, customer, capture)
    step = steps_of(case)[StepKind.CANCEL_STRIPE]
    assert step.status == StepStatus.FAILED
    assert step.error
    with tenant_scope(org):
        Connection.objects.filter(pk=connection.pk).update(api_base_url=localstripe.url, api_key_sealed=good_key)
        step = services.churn_step_run(tenant=ae_tenant, step=step)
    assert step.status == StepStatus.DONE, step.error
    assert step.attempts == 2


def _hubspot_deals(org, hubspot, customer):
    """Two open deals of the account, linked to HubSpot deals the way the HubSpot import links them."""
    connect_hubspot(org, hubspot)
    growth_remote = hubspot.add_deal("Acme growth", stage="102")
    renewal_remote = hubspot.add_deal("Acme renewal", stage="101")
    growth = DealFactory(
        account=customer,
        name="Acme growth",
        type=DealType.EXPANSION,
        stage=DealStage.POC_STARTED,
        hubspot_deal_id=growth_remote.id,
    )
    renewal = DealFactory(
        account=customer,
        name="Acme renewal",
        type=DealType.RENEWAL,
        stage=DealStage.OPPORTUNITY,
        hubspot_deal_id=renewal_remote.id,
    )
    new_business = DealFactory(account=customer, name="Acme other site", type=DealType.NEW)
    with tenant_scope(org):
        client = hubspot_client(Connection.objects.get(source=Source.HUBSPOT))
        stage_mappings_refresh(organization=org, pipelines=client.deal_pipelines())
        external_records_touch(
            organization=org,
            source=Source.HUBSPOT,
            object_type="deal",
            links=[(growth_remote.id, growth.pk, None), (renewal_remote.id, renewal.pk, None)],
        )
    return growth, renewal, new_business, growth_remote, renewal_remote


def test_close_deals_here_and_in_hubspot(org, customer, ae_tenant, hubspot, django_capture_on_commit_callbacks):
    growth, renewal, new_business, growth_remote, renewal_remote = _hubspot_deals(org, hubspot, customer)
    case = open_case(ae_tenant, customer, django_capture_on_commit_callbacks, primary_reason="moved_to_competitor")
    step = steps_of(case)[StepKind.CLOSE_DEALS]
    assert step.status == StepStatus.DONE, step.error
    with tenant_scope(org):
        for deal in (growth, renewal):
            deal.refresh_from_db()
            assert (deal.stage, deal.lost_reason) == (DealStage.CLOSED_LOST, "Chose a competitor")
        new_business.refresh_from_db()
        assert new_business.stage == DealStage.OPPORTUNITY  # seed 000 names growth and renewal deals only
    assert hubspot.get("deals", growth_remote.id).properties["dealstage"] == "closedlost"
    assert hubspot.get("deals", renewal_remote.id).properties["closed_lost_reason"] == "Chose a competitor"
    assert step.result["hubspot"]["pushed_deals"] == 2
    pushes = hubspot.count("batch/update")
    with tenant_scope(org):
        services.churn_step_run(tenant=ae_tenant, step=step)
    assert hubspot.count("batch/update") == pushes


def test_close_deals_when_hubspot_fails_then_recovers(
    org, customer, ae_tenant, hubspot, django_capture_on_commit_callbacks
):
    growth, _renewal, _, growth_remote, _ = _hubspot_deals(org, hubspot, customer)
    hubspot.fail_next(500, times=20, path_contains="batch/update")
    case = open_case(ae_tenant, customer, django_capture_on_commit_callbacks, primary_reason="champion_left")
    step = steps_of(case)[StepKind.CLOSE_DEALS]
    assert step.status == StepStatus.FAILED
    assert "HubSpot did not take them" in step.error
    with tenant_scope(org):
        growth.refresh_from_db()
        assert (growth.stage, growth.lost_reason) == (DealStage.CLOSED_LOST, "Customer churned")
        from lifecycle.services import pipeline_settings_get

        assert "Customer churned" in pipeline_settings_get(organization=org).lost_reasons
    assert hubspot.get("deals", growth_remote.id).properties["dealstage"] == "102"
    hubspot.faults.clear()
    with tenant_scope(org):
        step = services.churn_step_run(tenant=ae_tenant, step=step)
    assert step.status == StepStatus.DONE, step.error
    assert hubspot.get("deals", growth_remote.id).properties["dealstage"] == "closedlost"


def test_stripe_suggests_a_case_for_a_subscription_set_to_cancel(
    org, customer, ae_tenant, localstripe, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    subscription_id = stripe_subscription_for(org, localstripe, capture)
    # The customer cancels in Stripe's portal; the next sync sees it.
    stripe_client(localstripe).v1.subscriptions.update(subscription_id, params={"cancel_at_period_end": True})
    from integrations.models import SyncKind
    from integrations.services import sync_request

    with tenant_scope(org), capture(execute=True):
        sync_request(organization=org, source=Source.STRIPE, kind=SyncKind.FULL)
    with tenant_scope(org):
        case = ChurnCase.objects.get(account=customer)
        assert case.status == ChurnCaseStatus.SUGGESTED
        assert "set to cancel" in case.suggested_because
        assert not ChurnStep.objects.filter(case=case).exclude(status=StepStatus.PENDING).exists()
        # A second sync suggests nothing more.
    with tenant_scope(org), capture(execute=True):
        sync_request(organization=org, source=Source.STRIPE, kind=SyncKind.FULL)
    with tenant_scope(org), capture(execute=True):
        assert ChurnCase.objects.count() == 1
        confirmed = services.churn_case_open(
            tenant=ae_tenant, account=customer, primary_reason="budget_cut", churn_date=date(2027, 6, 30)
        )
    assert confirmed.pk == case.pk
    assert confirmed.status == ChurnCaseStatus.OPEN
    with tenant_scope(org):
        assert Account.objects.get(pk=customer.pk).status == AccountStatus.CHURNED


def test_a_suggestion_can_be_dismissed_but_not_after_steps_ran(
    org, customer, ae_tenant, django_capture_on_commit_callbacks
):
    case = open_case(ae_tenant, customer, django_capture_on_commit_callbacks)
    with tenant_scope(org), pytest.raises(ApplicationError):
        services.churn_case_dismiss(tenant=ae_tenant, case=case, reason="mistake")


def test_marking_churned_fails_on_an_invalid_account_and_runs_again_once_fixed(
    org, ae_tenant, django_capture_on_commit_callbacks
):
    # Imported with a QBR nomination but no reason: the account service refuses any change until it has one.
    account = AccountFactory(organization=org, name="Nominated Co", qbr_nominated=True, qbr_nomination_reason="")
    case = open_case(ae_tenant, account, django_capture_on_commit_callbacks)
    step = steps_of(case)[StepKind.MARK_CHURNED]
    assert step.status == StepStatus.FAILED
    assert "nominated for QBRs" in step.error
    with tenant_scope(org):
        assert Account.objects.get(pk=account.pk).status == AccountStatus.ACTIVE
        Account.objects.filter(pk=account.pk).update(qbr_nomination_reason="Growth potential")
        step = services.churn_step_run(tenant=ae_tenant, step=step)
        assert step.status == StepStatus.DONE
        assert Account.objects.get(pk=account.pk).status == AccountStatus.CHURNED


def test_an_account_billed_outside_stripe_has_its_churn_in_the_ledger_once(
    org, customer, ae_tenant, django_capture_on_commit_callbacks
):
    case = open_case(ae_tenant, customer, django_capture_on_commit_callbacks, churn_date=date(2026, 11, 30))
    step = steps_of(case)[StepKind.MARK_CHURNED]
    assert "The revenue ledger records the churn of 2000.00 MRR." in step.result_text
    with tenant_scope(org):
        churn = RevenueMovement.objects.get(account=customer, kind=MovementKind.CHURN)
        assert (churn.mrr_before, churn.mrr_after) == (Decimal("2000.00"), Decimal("0.00"))
        assert churn.occurred_at.date() == date(2026, 11, 30)
        customer.refresh_from_db()
        assert (customer.mrr, customer.arr) == (Decimal("0.00"), Decimal("0.00"))
        services.churn_step_run(tenant=ae_tenant, step=step)  # a second click
        from revenue.services import revenue_churn_record

        assert revenue_churn_record(tenant=ae_tenant, account=customer, churned_at=churn.occurred_at, reason="") is None
        assert RevenueMovement.objects.filter(account=customer).count() == 1
