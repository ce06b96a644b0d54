"""The support inbox in a real browser: an agent takes an unassigned ticket by replying, mentions a colleague in an
internal comment, escalates the bug to the tracker, and cannot close the ticket until the issue is closed."""

import pytest
from django.contrib.auth import get_user_model

from core.secrets import seal
from core.services import member_add, organization_create
from core.tenancy import Tenant, tenant_scope
from tickets.models import Message, SupportSettings, Ticket
from tickets.services import ticket_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def make_member(organization, email: str, role: str, first_name: str):
    user = get_user_model().objects.create_user(username=email, email=email, password=PASSWORD, first_name=first_name)
    member_add(tenant=None, organization=organization, user=user, role=role)
    return user


@pytest.fixture
def inbox(httpserver):
    organization = organization_create(slug="northwind", name="Northwind Robotics")
    agent = make_member(organization, "sam@northwind.test", "support", "Sam")
    make_member(organization, "casey@northwind.test", "csm", "Casey")
    with tenant_scope(organization):
        SupportSettings.objects.create(
            organization=organization,
            github_repository="northwind/platform",
            github_api_url=httpserver.url_for("").rstrip("/"),
            github_token_sealed=seal("ghp_test_token"),
        )
        ticket = ticket_create(
            tenant=Tenant(organization=organization, role="support", user=agent),
            subject="Snapshots fail since the upgrade",
            body="Every snapshot ends with error 500.",
            requester_email="robin@quarry.example",
        )
    return organization, ticket


def test_agent_takes_comments_escalates_and_cannot_close_until_fixed(live_server, page, inbox, httpserver):
    organization, ticket = inbox
    httpserver.expect_request("/repos/northwind/platform/issues", method="POST").respond_with_json(
        {"number": 77, "html_url": "https://github.example/northwind/platform/issues/77", "state": "open"},
        status=201,
    )
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("sam@northwind.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Support inbox").click()
    page.get_by_role("link", name="Unassigned").click()
    page.get_by_role("link", name=f"#{ticket.number} Snapshots fail since the upgrade").click()
    assert page.get_by_test_id("ticket-owner").inner_text() == "Unassigned"

    # Replying makes Sam the owner (seed 000), and the text field keeps nothing once sent.
    page.keyboard.press("r")
    page.keyboard.type("Thanks, we are reproducing it. See https://docs.example/snapshots")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Reply sent.").wait_for()
    assert page.get_by_test_id("ticket-owner").inner_text() == "Sam"

    # An internal comment mentions Casey: marked as internal, and Casey is told.
    page.get_by_label("Internal comment").check()
    page.locator("#composer textarea").fill("@casey does the customer run the old agent?")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Comment added").wait_for()
    assert "Internal comment · not sent" in page.get_by_test_id("conversation").inner_text()

    # Escalate as a bug: the issue is created in the tracker and linked on the ticket.
    page.get_by_role("link", name="Escalate as bug").click()
    page.get_by_label("Version").fill("2.11.0")
    page.get_by_label("Environment").fill("FlowFuse Cloud")
    page.get_by_label("Expected behaviour").fill("The snapshot is created.")
    page.get_by_label("Steps to reproduce").fill("1. Open the instance\n2. Create a snapshot")
    page.get_by_label("Actual behaviour").fill("The snapshot fails with error 500.")
    page.get_by_role("button", name="Raise the issue").click()
    page.get_by_test_id("ticket-escalations").get_by_text("northwind/platform#77").wait_for()
    sent = httpserver.log[-1][0].get_json()
    assert "2.11.0" in sent["body"]
    assert "Quarry" not in sent["body"]  # the customer stays anonymous in the public tracker

    # Closing is refused while the bug is open.
    page.get_by_role("button", name="Close ticket").click()
    page.locator("#close-dialog").get_by_role("button", name="Close ticket").click()
    page.locator(".messages").get_by_text("stays open until its bug is resolved").wait_for()
    assert page.get_by_test_id("ticket-status").inner_text() != "Closed"

    with tenant_scope(organization):
        stored = Ticket.objects.get(pk=ticket.pk)
        assert stored.owner.email == "sam@northwind.test"
        comment = stored.messages.get(kind=Message.Kind.COMMENT)
        assert [user.email for user in comment.mentions.all()] == ["casey@northwind.test"]
