"""The handoff in a real browser: an AE walks a deal across the board to Contract Sent and commits it; the CSM
finds the onboarding plan in "My work"."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from accounts.services import account_create
from core.services import member_add, organization_create
from core.tenancy import Tenant, tenant_scope
from lifecycle.models import Deal, DealStage, OnboardingPlan
from lifecycle.services import deal_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def make_member(organization, email: str, role: str, first_name: str):
    user = get_user_model().objects.create_user(username=email, email=email, password=PASSWORD, first_name=first_name)
    member_add(tenant=None, organization=organization, user=user, role=role)
    return user


@pytest.fixture
def pipeline():
    organization = organization_create(slug="northwind", name="Northwind Robotics")
    ae = make_member(organization, "jordan@northwind.test", "ae", "Jordan")
    make_member(organization, "casey@northwind.test", "csm", "Casey")
    with tenant_scope(organization):
        tenant = Tenant(organization=organization, role="ae", user=ae)
        account = account_create(tenant=tenant, name="Bluefin Logistics", cohort="premium", arr=Decimal("24000"))
        deal = deal_create(tenant=tenant, account=account, name="Bluefin rollout", amount=Decimal("48000"))
    return organization, deal


def sign_in(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Good").wait_for()


def test_ae_moves_a_deal_to_contract_sent_and_commits_it_and_the_csm_sees_the_plan(live_server, browser, pipeline):
    organization, deal = pipeline
    ae_page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    ae_page.set_default_timeout(10_000)
    sign_in(ae_page, live_server, "jordan@northwind.test")
    ae_page.get_by_role("link", name="Pipeline", exact=True).click()
    card = ae_page.get_by_test_id(f"deal-{deal.pk}")
    assert "Bluefin rollout" in ae_page.get_by_test_id("column-opportunity").inner_text()

    # Drag and drop onto the next column.
    card.drag_to(ae_page.get_by_test_id("column-poc_started"))
    ae_page.get_by_text("Bluefin rollout moved to POC Started.").wait_for()

    # A skipped stage is refused with the reason, and the card stays where it was.
    ae_page.get_by_label("Move Bluefin rollout to").select_option("contract_sent")
    ae_page.get_by_test_id(f"deal-{deal.pk}").get_by_role("button", name="Move").click()
    ae_page.get_by_text("the next stage is Value Validated").wait_for()
    assert "Bluefin rollout" in ae_page.get_by_test_id("column-poc_started").inner_text()

    # The keyboard-friendly way: the card's own "Move to" menu, one stage at a time.
    for stage, label in (("value_validated", "Value Validated"), ("contract_sent", "Contract Sent")):
        menu = ae_page.get_by_label("Move Bluefin rollout to")
        menu.focus()
        menu.select_option(stage)
        ae_page.keyboard.press("Tab")  # the lost-reason menu is hidden (not focusable) until Closed Lost is chosen
        ae_page.keyboard.press("Enter")
        ae_page.get_by_text(f"Bluefin rollout moved to {label}.").wait_for()
    column = ae_page.get_by_test_id("column-contract_sent")
    assert "Bluefin rollout" in column.inner_text()
    assert ae_page.get_by_test_id("weighted-contract_sent").inner_text() == "$43,200"

    ae_page.get_by_test_id(f"deal-{deal.pk}").get_by_role("button", name="Commit → hand to CSM").click()
    ae_page.get_by_text("Bluefin rollout committed. Casey was told and has the onboarding plan.").wait_for()
    assert "Committed" in ae_page.get_by_test_id(f"deal-{deal.pk}").inner_text()
    ae_page.context.close()

    with tenant_scope(organization):
        stored = Deal.objects.get(pk=deal.pk)
        assert (stored.stage, stored.committed) == (DealStage.CONTRACT_SENT, True)
        assert OnboardingPlan.objects.get(deal=stored).csm.email == "casey@northwind.test"

    csm_page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    csm_page.set_default_timeout(10_000)
    sign_in(csm_page, live_server, "casey@northwind.test")
    assert csm_page.get_by_test_id("notification-count").inner_text() == "1"
    csm_page.get_by_role("link", name="My work").click()
    csm_page.get_by_role("heading", name="My work").wait_for()
    assert "5 open tasks" in csm_page.get_by_test_id("my-work-summary").inner_text()
    assert "Kickoff call" in csm_page.content()
    assert "committed Bluefin rollout: onboarding of Bluefin Logistics starts with you" in csm_page.content()

    csm_page.get_by_role("button", name="Mark done: Kickoff call").click()
    csm_page.get_by_text("Done: Kickoff call.").wait_for()
    csm_page.get_by_role("link", name="Bluefin Logistics").first.click()
    assert "1 of 5 steps done" in csm_page.get_by_test_id("plan-progress").inner_text()
    csm_page.context.close()
