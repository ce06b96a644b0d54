"""In a real browser: a CSM opens an account, reads its health card, overrides the score (first forgetting the
reason, which the card refuses in place), and sees both the override and the computed score."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.services import account_create
from core.services import member_add, organization_create
from core.tenancy import Tenant, tenant_scope
from health.services import health_compute
from tests.health.factories import usage_days

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def scored_account():
    organization = organization_create(slug="northwind", name="Northwind Robotics")
    csm = get_user_model().objects.create_user(
        username="casey@northwind.test", email="casey@northwind.test", password=PASSWORD, first_name="Casey"
    )
    member_add(tenant=None, organization=organization, user=csm, role="csm")
    with tenant_scope(organization):
        account = account_create(
            tenant=Tenant(organization=organization, role="csm", user=csm), name="Bluefin Logistics", cohort="premium"
        )
        usage_days(account, users=4, days=30, today=timezone.localdate())
        health_compute(organization=organization)
    return organization, account


def test_csm_overrides_the_health_score_on_the_account_page(live_server, page, scored_account):
    organization, account = scored_account
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("casey@northwind.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Good").wait_for()

    page.goto(f"{live_server.url}/o/{organization.slug}/accounts/{account.pk}/")
    card = page.get_by_test_id("account-health")
    card.get_by_test_id("health-factors").wait_for()
    computed = card.get_by_test_id("health-score").inner_text().split()[0]
    assert card.get_by_test_id("health-missing").is_visible()

    card.get_by_text("Override the score…").click()
    form = card.get_by_test_id("health-override-form")
    form.get_by_label("Score (0 to 100)").fill("88")
    form.get_by_label("Until").fill((timezone.localdate() + timedelta(days=14)).isoformat())
    form.get_by_role("button", name="Save override").click()
    page.get_by_text("This field is required.").wait_for()  # the reason, refused in place

    form = page.get_by_test_id("health-override-form")
    form.get_by_label("Reason").fill("Signed a three-year renewal yesterday")
    form.get_by_role("button", name="Save override").click()
    card = page.get_by_test_id("account-health")
    card.get_by_test_id("health-override").wait_for()
    assert card.get_by_test_id("health-score").inner_text().split()[0] == "88"
    assert "Signed a three-year renewal yesterday" in card.get_by_test_id("health-override").inner_text()
    assert f"Computed score: {computed}" in card.get_by_test_id("health-computed").inner_text()
