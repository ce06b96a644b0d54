"""Escalate as bug (seed 000 "Escalation", seed 003 bug reports) against a real HTTP server standing in for GitHub:
what is sent, what is stored, the close rule, the signed webhook, the periodic check and the pages."""

import hashlib
import hmac
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from werkzeug import Request, Response

from core.models import AuditEntry, Notification, Role
from core.secrets import unseal
from core.tenancy import Tenant
from tests.factories import AccountFactory, MembershipFactory
from tickets import escalation, services
from tickets.escalation_tasks import refresh_escalations_for_all_organizations
from tickets.models import Escalation, Message, Status, SupportSettings

TOKEN = "ghp_escalationTestToken7f3a"
WEBHOOK_SECRET = "hook-secret-9c41"
REPORT = {
    "title": "Editor crashes when a flow is deployed",
    "version": "2.14.1",
    "environment": "FlowFuse Cloud, Chrome 131 on macOS 15",
    "expected": "The flow deploys and the editor stays open.",
    "actual": "The editor reloads and shows 'Lost connection'.",
    "steps": "1. Open any flow\n2. Press Deploy",
}
# The escalation routes are not wired into cs_platform/urls.py yet; this urlconf places them where they will go.

CUSTOMER_DETAILS = ("Quarry Industries", "quarry.example", "robin.mayer@quarry.example", "Robin", "Mayer")


class FakeGitHub:
    """A stateful stand-in: issues are created with numbers from 123, read back, and closed by the test."""

    def __init__(self, server):
        self.server = server
        self.issues: dict[int, dict] = {}
        self.next_number = 123
        server.expect_request("/repos/acme/platform/issues", method="POST").respond_with_handler(self.create)
        server.expect_request(re.compile(r"^/repos/acme/platform/issues/\d+$"), method="GET").respond_with_handler(
            self.read
        )
        server.expect_request("/repos/acme/platform", method="GET").respond_with_json(
            {"full_name": "acme/platform", "has_issues": True, "permissions": {"push": True, "triage": True}}
        )

    def create(self, request: Request) -> Response:
        number, self.next_number = self.next_number, self.next_number + 1
        self.issues[number] = {
            "number": number,
            "html_url": f"https://github.example/acme/platform/issues/{number}",
            "state": "open",
        }
        return Response(json.dumps(self.issues[number]), status=201, content_type="application/json")

    def read(self, request: Request) -> Response:
        issue = self.issues.get(int(request.path.rsplit("/", 1)[1]))
        if issue is None:
            return Response(json.dumps({"message": "Not Found"}), status=404, content_type="application/json")
        return Response(json.dumps(issue), content_type="application/json")

    def close(self, number: int) -> None:
        self.issues[number]["state"] = "closed"

    def sent(self, method: str = "POST") -> list[Request]:
        return [request for request, _ in self.server.log if request.method == method]


@pytest.fixture
def agent(org, scope):
    membership = MembershipFactory(organization=org, role=Role.SUPPORT)
    return Tenant(organization=org, role=Role.SUPPORT, user=membership.user)


@pytest.fixture
def admin(org, scope):
    membership = MembershipFactory(organization=org, role=Role.ADMIN)
    return Tenant(organization=org, role=Role.ADMIN, user=membership.user)


@pytest.fixture
def github(httpserver, admin):
    escalation.github_settings_update(
        tenant=admin, repository="acme/platform", api_url=httpserver.url_for(""), token=TOKEN,
        webhook_secret=WEBHOOK_SECRET,
    )  # fmt: skip
    return FakeGitHub(httpserver)


@pytest.fixture
def ticket(agent, org):
    AccountFactory(organization=org, name="Quarry Industries", domain="quarry.example", codename="Ceres")
    ticket = services.ticket_create(
        tenant=agent, subject="Quarry Industries: the editor crashes on deploy",
        body="Deploying any flow crashes the editor.\n\nRobin Mayer\nQuarry Industries",
        requester_email="robin.mayer@quarry.example", requester_name="Robin Mayer",
    )  # fmt: skip
    # The first reply makes the agent the owner, who is told when the bug is fixed.
    services.ticket_reply(tenant=agent, ticket=ticket, body="Looking into it.", status=Status.OPEN)
    ticket.refresh_from_db()
    return ticket


def signed_post(client: Client, payload, *, event: str = "issues", secret: str = WEBHOOK_SECRET, slug="northwind"):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        f"/inbound/github/{slug}/", body, content_type="application/json",
        headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": event},
    )  # fmt: skip


