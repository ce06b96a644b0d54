"""The rules of seed 002 and the commit-to-handoff of seed 000, through the services every interface calls."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import CohortChange, Contact, LeadStatus, LifecycleStage
from accounts.services import account_update, contact_create, contact_update
from core.models import AuditEntry, Notification, Role
from core.tenancy import Tenant
from lifecycle import services
from lifecycle.models import (
    CsmAssignmentRule,
    Deal,
    DealStage,
    DealType,
    LifecycleStageChange,
    OnboardingPlan,
    Task,
)
from tests.factories import AccountFactory, ContactFactory, DealFactory, MembershipFactory

S = LifecycleStage


@pytest.fixture
def as_role(org, scope):
    def make(role: str) -> Tenant:
        membership = MembershipFactory(organization=org, role=role)
        return Tenant(organization=org, role=role, user=membership.user)

    return make


@pytest.fixture
def ae(as_role):
    return as_role(Role.AE)


@pytest.fixture
def csm(as_role):
    return as_role(Role.CSM)


@pytest.fixture
def admin(as_role):
    return as_role(Role.ADMIN)


def refusal(excinfo, field="lifecycle_stage") -> str:
    return " ".join(excinfo.value.message_dict[field])


def qualify(tenant, contact, *, questions=True, three_ws=False):
    answers = {}
    if questions:
        answers.update(
            adoption="Line monitoring", scale="12 instances, 3 devs", production_use="Yes", next_year_plans="MES"
        )
    if three_ws:
        answers.update(why_change="Legacy SCADA", why_now="Plant opens in Q2", why_us="Fleet management")
    return services.qualification_save(tenant=tenant, contact=contact, **answers)


# --- Lifecycle stages --------------------------------------------------------------------------------------------


def test_contacts_move_forward_one_stage_at_a_time_and_history_keeps_each_step(org, ae):
    contact = contact_create(tenant=ae, email="robin@quarry.example", lifecycle_stage=S.SUBSCRIBER)
    services.contact_stage_change(tenant=ae, contact=contact, to_stage=S.LEAD, reason="Webinar sign-up")
    services.contact_stage_change(tenant=ae, contact=contact, to_stage=S.MARKETING_QUALIFIED_LEAD)
    history = list(LifecycleStageChange.objects.filter(contact=contact).order_by("changed_at", "id"))
    assert [(h.from_stage, h.to_stage) for h in history] == [
        ("", S.SUBSCRIBER),
        (S.SUBSCRIBER, S.LEAD),
        (S.LEAD, S.MARKETING_QUALIFIED_LEAD),
    ]
    assert history[1].reason == "Webinar sign-up"
    assert history[1].changed_by == ae.user


def test_skipping_a_stage_is_refused_and_names_the_next_one(ae):
    contact = contact_create(tenant=ae, email="robin@quarry.example", lifecycle_stage=S.SUBSCRIBER)
    with pytest.raises(ValidationError) as excinfo:
        services.contact_stage_change(tenant=ae, contact=contact, to_stage=S.MARKETING_QUALIFIED_LEAD)
    assert "from Subscriber the next stage is Lead" in refusal(excinfo)
    contact.refresh_from_db()
    assert contact.lifecycle_stage == S.SUBSCRIBER


def test_mql_to_sql_needs_the_four_qualifying_answers(ae):
    contact = contact_create(tenant=ae, email="robin@quarry.example", lifecycle_stage=S.MARKETING_QUALIFIED_LEAD)
    services.qualification_save(tenant=ae, contact=contact, adoption="Yes, dashboards", scale="4 instances")
    with pytest.raises(ValidationError) as excinfo:
        services.contact_stage_change(tenant=ae, contact=contact, to_stage=S.SALES_QUALIFIED_LEAD)
    message = refusal(excinfo)
    assert "qualifying questions" in message
    assert "production" in message
    assert "next year" in message
    assert "instances" not in message  # answered ones are not listed
    qualify(ae, contact)
    services.contact_stage_change(tenant=ae, contact=contact, to_stage=S.SALES_QUALIFIED_LEAD)
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == S.SALES_QUALIFIED_LEAD


def test_sql_to_opportunity_needs_the_three_ws_and_an_open_deal(ae):
    account = AccountFactory(organization=ae.organization, name="Quarry Labs")
    contact = ContactFactory(account=account, lifecycle_stage=S.SALES_QUALIFIED_LEAD)
    with pytest.raises(ValidationError) as excinfo:
        services.contact_stage_change(tenant=ae, contact=contact, to_stage=S.OPPORTUNITY)
    assert "three W's" in refusal(excinfo)
    assert "Why now?" in refusal(excinfo)
    qualify(ae, contact, questions=False, three_ws=True)
    with pytest.raises(ValidationError) as excinfo:
        services.contact_stage_change(tenant=ae, contact=contact, to_stage=S.OPPORTUNITY)
    assert "open a deal" in refusal(excinfo).lower() or "open one for Quarry Labs" in refusal(excinfo)
    DealFactory(account=account)
    services.contact_stage_change(tenant=ae, contact=contact, to_stage=S.OPPORTUNITY)
    contact.refresh_from_db()
    assert contact.lifecycle_stage == S.OPPORTUNITY
    assert contact.lead_status == LeadStatus.OPEN_DEAL


def test_the_three_ws_are_written_to_the_account_as_a_note(ae):
    account = AccountFactory(organization=ae.organization)
    contact = ContactFactory(account=account)
    qualify(ae, contact, questions=False, three_ws=True)
    note = account.notes.get()
    assert "Why change? Legacy SCADA" in note.body
    assert "Why now? Plant opens in Q2" in note.body
    qualify(ae, contact, questions=False, three_ws=True)  # unchanged answers: no second note
    assert account.notes.count() == 1


def test_customer_means_an_active_paying_account(ae):
    account = AccountFactory(organization=ae.organization, name="Tiny Trial Co", cohort="trial")
    contact = ContactFactory(account=account, lifecycle_stage=S.OPPORTUNITY)
    with pytest.raises(ValidationError) as excinfo:
        services.contact_stage_change(tenant=ae, contact=contact, to_stage=S.CUSTOMER)
    assert "active, paying account" in refusal(excinfo)
    assert "Tiny Trial Co" in refusal(excinfo)
    account_update(tenant=ae, account=account, cohort="starter")
    contact.refresh_from_db()
    services.contact_stage_change(tenant=ae, contact=contact, to_stage=S.CUSTOMER)


def test_pql_only_for_contacts_not_already_mql_sql_or_opportunity_and_only_by_csms(csm, ae):
    lead = ContactFactory(account__organization=csm.organization, lifecycle_stage=S.LEAD)
    with pytest.raises(ValidationError) as excinfo:
        services.contact_stage_change(tenant=ae, contact=lead, to_stage=S.PRODUCT_QUALIFIED_LEAD)
    assert "Customer success sets Product Qualified Lead" in refusal(excinfo)
    services.contact_stage_change(tenant=csm, contact=lead, to_stage=S.PRODUCT_QUALIFIED_LEAD)
    for stage in (S.MARKETING_QUALIFIED_LEAD, S.SALES_QUALIFIED_LEAD, S.OPPORTUNITY):
        contact = ContactFactory(account__organization=csm.organization, lifecycle_stage=stage)
        with pytest.raises(ValidationError) as excinfo:
            services.contact_stage_change(tenant=csm, contact=contact, to_stage=S.PRODUCT_QUALIFIED_LEAD)
        assert "not already an MQL, SQL or Opportunity" in refusal(excinfo)


def test_other_from_anywhere_evangelist_only_when_enabled(admin):
    contact = ContactFactory(account__organization=admin.organization, lifecycle_stage=S.OPPORTUNITY)
    services.contact_stage_change(tenant=admin, contact=contact, to_stage=S.OTHER)
    customer = ContactFactory(account__organization=admin.organization, lifecycle_stage=S.CUSTOMER)
    with pytest.raises(ValidationError) as excinfo:
        services.contact_stage_change(tenant=admin, contact=customer, to_stage=S.EVANGELIST)
    assert "not used in this organization" in refusal(excinfo)
    services.pipeline_settings_update(tenant=admin, evangelist_enabled=True)
    services.contact_stage_change(tenant=admin, contact=customer, to_stage=S.EVANGELIST)


def test_moving_back_is_an_admin_correction_with_a_reason(admin, ae):
    contact = ContactFactory(account__organization=ae.organization, lifecycle_stage=S.SALES_QUALIFIED_LEAD)
    with pytest.raises(ValidationError) as excinfo:
        services.contact_stage_change(tenant=ae, contact=contact, to_stage=S.LEAD)
    assert "is a correction: an admin makes it" in refusal(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        services.contact_stage_change(tenant=admin, contact=contact, to_stage=S.LEAD)
    assert "say why" in refusal(excinfo, "stage_change_reason")
    services.contact_stage_change(tenant=admin, contact=contact, to_stage=S.LEAD, reason="Imported at the wrong stage")
    change = LifecycleStageChange.objects.filter(contact=contact).latest("changed_at", "id")
    assert change.is_correction
    assert change.reason == "Imported at the wrong stage"


def test_contact_update_with_a_refused_stage_changes_nothing_else(ae):
    contact = ContactFactory(account__organization=ae.organization, lifecycle_stage=S.LEAD, title="Engineer")
    with pytest.raises(ValidationError):
        contact_update(tenant=ae, contact=contact, title="Head of OT", lifecycle_stage=S.OPPORTUNITY)
    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.title, stored.lifecycle_stage) == ("Engineer", S.LEAD)


def test_unresponsive_is_suggested_two_weeks_after_an_unanswered_outreach(ae):
    contact = ContactFactory(account__organization=ae.organization, lead_status=LeadStatus.OPEN)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        contact = services.contact_outreach_log(tenant=ae, contact=contact)
    assert contact.lead_status == LeadStatus.ATTEMPTED_TO_CONTACT
    assert not services.unresponsive_suggested(contact=contact, now=start + timedelta(days=13))
    assert services.unresponsive_suggested(contact=contact, now=start + timedelta(days=14))
    with time_machine.travel(start + timedelta(days=3), tick=False):
        contact = services.contact_reply_log(tenant=ae, contact=contact)
    assert contact.lead_status == LeadStatus.CONNECTED
    assert not services.unresponsive_suggested(contact=contact, now=start + timedelta(days=30))
    customer = ContactFactory(
        account__organization=ae.organization, lifecycle_stage=S.CUSTOMER, last_outreach_at=start
    )  # lead status is for leads (seed 002): a customer is not "unresponsive"
    assert not services.unresponsive_suggested(contact=customer, now=start + timedelta(days=30))


# --- Deals -------------------------------------------------------------------------------------------------------


def test_weighted_amount_follows_the_stage_and_the_organization_probabilities(admin):
    from lifecycle.selectors import DealFilters, deal_list

    account = AccountFactory(organization=admin.organization)
    deal = services.deal_create(tenant=admin, account=account, amount=Decimal("20000"))
    settings = services.pipeline_settings_get(organization=admin.organization)
    assert deal_list(filters=DealFilters(), pipeline_settings=settings).get().weighted_amount == Decimal("2000.00")
    settings = services.pipeline_settings_update(tenant=admin, probability_opportunity=25)
    assert deal_list(filters=DealFilters(), pipeline_settings=settings).get().weighted_amount == Decimal("5000.00")
    services.deal_move(tenant=admin, deal=deal, to_stage=DealStage.POC_STARTED)
    assert deal_list(filters=DealFilters(), pipeline_settings=settings).get().probability == 30


def test_new_deals_do_not_skip_stages_expansions_may(ae):
    account = AccountFactory(organization=ae.organization)
    new = services.deal_create(tenant=ae, account=account, amount=Decimal("1000"))
    with pytest.raises(ValidationError) as excinfo:
        services.deal_move(tenant=ae, deal=new, to_stage=DealStage.CONTRACT_SENT)
    assert "the next stage is POC Started" in refusal(excinfo, "stage")
    expansion = services.deal_create(tenant=ae, account=account, type=DealType.EXPANSION, amount=Decimal("1000"))
    services.deal_move(tenant=ae, deal=expansion, to_stage=DealStage.CONTRACT_SENT)
    services.deal_move(tenant=ae, deal=expansion, to_stage=DealStage.OPPORTUNITY)  # slipping back is allowed


def test_won_only_from_contract_sent_lost_needs_a_reason_from_the_list_closed_stays_closed(ae):
    deal = DealFactory(account__organization=ae.organization, stage=DealStage.VALUE_VALIDATED)
    with pytest.raises(ValidationError) as excinfo:
        services.deal_move(tenant=ae, deal=deal, to_stage=DealStage.CLOSED_WON)
    assert "won from Contract Sent" in refusal(excinfo, "stage")
    with pytest.raises(ValidationError) as excinfo:
        services.deal_move(tenant=ae, deal=deal, to_stage=DealStage.CLOSED_LOST)
    assert "choose a reason" in refusal(excinfo, "lost_reason")
    with pytest.raises(ValidationError) as excinfo:
        services.deal_move(tenant=ae, deal=deal, to_stage=DealStage.CLOSED_LOST, lost_reason="Astrology")
    assert "not one of this organization's reasons" in refusal(excinfo, "lost_reason")
    services.deal_move(tenant=ae, deal=deal, to_stage=DealStage.CLOSED_LOST, lost_reason="Price")
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason) == (DealStage.CLOSED_LOST, "Price")
    assert deal.closed_at
    with pytest.raises(ValidationError) as excinfo:
        services.deal_move(tenant=ae, deal=deal, to_stage=DealStage.OPPORTUNITY)
    assert "closed deals do not move" in refusal(excinfo, "stage")


def test_expansion_deals_get_the_seed_003_name(ae):
    account = AccountFactory(organization=ae.organization, name="ABC Test Company", cohort="premium")
    deal = services.deal_create(
        tenant=ae, account=account, type=DealType.EXPANSION, expected_close_date=date(2027, 2, 10)
    )
    assert deal.name == "AbcTestCompany_Premium_Expansion_Q12027"
    services.pipeline_settings_update(tenant=ae, product_name="Fleet")
    suggested = services.deal_create(
        tenant=ae, account=account, type=DealType.EXPANSION, expected_close_date=date(2027, 11, 30)
    )
    assert suggested.name == "AbcTestCompany_FleetPremium_Expansion_Q42027"
    named = services.deal_create(tenant=ae, account=account, type=DealType.EXPANSION, name="Custom name")
    assert named.name == "Custom name"


def test_a_deal_owner_must_be_a_member(ae, other_org):
    outsider = MembershipFactory(organization=other_org).user
    with pytest.raises(ValidationError) as excinfo:
        services.deal_create(tenant=ae, account=AccountFactory(organization=ae.organization), owner=outsider)
    assert "owner" in excinfo.value.message_dict


# --- Commit and handoff ------------------------------------------------------------------------------------------


def test_commit_assigns_the_accounts_csm_notifies_them_and_opens_the_onboarding_plan(
    ae, csm, django_capture_on_commit_callbacks
):
    account = AccountFactory(organization=ae.organization, csm_owner=csm.user)
    deal = DealFactory(account=account, owner=ae.user, stage=DealStage.CONTRACT_SENT)
    with time_machine.travel(timezone.now(), tick=False), django_capture_on_commit_callbacks(execute=True):
        plan = services.deal_commit(tenant=ae, deal=deal)
        today = timezone.localdate()
    assert plan.csm == csm.user
    steps = list(plan.tasks.order_by("position"))
    assert [step.title for step in steps][:2] == ["Kickoff call", "Goals captured"]
    assert len(steps) == 5
    assert all(step.assignee == csm.user for step in steps)
    assert steps[0].due_date == today + timedelta(days=3)
    notification = Notification.objects.get(recipient=csm.user)
    assert "onboarding" in notification.text
    assert mail.outbox[-1].to == [csm.user.email]
    assert "/accounts/" in mail.outbox[-1].body
    assert AuditEntry.objects.filter(action="deal.committed", account_id=account.pk).exists()
    # Committing again (a second click, a redelivered task) changes nothing.
    again = services.deal_commit(tenant=ae, deal=deal)
    assert again.pk == plan.pk
    assert Task.objects.count() == 5
    assert Notification.objects.count() == 1


def test_commit_without_an_account_csm_uses_round_robin_among_csms(ae, as_role):
    first, second = as_role(Role.CSM).user, as_role(Role.CSM).user
    picked = []
    for _ in range(3):
        deal = DealFactory(account__organization=ae.organization)
        picked.append(services.deal_commit(tenant=ae, deal=deal).csm)
    expected = sorted([first, second], key=lambda user: user.pk)
    assert picked == [expected[0], expected[1], expected[0]]


def test_commit_by_cohort_rule(admin, as_role):
    enterprise_csm, _ = as_role(Role.CSM).user, as_role(Role.CSM).user
    services.pipeline_settings_update(
        tenant=admin, csm_assignment_rule=CsmAssignmentRule.BY_COHORT, cohort_csms={"enterprise": enterprise_csm.pk}
    )
    deal = DealFactory(account__organization=admin.organization, account__cohort="enterprise")
    assert services.deal_commit(tenant=admin, deal=deal).csm == enterprise_csm


def test_commit_without_any_csm_is_refused_with_the_way_out(ae):
    deal = DealFactory(account__organization=ae.organization)
    with pytest.raises(ValidationError) as excinfo:
        services.deal_commit(tenant=ae, deal=deal)
    assert "add a member with the CSM role" in refusal(excinfo, "committed")
    assert not OnboardingPlan.objects.exists()


def test_a_commitment_is_not_taken_back(ae, csm):
    deal = DealFactory(account__organization=ae.organization, account__csm_owner=csm.user)
    services.deal_update(tenant=ae, deal=deal, committed=True)
    with pytest.raises(ValidationError) as excinfo:
        services.deal_update(tenant=ae, deal=Deal.objects.get(pk=deal.pk), committed=False)
    assert "committed" in excinfo.value.message_dict


def test_closed_won_completes_the_handoff(ae, csm):
    account = AccountFactory(organization=ae.organization, cohort="trial", csm_owner=None, ae_owner=None)
    opportunity = ContactFactory(account=account, lifecycle_stage=S.OPPORTUNITY)
    lead = ContactFactory(account=account, lifecycle_stage=S.LEAD)
    partner = ContactFactory(account=account, lifecycle_stage=S.OTHER)
    deal = DealFactory(account=account, owner=ae.user, stage=DealStage.CONTRACT_SENT)
    services.deal_move(tenant=ae, deal=deal, to_stage=DealStage.CLOSED_WON)
    account.refresh_from_db()
    assert account.csm_owner == csm.user  # the only CSM, by round robin
    assert account.ae_owner == ae.user  # the AE stays visible
    assert account.cohort == "starter"
    assert account.status == "active"
    assert [c.to_cohort for c in CohortChange.objects.filter(account=account).order_by("changed_at", "id")][-1] == (
        "starter"
    )
    assert Contact.objects.get(pk=opportunity.pk).lifecycle_stage == S.CUSTOMER
    assert Contact.objects.get(pk=lead.pk).lifecycle_stage == S.CUSTOMER
    assert Contact.objects.get(pk=partner.pk).lifecycle_stage == S.OTHER
    actions = set(AuditEntry.objects.filter(account_id=account.pk).values_list("action", flat=True))
    assert {"deal.committed", "account.handoff_completed"} <= actions


def test_losing_a_committed_deal_cancels_its_onboarding(ae, csm):
    deal = DealFactory(account__organization=ae.organization, account__csm_owner=csm.user)
    plan = services.deal_commit(tenant=ae, deal=deal)
    services.deal_move(tenant=ae, deal=deal, to_stage=DealStage.CLOSED_LOST, lost_reason="No budget")
    plan.refresh_from_db()
    assert plan.status == OnboardingPlan.Status.CANCELLED
    assert not plan.tasks.filter(status=Task.Status.OPEN).exists()


def test_completing_the_last_onboarding_step_completes_the_plan(ae, csm):
    deal = DealFactory(account__organization=ae.organization, account__csm_owner=csm.user)
    plan = services.deal_commit(tenant=ae, deal=deal)
    tasks = list(plan.tasks.all())
    for task in tasks[:-1]:
        services.task_complete(tenant=csm, task=task)
    plan.refresh_from_db()
    assert plan.status == OnboardingPlan.Status.OPEN
    services.task_complete(tenant=csm, task=tasks[-1])
    services.task_complete(tenant=csm, task=tasks[-1])  # twice: no second audit entry
    plan.refresh_from_db()
    assert plan.status == OnboardingPlan.Status.COMPLETED
    assert AuditEntry.objects.filter(action="task.completed").count() == len(tasks)
    services.task_reopen(tenant=csm, task=tasks[-1])
    plan.refresh_from_db()
    assert plan.status == OnboardingPlan.Status.OPEN


def test_task_needs_a_title_and_a_member_assignee(ae, other_org):
    account = AccountFactory(organization=ae.organization)
    with pytest.raises(ValidationError) as excinfo:
        services.task_create(
            tenant=ae, account=account, title=" ", assignee=MembershipFactory(organization=other_org).user
        )
    assert set(excinfo.value.message_dict) == {"title", "assignee"}


# --- Cohorts -----------------------------------------------------------------------------------------------------


def test_cohort_changes_are_kept_with_dates_and_the_report_times_each_step(ae):
    from lifecycle.selectors import cohort_moves_report

    start = timezone.now() - timedelta(days=100)
    with time_machine.travel(start, tick=False):
        from accounts.services import account_create

        account = account_create(tenant=ae, name="Bluefin", cohort="trial")
    with time_machine.travel(start + timedelta(days=30), tick=False):
        account_update(tenant=ae, account=account, cohort="starter")
    with time_machine.travel(start + timedelta(days=90), tick=False):
        account_update(tenant=ae, account=account, cohort="premium")
    path = [(c.from_cohort, c.to_cohort) for c in CohortChange.objects.filter(account=account).order_by("changed_at")]
    assert path == [("", "trial"), ("trial", "starter"), ("starter", "premium")]
    report = cohort_moves_report(start=start, end=timezone.now())
    steps = {step.label: step for step in report["steps"]}
    assert steps["Trial → Starter"].moves == 1
    assert steps["Trial → Starter"].average_days == 30.0
    assert steps["Starter → Premium"].average_days == 60.0
    assert steps["Premium → Enterprise"].moves == 0
    assert report["upgrades"] == 2
    assert report["downgrades"] == 0


# --- Selectors behind the reports --------------------------------------------------------------------------------


def test_forecast_keeps_two_owners_with_one_name_apart(admin, org):
    from lifecycle.selectors import deals_weighted, pipeline_forecast

    first = MembershipFactory(organization=org, role=Role.AE, user__first_name="Sam", user__last_name="Lee").user
    second = MembershipFactory(organization=org, role=Role.AE, user__first_name="Sam", user__last_name="Lee").user
    for owner in (first, second):
        DealFactory(account__organization=org, owner=owner, amount=1000, expected_close_date=date(2027, 3, 1))
    forecast = pipeline_forecast(
        deals=deals_weighted(pipeline_settings=services.pipeline_settings_get(organization=org)), currency="USD"
    )
    assert sorted(forecast.owners) == sorted([f"Sam Lee ({first.email})", f"Sam Lee ({second.email})"])
    assert all(values == [100.0] for values in forecast.weighted.values())


def test_funnel_everyone_counts_a_contact_once_across_owners(admin, org):
    from lifecycle.selectors import lifecycle_funnel

    owner_a = MembershipFactory(organization=org, role=Role.AE).user
    owner_b = MembershipFactory(organization=org, role=Role.AE).user
    start = timezone.now()
    contact = contact_create(tenant=admin, email="twice@quarry.example", owner=owner_a)
    services.contact_stage_change(tenant=admin, contact=contact, to_stage=S.LEAD)
    services.contact_stage_change(tenant=admin, contact=contact, to_stage=S.SUBSCRIBER, reason="Too early")
    contact_update(tenant=admin, contact=contact, owner=owner_b)
    services.contact_stage_change(tenant=admin, contact=contact, to_stage=S.LEAD)
    rows = lifecycle_funnel(start=start - timedelta(minutes=1), end=timezone.now() + timedelta(minutes=1))
    by_owner = {row.owner_id: row for row in rows}
    lead = FUNNEL_LEAD_INDEX
    assert by_owner[owner_a.pk].steps[lead].entered == 1
    assert by_owner[owner_b.pk].steps[lead].entered == 1
    assert rows[0].owner == "Everyone"
    assert rows[0].steps[lead].entered == 1


FUNNEL_LEAD_INDEX = 1
