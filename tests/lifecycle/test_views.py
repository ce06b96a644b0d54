"""The lifecycle pages as people use them: the board, deals, My work, stage moves, settings."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Contact, LeadStatus, LifecycleStage
from core.models import Role
from lifecycle.models import Deal, DealStage, OnboardingPlan, OnboardingStepTemplate, PipelineSettings, Task
from tests.factories import AccountFactory, ContactFactory, DealFactory, MembershipFactory, TaskFactory


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def ae(client_for):
    return client_for(Role.AE)


def test_board_shows_each_column_with_count_and_weighted_total(org, ae):
    account = AccountFactory(organization=org)
    DealFactory(account=account, amount=20000, stage=DealStage.OPPORTUNITY)
    DealFactory(account=account, amount=10000, stage=DealStage.CONTRACT_SENT)
    DealFactory(account=account, amount=5000, stage=DealStage.CONTRACT_SENT)
    html = page(ae.get(f"/o/{org.slug}/pipeline/"))
    assert 'data-testid="count-opportunity">1<' in html
    assert 'data-testid="count-contract_sent">2<' in html
    assert 'data-testid="weighted-opportunity">$2,000<' in html
    assert 'data-testid="weighted-contract_sent">$13,500<' in html  # 90% of 15,000
    assert "3 open deals" in html


def test_board_filters_by_owner_type_and_quarter(org, ae):
    owner = MembershipFactory(organization=org, role=Role.AE).user
    account = AccountFactory(organization=org)
    DealFactory(account=account, name="Mine in Q1", owner=owner, expected_close_date="2027-02-01")
    DealFactory(account=account, name="Other owner", expected_close_date="2027-02-01")
    DealFactory(account=account, name="Mine later", owner=owner, expected_close_date="2027-09-01", type="renewal")
    html = page(ae.get(f"/o/{org.slug}/pipeline/", {"owner": owner.pk, "close_quarter": "2027-Q1"}))
    assert "Mine in Q1" in html
    assert "Other owner" not in html
    assert "Mine later" not in html
    html = page(ae.get(f"/o/{org.slug}/deals/", {"type": "renewal"}))
    assert "Mine later" in html
    assert "Mine in Q1" not in html


def test_moving_a_card_and_a_refused_move(org, ae):
    deal = DealFactory(account=AccountFactory(organization=org), name="Quarry rollout")
    board = f"/o/{org.slug}/pipeline/"
    response = ae.post(f"/o/{org.slug}/deals/{deal.pk}/move/", {"stage": "poc_started", "next": board})
    assert response.status_code == 302
    assert response["Location"] == board
    assert "Quarry rollout moved to POC Started" in page(ae.get(board))
    ae.post(f"/o/{org.slug}/deals/{deal.pk}/move/", {"stage": "closed_won", "next": board})
    html = page(ae.get(board))
    assert "Quarry rollout stays in POC Started" in html
    assert "won from Contract Sent" in html
    assert Deal.objects.with_scopes_disabled().get(pk=deal.pk).stage == DealStage.POC_STARTED


def test_committing_from_the_board_gives_the_csm_the_plan_in_my_work(org, ae, client_for):
    csm_client = client_for(Role.CSM)
    deal = DealFactory(account=AccountFactory(organization=org, name="Bluefin"), stage=DealStage.CONTRACT_SENT)
    response = ae.post(f"/o/{org.slug}/deals/{deal.pk}/commit/")
    assert response.status_code == 302
    plan = OnboardingPlan.objects.with_scopes_disabled().get(deal_id=deal.pk)
    assert plan.csm == csm_client.user
    my_work = page(csm_client.get(f"/o/{org.slug}/my-work/"))
    assert "Kickoff call" in my_work
    assert "Bluefin" in my_work
    assert "onboarding of Bluefin starts with you" in my_work  # the notification


def test_my_work_lists_overdue_first_and_clears_the_badge(org, client_for):
    csm = client_for(Role.CSM)
    account = AccountFactory(organization=org)
    today = timezone.localdate()
    TaskFactory(account=account, assignee=csm.user, title="Later task", due_date=today + timedelta(days=20))
    TaskFactory(account=account, assignee=csm.user, title="Late task", due_date=today - timedelta(days=3))
    TaskFactory(account=account, assignee=csm.user, title="Done task", status=Task.Status.DONE)
    TaskFactory(account=account, title="Someone else's task")
    html = page(csm.get(f"/o/{org.slug}/my-work/"))
    assert html.index("Late task") < html.index("Later task")
    assert "Done task" not in html
    assert "Someone else" not in html
    assert "1 overdue" in html


def test_notification_badge_counts_unread(org, client_for):
    from core.models import Notification

    csm = client_for(Role.CSM)
    Notification.objects.with_scopes_disabled().create(organization=org, recipient=csm.user, text="Hello")
    assert 'data-testid="notification-count"' in page(csm.get(f"/o/{org.slug}/notifications/badge/"))
    csm.get(f"/o/{org.slug}/my-work/")
    assert "notification-count" not in page(csm.get(f"/o/{org.slug}/notifications/badge/"))


def test_contact_stage_refusal_is_shown_beside_the_field_and_nothing_is_lost(org, ae):
    contact = ContactFactory(account=AccountFactory(organization=org), lifecycle_stage=LifecycleStage.LEAD)
    response = ae.post(
        f"/o/{org.slug}/contacts/{contact.pk}/stage/",
        {"lifecycle_stage": "salesqualifiedlead", "stage_change_reason": "Demo went well"},
    )
    assert response.status_code == 400
    html = page(response)
    assert "from Lead the next stage is Marketing Qualified Lead" in html
    assert 'value="Demo went well"' in html
    ok = ae.post(f"/o/{org.slug}/contacts/{contact.pk}/stage/", {"lifecycle_stage": "marketingqualifiedlead"})
    assert ok.status_code == 302
    detail = page(ae.get(f"/o/{org.slug}/contacts/{contact.pk}/"))
    assert 'data-testid="stage-history"' in detail
    assert "Marketing Qualified Lead" in detail


def test_qualification_form_saves_answers_and_the_three_ws_note(org, ae):
    account = AccountFactory(organization=org)
    contact = ContactFactory(account=account)
    response = ae.post(
        f"/o/{org.slug}/contacts/{contact.pk}/qualification/",
        {"why_change": "Legacy SCADA", "why_now": "New plant", "why_us": "Fleet management"},
    )
    assert response.status_code == 302
    assert "Why now? New plant" in page(ae.get(f"/o/{org.slug}/accounts/{account.pk}/"))


def test_outreach_then_unresponsive_suggestion_on_the_contact_page(org, ae):
    contact = ContactFactory(account=AccountFactory(organization=org), lead_status=LeadStatus.OPEN)
    ae.post(f"/o/{org.slug}/contacts/{contact.pk}/outreach/", {"kind": "outreach"})
    Contact.objects.with_scopes_disabled().filter(pk=contact.pk).update(
        last_outreach_at=timezone.now() - timedelta(days=15)
    )
    assert 'data-testid="unresponsive-suggestion"' in page(ae.get(f"/o/{org.slug}/contacts/{contact.pk}/"))
    ae.post(f"/o/{org.slug}/contacts/{contact.pk}/outreach/", {"kind": "unresponsive"})
    contact.refresh_from_db()
    assert contact.lead_status == LeadStatus.UNRESPONSIVE


def test_deal_form_shows_field_errors_and_keeps_input(org, ae):
    account = AccountFactory(organization=org)
    response = ae.post(
        f"/o/{org.slug}/deals/new/",
        {"account": account.pk, "type": "new", "name": "Keep me", "amount": "-5", "stage": "opportunity"},
    )
    assert response.status_code == 200
    html = page(response)
    assert "Please correct the highlighted fields" in html
    assert 'value="Keep me"' in html
    response = ae.post(
        f"/o/{org.slug}/deals/new/",
        {"account": account.pk, "type": "new", "name": "Lost at once", "amount": "5", "stage": "closed_lost"},
    )
    assert "choose a reason" in page(response)


def test_name_suggestion_follows_seed_003(org, ae):
    account = AccountFactory(organization=org, name="ABC Test Company")
    html = page(
        ae.get(
            f"/o/{org.slug}/deals/name-suggestion/",
            {"account": account.pk, "type": "expansion", "expected_close_date": "2027-11-02"},
        )
    )
    assert "AbcTestCompany_" in html
    assert "_Expansion_Q42027" in html


def test_account_page_shows_deals_onboarding_tasks_and_cohort_path(org, ae, client_for):
    from accounts.services import account_update
    from core.tenancy import Tenant, tenant_scope
    from lifecycle.services import deal_commit

    csm = client_for(Role.CSM)
    account = AccountFactory(organization=org, name="Quarry Labs", csm_owner=csm.user, cohort="trial")
    deal = DealFactory(account=account, name="Quarry_Platform_New_Q12027")
    with tenant_scope(org):
        tenant = Tenant(organization=org, role=Role.ADMIN, user=csm.user)
        account_update(tenant=tenant, account=account, cohort="starter")
        deal_commit(tenant=tenant, deal=deal)
    html = page(ae.get(f"/o/{org.slug}/accounts/{account.pk}/"))
    assert "Quarry_Platform_New_Q12027" in html
    assert 'data-testid="onboarding-plan"' in html
    assert "0 of 5 steps done" in html
    assert 'data-testid="cohort-path"' in html
    assert "committed deal Quarry_Platform_New_Q12027" in html


def test_task_added_on_the_account_and_a_bad_one_says_why(org, ae):
    account = AccountFactory(organization=org)
    ae.post(f"/o/{org.slug}/accounts/{account.pk}/tasks/", {"title": "Send the QBR deck"})
    assert Task.objects.with_scopes_disabled().get(account_id=account.pk).assignee == ae.user
    ae.post(f"/o/{org.slug}/accounts/{account.pk}/tasks/", {"title": ""})
    assert "The task was not added" in page(ae.get(f"/o/{org.slug}/accounts/{account.pk}/"))


def test_pipeline_settings_change_probabilities_reasons_and_steps(org, client_for):
    admin = client_for(Role.ADMIN)
    url = f"/o/{org.slug}/settings/pipeline/"
    assert admin.get(url).status_code == 200
    response = admin.post(
        url,
        {
            "probability_opportunity": "15",
            "probability_poc_started": "30",
            "probability_value_validated": "60",
            "probability_contract_sent": "95",
            "lost_reasons": "Price\nTiming\n",
            "csm_assignment_rule": "round_robin",
            "product_name": "Platform",
        },
    )
    assert response.status_code == 302
    saved = PipelineSettings.objects.with_scopes_disabled().get(organization=org)
    assert (saved.probability_opportunity, saved.lost_reasons) == (15, ["Price", "Timing"])
    refused = admin.post(url, {"probability_opportunity": "150", "lost_reasons": "", "csm_assignment_rule": "x"})
    assert refused.status_code == 200
    assert "Please correct the highlighted fields" in page(refused)
    admin.post(
        f"/o/{org.slug}/settings/pipeline/steps/new/",
        {"new-title": "Security review", "new-assignee_role": "ae", "new-due_days": "10"},
    )
    assert OnboardingStepTemplate.objects.with_scopes_disabled().filter(organization=org, title="Security review")


@pytest.mark.parametrize("path", ["pipeline/", "deals/", "my-work/"])
def test_lists_run_constant_queries(org, client_for, path):
    csm = client_for(Role.CSM)

    def count_queries() -> int:
        csm.get(f"/o/{org.slug}/{path}")
        with CaptureQueriesContext(connection) as queries:
            assert csm.get(f"/o/{org.slug}/{path}").status_code == 200
        return len(queries)

    def add(n: int) -> None:
        for index in range(n):
            account = AccountFactory(organization=org)
            DealFactory(account=account, owner=csm.user, stage=DealStage.values[index % 6], lost_reason="Price")
            TaskFactory(account=account, assignee=csm.user, due_date=timezone.localdate())

    add(3)
    few = count_queries()
    add(24)
    assert count_queries() == few