def closed_event(number: int) -> dict:
    return {
        "action": "closed",
        "issue": {"number": number, "state": "closed"},
        "repository": {"full_name": "acme/platform"},
    }


# --- Escalating ----------------------------------------------------------------------------------------------


def test_the_issue_carries_the_seed_003_report_and_the_ticket_but_never_the_customer(agent, github, ticket):
    result = escalation.ticket_escalate(tenant=agent, ticket=ticket, labels=["editor"], **REPORT)

    [request] = github.sent("POST")
    assert request.path == "/repos/acme/platform/issues"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/vnd.github+json"
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    sent = request.get_json()
    assert set(sent) == {"title", "body", "labels"}
    assert sent["title"] == REPORT["title"]
    for heading in ("Version", "Environment", "Expected behaviour", "Actual behaviour", "Steps to reproduce"):
        assert f"### {heading}" in sent["body"]
    for value in REPORT.values():
        assert value in sent["body"] or value == REPORT["title"]
    assert f"Support ticket `#{ticket.number}`" in sent["body"]
    assert "Ceres" in sent["body"]
    assert sent["labels"] == ["bug", "customer-ceres", "editor"]
    raw = request.get_data(as_text=True).lower()
    assert not [detail for detail in CUSTOMER_DETAILS if detail.lower() in raw]

    assert (result.repository, result.issue_number, result.state) == ("acme/platform", 123, Escalation.State.OPEN)
    assert result.issue_url == "https://github.example/acme/platform/issues/123"
    event = ticket.messages.filter(kind=Message.Kind.EVENT).last()
    assert event.body_text == "Escalated as acme/platform#123 https://github.example/acme/platform/issues/123"
    assert AuditEntry.objects.filter(action="ticket.escalated", object_id=result.pk).exists()
    github.server.check_assertions()


def test_a_second_escalation_returns_the_open_one_without_asking_github(agent, github, ticket):
    first = escalation.ticket_escalate(tenant=agent, ticket=ticket, **REPORT)
    again = escalation.ticket_escalate(tenant=agent, ticket=ticket, **{**REPORT, "title": "Another title"})
    assert again.pk == first.pk
    assert len(github.server.log) == 1
    assert Escalation.objects.count() == 1


@pytest.mark.parametrize(
    ("status", "answer", "sentence"),
    [
        (401, {"message": "Bad credentials"}, "GitHub answered 401: the token is wrong or expired (GitHub said: Bad "
         "credentials)."),
        (422, {"message": "Validation Failed", "errors": [{"resource": "Issue", "field": "labels", "code": "invalid"}]},
         "GitHub answered 422: Validation Failed: labels invalid."),
    ],
)  # fmt: skip
def test_a_refusal_from_github_is_said_clearly_and_stores_nothing(agent, github, ticket, status, answer, sentence):
    github.server.expect_oneshot_request("/repos/acme/platform/issues", method="POST").respond_with_json(
        answer, status=status
    )
    messages_before = ticket.messages.count()
    with pytest.raises(ValidationError) as excinfo:
        escalation.ticket_escalate(tenant=agent, ticket=ticket, **REPORT)
    assert excinfo.value.message_dict == {"__all__": [sentence]}
    assert not Escalation.objects.exists()
    assert ticket.messages.count() == messages_before
    assert not AuditEntry.objects.filter(action="ticket.escalated").exists()


def test_escalating_needs_a_repository_and_a_token(agent, admin, httpserver, ticket):
    with pytest.raises(ValidationError) as excinfo:
        escalation.ticket_escalate(tenant=agent, ticket=ticket, **REPORT)
    assert set(excinfo.value.message_dict) == {"repository"}
    escalation.github_settings_update(
        tenant=admin, repository="acme/platform", api_url=httpserver.url_for(""), token=None, webhook_secret=None
    )
    with pytest.raises(ValidationError) as excinfo:
        escalation.ticket_escalate(tenant=agent, ticket=ticket, **REPORT)
    assert set(excinfo.value.message_dict) == {"token"}
    assert httpserver.log == []


def test_an_unreachable_github_is_said_and_stores_nothing(agent, admin, ticket):
    escalation.github_settings_update(
        tenant=admin, repository="acme/platform", api_url="http://127.0.0.1:9", token=TOKEN, webhook_secret=None
    )
    with pytest.raises(ValidationError) as excinfo:
        escalation.ticket_escalate(tenant=agent, ticket=ticket, **REPORT)
    assert excinfo.value.messages[0].startswith("GitHub could not be reached at http://127.0.0.1:9")
    assert not Escalation.objects.exists()


