"""The CSM's morning, in a real browser: sign in, find an account, open it, change it."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Account
from accounts.services import account_create, contact_create
from core.services import member_add, organization_create
from core.tenancy import Tenant, tenant_scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def csm_with_accounts():
    organization = organization_create(slug="northwind", name="Northwind Robotics")
    user = get_user_model().objects.create_user(
        username="casey@northwind.test", email="casey@northwind.test", password=PASSWORD, first_name="Casey"
    )
    member_add(tenant=None, organization=organization, user=user, role="csm")
    tenant = Tenant(organization=organization, role="csm", user=user)
    with tenant_scope(organization):
        for index, (name, cohort, arr) in enumerate(
            [
                ("Bluefin Logistics", "enterprise", "120000"),
                ("Quarry Labs", "premium", "24000"),
                ("Harbor Freight Systems", "premium", "18000"),
                ("Tiny Trial Co", "trial", "0"),
            ]
        ):
            account = account_create(
                tenant=tenant,
                name=name,
                domain=f"{name.split()[0].lower()}.example",
                cohort=cohort,
                arr=Decimal(arr),
                csm_owner=user,
                renewal_date=timezone.localdate() + datetime.timedelta(days=30 * (index + 1)),
            )
            contact_create(
                tenant=tenant,
                first_name="Robin",
                last_name=f"Mayer{index}",
                email=f"robin{index}@example.com",
                account=account,
            )
    return organization


def test_csm_signs_in_filters_opens_and_edits_an_account(live_server, page, csm_with_accounts):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("casey@northwind.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("heading", name="Good").wait_for()
    assert "Northwind Robotics" in page.get_by_test_id("current-org").inner_text()

    page.get_by_role("link", name="Accounts", exact=True).click()
    rows = page.get_by_test_id("account-table").locator("tbody tr")
    assert rows.count() == 4

    # Filtering by cohort swaps the table in place (htmx) and keeps the filter in the URL.
    page.get_by_label("Cohort").select_option("premium")
    page.wait_for_url("**cohort=premium**")
    page.wait_for_function("document.querySelectorAll('[data-testid=account-table] tbody tr').length === 2")
    names = rows.locator("a.primary").all_inner_texts()
    assert sorted(names) == ["Harbor Freight Systems", "Quarry Labs"]
    assert "2 accounts" in page.get_by_test_id("result-count").inner_text()

    page.get_by_role("link", name="Quarry Labs").click()
    assert page.get_by_test_id("account-name").inner_text() == "Quarry Labs"
    page.wait_for_load_state("load")  # the header arrives before the rest of the page has streamed in
    assert "Robin Mayer1" in page.content()

    page.get_by_role("link", name="Edit account").click()
    page.get_by_label("ARR").fill("-10")
    page.get_by_role("button", name="Save changes").click()
    assert "Must be zero or more." in page.locator(".field.has-error").inner_text()

    page.get_by_label("ARR").fill("36000")
    page.get_by_label("Cohort").select_option("enterprise")
    page.get_by_role("button", name="Save changes").click()

    page.get_by_text("Account saved.").wait_for()
    assert "$36,000" in page.content()
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "changed the account" in timeline
    assert "36000" in timeline

    with tenant_scope(csm_with_accounts):
        account = Account.objects.get(name="Quarry Labs")
    assert account.arr == Decimal("36000")
    assert account.cohort == "enterprise"
