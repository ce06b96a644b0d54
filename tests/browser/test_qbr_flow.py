"""A QBR in a real browser: a CSM opens an overdue programme account, schedules its QBR, sees the data pack,
records outcomes and an action item, and downloads the PDF."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Account
from accounts.services import account_create
from core.services import member_add, organization_create
from core.tenancy import Tenant, tenant_scope
from lifecycle.models import Task
from qbr.models import Meeting, MeetingStatus
from qbr.services import qbr_proposals_create
from tests.factories import ContactFactory
from tickets.models import Priority, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def programme():
    organization = organization_create(slug="northwind", name="Northwind Robotics")
    csm = get_user_model().objects.create_user(
        username="casey@northwind.test", email="casey@northwind.test", password=PASSWORD, first_name="Casey"
    )
    member_add(tenant=None, organization=organization, user=csm, role="csm")
    with tenant_scope(organization):
        tenant = Tenant(organization=organization, role="csm", user=csm)
        account = account_create(
            tenant=tenant, name="Bluefin Logistics", cohort="premium", arr=Decimal("24000"), csm_owner=csm
        )
        # A customer for a year, and no QBR yet: overdue.
        Account.objects.filter(pk=account.pk).update(created_at=timezone.now() - timedelta(days=365))
        ContactFactory(account=account, first_name="Robin", last_name="Mayer", email="robin@bluefin.example")
        Ticket.objects.create(
            organization=organization, number=1, subject="Line 3 dashboards down", account=account,
            priority=Priority.P1, status="closed", closed_at=timezone.now() - timedelta(days=9),
        )  # fmt: skip
        # The daily schedule already proposed a date; scheduling another withdraws it.
        (proposal,) = qbr_proposals_create(organization=organization)
        assert proposal.status == MeetingStatus.PROPOSED
    return organization, account


def test_csm_schedules_an_overdue_qbr_records_outcomes_and_downloads_the_pdf(live_server, page, programme):
    organization, account = programme
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("casey@northwind.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Good").wait_for()

    page.get_by_role("link", name="QBRs and meetings").click()
    page.get_by_role("heading", name="QBR programme").wait_for()
    row = page.get_by_test_id(f"programme-row-{account.pk}")
    assert "Overdue" in row.inner_text()
    assert page.get_by_test_id("overdue-count").inner_text() == "1"
    row.get_by_role("link", name="Bluefin Logistics").click()

    page.get_by_role("heading", name="QBRs and meetings").wait_for()
    assert "overdue" in page.get_by_test_id("programme-status").inner_text()
    page.get_by_test_id("proposals").get_by_role("link", name="Schedule QBR on this date").first.click()

    page.get_by_role("heading", name="Schedule a meeting with Bluefin Logistics").wait_for()
    page.get_by_label("Robin Mayer").check()
    page.get_by_label("Video link").fill("https://meet.example/bluefin-qbr")
    page.get_by_label("Agenda items").fill("Rollout to the second plant")
    page.get_by_role("button", name="Schedule").click()

    page.get_by_text("scheduled for").wait_for()
    summary = page.get_by_test_id("meeting-summary").inner_text()
    assert "Quarterly business review" in summary
    assert "Scheduled" in summary
    pack = page.get_by_test_id("data-pack")
    # The account was scored when its data committed (an event per change): no usage reported, so it says so.
    health = page.get_by_test_id("pack-health").inner_text()
    assert "at the start of the quarter" in health
    assert "No data for Usage trend" in health
    assert "Line 3 dashboards down" in page.get_by_test_id("pack-incidents").inner_text()
    assert "Source: Support inbox" in pack.inner_text()
    assert "ARR $24,000" in page.get_by_test_id("pack-revenue").inner_text()

    outcomes = page.get_by_test_id("outcomes")
    outcomes.get_by_label("Relationship building").fill("Candid about the second plant.")
    outcomes.get_by_label("Broader feature adoption").fill("They will try device groups.")
    outcomes.get_by_label("Meeting notes").fill("Good review with the plant managers.")
    outcomes.get_by_role("button", name="Save outcomes and mark held").click()
    page.get_by_text("Outcomes recorded; the meeting is marked held.").wait_for()
    assert "Held" in page.get_by_test_id("meeting-summary").inner_text()
    assert "Candid about the second plant." in page.get_by_test_id("outcome-relationship").inner_text()

    items = page.get_by_test_id("action-items")
    items.get_by_label("Action item").fill("Send the device groups guide")
    items.get_by_label("Due").fill((timezone.localdate() + timedelta(days=5)).isoformat())
    items.get_by_label("Due").press("Enter")  # keyboard: submit from the last field
    page.get_by_text("Action item added for Casey").wait_for()
    assert "Send the device groups guide" in page.get_by_test_id("action-items").inner_text()

    with page.expect_download() as download_info:
        page.get_by_test_id("download-pdf").click()
    download = download_info.value
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert download.suggested_filename.endswith(".pdf")

    page.get_by_role("link", name="My work").click()
    page.get_by_role("heading", name="My work").wait_for()
    assert "Send the device groups guide" in page.content()

    with tenant_scope(organization):
        qbr = Meeting.objects.get(account=account, status=MeetingStatus.HELD)
        assert qbr.goal_outcomes["relationship"] == "Candid about the second plant."
        assert Task.objects.get(title="Send the device groups guide").assignee.email == "casey@northwind.test"
        assert not Meeting.objects.filter(account=account, status=MeetingStatus.PROPOSED).exists()
        assert Meeting.objects.filter(account=account, status=MeetingStatus.CANCELLED).count() == 1