def test_missing_report_fields_and_the_customers_name_are_refused_before_github_is_asked(agent, github, ticket):
    with pytest.raises(ValidationError) as excinfo:
        escalation.ticket_escalate(
            tenant=agent, ticket=ticket,
            **{**REPORT, "steps": " ", "actual": "Robin Mayer at quarry.example sees a reload."},
        )  # fmt: skip
    errors = excinfo.value.message_dict
    assert set(errors) == {"steps", "actual"}
    assert "Ceres" in errors["actual"][0]
    assert github.server.log == []


# --- The close rule, the webhook and the periodic check ------------------------------------------------------


def test_the_ticket_stays_open_until_the_signed_webhook_says_the_bug_is_closed(agent, github, ticket, org):
    escalated = escalation.ticket_escalate(tenant=agent, ticket=ticket, **REPORT)
    with pytest.raises(ValidationError) as excinfo:
        services.ticket_status_set(tenant=agent, ticket=ticket, status=Status.CLOSED)
    assert "acme/platform#123" in excinfo.value.message_dict["status"][0]

    github_client = Client(enforce_csrf_checks=True)  # a machine: no session, no CSRF token
    response = signed_post(github_client, closed_event(123))
    assert response.status_code == 200
    assert response.json() == {"escalations_closed": 1}
    escalated.refresh_from_db()
    assert escalated.state == Escalation.State.CLOSED
    assert escalated.closed_at is not None
    assert "acme/platform#123 was closed on GitHub" in ticket.messages.filter(kind=Message.Kind.EVENT).last().body_text
    notification = Notification.objects.get(recipient=agent.user, text__startswith="The bug behind")
    assert notification.text.startswith(f"The bug behind #{ticket.number} is fixed")
    assert "close the ticket" in notification.text
    assert signed_post(github_client, closed_event(123)).json() == {"escalations_closed": 0}  # a redelivery

    services.ticket_status_set(tenant=agent, ticket=ticket, status=Status.CLOSED)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_the_webhook_refuses_bad_signatures_and_ignores_other_events(github, ticket, caplog):
    client = Client()
    body = json.dumps(closed_event(123)).encode()
    wrong = signed_post(client, body, secret="not-the-secret")
    assert wrong.status_code == 400
    assert "X-Hub-Signature-256" in wrong.json()["error"]
    unsigned = client.post("/inbound/github/northwind/", body, content_type="application/json")
    assert unsigned.status_code == 400
    assert "northwind" in caplog.text
    assert WEBHOOK_SECRET not in caplog.text
    assert signed_post(client, b"{not json").status_code == 400
    assert signed_post(client, {"zen": "Keep it logically awesome."}, event="ping").status_code == 204
    assert signed_post(client, {**closed_event(123), "action": "opened"}).status_code == 204
    assert signed_post(client, closed_event(123), slug="no-such-org").status_code == 404
    assert client.get("/inbound/github/northwind/").status_code == 405


def test_the_periodic_check_closes_what_github_reports_closed(
    agent, github, ticket, django_capture_on_commit_callbacks
):
    escalated = escalation.ticket_escalate(tenant=agent, ticket=ticket, **REPORT)
    assert escalation.escalations_refresh(organization=agent.organization) == 0
    github.close(123)
    with django_capture_on_commit_callbacks(execute=True):
        assert refresh_escalations_for_all_organizations() == 1
    escalated.refresh_from_db()
    assert escalated.state == Escalation.State.CLOSED
    [first_read, second_read] = github.sent("GET")
    assert first_read.path == second_read.path == "/repos/acme/platform/issues/123"
    assert second_read.headers["Authorization"] == f"Bearer {TOKEN}"
    # Nothing is open any more: the next round asks GitHub nothing.
    assert escalation.escalations_refresh(organization=agent.organization) == 0
    assert len(github.sent("GET")) == 2


def test_sharing_sends_the_issue_link_once_and_keeps_the_status(agent, github, ticket):
    escalated = escalation.ticket_escalate(tenant=agent, ticket=ticket, **REPORT)
    reply = escalation.escalation_share(tenant=agent, escalation=escalated)
    assert reply.kind == Message.Kind.REPLY
    assert escalated.issue_url in reply.body_text
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    with pytest.raises(ValidationError):
        escalation.escalation_share(tenant=agent, escalation=escalated)


# --- Settings ------------------------------------------------------------------------------------------------


def test_settings_are_validated_sealed_and_audited_without_the_secrets(admin, github, org):
    stored = SupportSettings.objects.get(organization=org)
    assert unseal(stored.github_token_sealed) == TOKEN
    assert TOKEN not in stored.github_token_sealed
    with pytest.raises(ValidationError) as excinfo:
        escalation.github_settings_update(
            tenant=admin, repository="acme", api_url="ftp://x", token=None, webhook_secret=None
        )
    assert set(excinfo.value.message_dict) == {"repository", "api_url"}
    escalation.github_settings_update(
        tenant=admin, repository="acme/platform", api_url=stored.github_api_url, token=None, webhook_secret=""
    )
    stored.refresh_from_db()
    assert unseal(stored.github_token_sealed) == TOKEN  # None kept it
    assert stored.github_webhook_secret_sealed == ""  # "" cleared it
    entries = AuditEntry.objects.filter(action="support_settings.github_updated")
    assert entries.count() == 2
    recorded = json.dumps([entry.changes for entry in entries])
    assert TOKEN not in recorded
    assert WEBHOOK_SECRET not in recorded
    assert entries.first().changes == {"github_webhook_secret": ["set", "cleared"]}


def test_the_connection_test_says_what_works(admin, github, org):
    assert escalation.github_connection_test(organization=org) == (True, "Connected to acme/platform: issues enabled.")
    github.server.expect_oneshot_request("/repos/acme/platform").respond_with_json(
        {"message": "Bad credentials"}, status=401
    )
    connected, sentence = escalation.github_connection_test(organization=org)
    assert not connected
    assert sentence.startswith("GitHub answered 401: the token is wrong or expired")


# --- Pages ---------------------------------------------------------------------------------------------------


def test_the_settings_page_never_shows_the_token(org, github, client_for):
    admin_client = client_for(Role.ADMIN)
    page = admin_client.get(f"/o/{org.slug}/settings/github/").content.decode()
    assert TOKEN not in page
    assert WEBHOOK_SECRET not in page
    assert f"…{TOKEN[-4:]}" in page
    assert "/inbound/github/northwind/" in page
    saved = admin_client.post(
        f"/o/{org.slug}/settings/github/",
        {"repository": "acme/platform", "api_url": github.server.url_for(""), "token": "", "webhook_secret": ""},
    )
    assert saved.status_code == 302
    assert unseal(SupportSettings.objects.get(organization=org).github_token_sealed) == TOKEN
    tested = admin_client.post(f"/o/{org.slug}/settings/github/", {"action": "test"}, follow=True)
    assert "Connected to acme/platform: issues enabled." in tested.content.decode()
    refused = admin_client.post(f"/o/{org.slug}/settings/github/", {"repository": "acme", "api_url": "x"})
    assert refused.status_code == 400
    assert "owner/name" in refused.content.decode()
    assert client_for(Role.SUPPORT).get(f"/o/{org.slug}/settings/github/").status_code == 403


def test_the_escalate_page_prefills_keeps_what_was_typed_and_escalates(org, other_org, github, ticket, client_for):
    agent_client = client_for(Role.SUPPORT)
    url = f"/o/{org.slug}/tickets/{ticket.number}/escalate/"
    page = agent_client.get(url).content.decode()
    assert "the editor crashes on deploy" in page
    assert "Deploying any flow crashes the editor." in page
    assert "Quarry Industries" not in page.split("<form", 1)[1]  # the prefill names the customer as [Ceres]

    refused = agent_client.post(url, {**REPORT, "steps": ""})
    assert refused.status_code == 400
    assert "Steps to reproduce" in refused.content.decode()
    assert REPORT["environment"] in refused.content.decode()
    assert github.server.log == []

    done = agent_client.post(url, REPORT)
    assert done.status_code == 302
    assert done["Location"] == f"/o/{org.slug}/tickets/{ticket.number}/"
    escalated = Escalation.objects.get(ticket=ticket)
    share = agent_client.post(f"/o/{org.slug}/tickets/{ticket.number}/escalations/{escalated.pk}/share/")
    assert share.status_code == 302
    assert ticket.messages.filter(kind=Message.Kind.REPLY, body_text__contains=escalated.issue_url).exists()

    outsider = client_for(Role.ADMIN, organization=other_org)
    assert outsider.get(url).status_code == 404
    assert outsider.get(f"/o/{other_org.slug}/tickets/{ticket.number}/escalate/").status_code == 404
