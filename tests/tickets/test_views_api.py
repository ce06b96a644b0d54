"""The inbox pages and /api/v1/tickets/ as agents and integrations use them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Role
from core.tenancy import Tenant, tenant_scope
from tests.factories import MembershipFactory
from tickets import services
from tickets.models import Message, Status, Ticket


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def open_ticket(org):
    def make(subject="Instance will not start", email="robin@quarry.example", **values):
        admin = MembershipFactory(organization=org, role=Role.ADMIN).user
        with tenant_scope(org):
            return services.ticket_create(
                tenant=Tenant(organization=org, role=Role.ADMIN, user=admin),
                subject=subject, body="Since this morning.", requester_email=email, **values,
            )  # fmt: skip

    return make


def test_inbox_views_sort_and_filter(org, client_for, open_ticket):
    agent = client_for(Role.SUPPORT)
    first = open_ticket("Printer offline", priority="p0")
    open_ticket("Invoice question", topic="billing")
    html = page(agent.get(f"/o/{org.slug}/tickets/", {"view": "unassigned"}))
    assert "Printer offline" in html
    assert "Invoice question" in html
    html = page(agent.get(f"/o/{org.slug}/tickets/", {"topic": "billing"}))
    assert "Invoice question" in html
    assert "Printer offline" not in html
    assert "Printer offline" in page(agent.get(f"/o/{org.slug}/tickets/", {"search": f"#{first.number}"}))
    agent.post(f"/o/{org.slug}/tickets/{first.number}/post/", {"kind": "reply", "body": "On it.", "status": "open"})
    assert "Printer offline" in page(agent.get(f"/o/{org.slug}/tickets/", {"view": "mine"}))
    assert "Printer offline" not in page(agent.get(f"/o/{org.slug}/tickets/", {"view": "unassigned"}))


def test_replying_takes_ownership_and_a_refused_post_keeps_the_text(org, client_for, open_ticket):
    agent = client_for(Role.SUPPORT)
    ticket = open_ticket()
    empty = agent.post(f"/o/{org.slug}/tickets/{ticket.number}/post/", {"kind": "reply", "body": "   "})
    assert empty.status_code == 400
    response = agent.post(f"/o/{org.slug}/tickets/{ticket.number}/post/", {"kind": "comment", "body": "x" * 0})
    assert response.status_code == 400
    agent.post(f"/o/{org.slug}/tickets/{ticket.number}/post/", {"kind": "reply", "body": "Try a restart."})
    html = page(agent.get(f"/o/{org.slug}/tickets/{ticket.number}/"))
    assert "Try a restart." in html
    assert agent.user.get_full_name() in html
    assert Ticket.objects.with_scopes_disabled().get(pk=ticket.pk).owner == agent.user


def test_internal_comments_are_marked_and_viewers_cannot_post(org, client_for, open_ticket):
    agent = client_for(Role.SUPPORT)
    ticket = open_ticket()
    agent.post(f"/o/{org.slug}/tickets/{ticket.number}/post/", {"kind": "comment", "body": "Known bug, see #12."})
    assert "Internal comment · not sent" in page(agent.get(f"/o/{org.slug}/tickets/{ticket.number}/"))
    viewer = client_for(Role.VIEWER)
    assert (
        viewer.post(f"/o/{org.slug}/tickets/{ticket.number}/post/", {"kind": "reply", "body": "x"}).status_code == 403
    )


def test_bulk_close_and_tag(org, client_for, open_ticket):
    agent = client_for(Role.SUPPORT)
    one, two = open_ticket("One"), open_ticket("Two")
    agent.post(f"/o/{org.slug}/tickets/bulk/", {"ticket": [one.number, two.number], "action": "tag", "tag": "Outage"})
    agent.post(f"/o/{org.slug}/tickets/bulk/", {"ticket": [one.number], "action": "close"})
    with tenant_scope(org):
        stored = {ticket.number: ticket for ticket in Ticket.objects.all()}
        assert stored[one.number].status == Status.CLOSED
        assert stored[two.number].status == Status.NEW
        assert list(stored[two.number].tags.values_list("name", flat=True)) == ["outage"]


def test_inbox_runs_constant_queries(org, client_for, open_ticket):
    agent = client_for(Role.SUPPORT)

    def count_queries() -> int:
        agent.get(f"/o/{org.slug}/tickets/")
        with CaptureQueriesContext(connection) as queries:
            assert agent.get(f"/o/{org.slug}/tickets/").status_code == 200
        return len(queries)

    for index in range(3):
        open_ticket(f"Ticket {index}", email=f"person{index}@quarry.example")
    few = count_queries()
    for index in range(3, 25):
        open_ticket(f"Ticket {index}", email=f"person{index}@quarry.example")
    assert count_queries() == few


def test_api_creates_lists_and_converses(org, api_for):
    api = api_for(Role.SUPPORT)
    created = api.post(
        "/api/v1/tickets/",
        {"subject": "Contact form: cannot log in", "body": "Password reset mail never arrives.",
         "requester_email": "kim@quarry.example", "channel": "contact_form", "priority": "p1"},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    number = created.json()["id"]
    assert created.json()["requester"] == "kim@quarry.example"
    bad = api.post("/api/v1/tickets/", {"subject": "", "requester_email": "nope"}, format="json")
    assert bad.status_code == 400
    assert {"subject", "body", "requester_email"} <= set(bad.json())
    listed = api.get("/api/v1/tickets/", {"priority": "p1"}).json()["results"]
    assert [ticket["id"] for ticket in listed] == [number]
    reply = api.post(f"/api/v1/tickets/{number}/messages/", {"kind": "reply", "body": "Check spam."}, format="json")
    assert reply.status_code == 201
    conversation = api.get(f"/api/v1/tickets/{number}/messages/").json()
    assert [message["kind"] for message in conversation] == [Message.Kind.CUSTOMER, Message.Kind.REPLY]
    closed = api.patch(f"/api/v1/tickets/{number}/", {"status": "closed"}, format="json")
    assert closed.json()["status"] == "closed"
    assert api.patch(f"/api/v1/tickets/{number}/", {"priority": "p9"}, format="json").status_code == 400


def test_api_ticket_list_runs_constant_queries(org, api_for, open_ticket):
    api = api_for(Role.VIEWER)

    def count_queries() -> int:
        api.get("/api/v1/tickets/")
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/v1/tickets/").status_code == 200
        return len(queries)

    open_ticket("First", tags=["a"])
    few = count_queries()
    for index in range(20):
        open_ticket(f"Ticket {index}", email=f"p{index}@quarry.example", tags=["b"])
    assert count_queries() == few


def test_chat_presence_over_the_api_switches_replies_to_chat(org, api_for, client_for):
    api = api_for(Role.SUPPORT)
    number = api.post(
        "/api/v1/tickets/",
        {"subject": "Chat", "body": "Hi", "requester_email": "kim@quarry.example", "channel": "api"},
        format="json",
    ).json()["id"]
    with tenant_scope(org):
        Ticket.objects.filter(number=number).update(channel="chat")
    agent = client_for(Role.SUPPORT)
    assert "goes by email" in page(agent.get(f"/o/{org.slug}/tickets/{number}/"))
    assert api.post(f"/api/v1/tickets/{number}/presence/").status_code == 204
    assert "online in the chat now" in page(agent.get(f"/o/{org.slug}/tickets/{number}/"))


def test_close_dialog_sends_the_confirmation(org, client_for, open_ticket):

    agent = client_for(Role.SUPPORT)
    ticket = open_ticket()
    with_message = agent.post(
        f"/o/{org.slug}/tickets/{ticket.number}/status/",
        {"status": "closed", "send_confirmation": "1", "confirmation": "Does this solve it?"},
    )
    assert with_message.status_code == 302
    with tenant_scope(org):
        stored = Ticket.objects.get(pk=ticket.pk)
        assert stored.status == Status.CLOSED
        assert stored.messages.filter(kind=Message.Kind.REPLY, body_text="Does this solve it?").exists()
    assert "Does this solve it?" in page(agent.get(f"/o/{org.slug}/tickets/{ticket.number}/"))


def test_an_open_bug_blocks_every_way_of_closing(org, client_for, open_ticket):
    from tickets.models import Escalation

    agent = client_for(Role.SUPPORT)
    ticket = open_ticket()
    with tenant_scope(org):
        Escalation.objects.create(
            organization=org, ticket=ticket, repository="acme/platform", issue_number=7,
            issue_url="https://github.example/acme/platform/issues/7",
        )  # fmt: skip
    base = f"/o/{org.slug}/tickets/{ticket.number}"
    agent.post(f"{base}/status/", {"status": "closed", "send_confirmation": "1", "confirmation": "Solved?"})
    agent.post(f"{base}/post/", {"kind": "reply", "body": "Fixed, closing.", "status": "closed"})
    bulk = agent.post(f"/o/{org.slug}/tickets/bulk/", {"ticket": [ticket.number], "action": "close"})
    assert bulk.status_code == 302
    with tenant_scope(org):
        stored = Ticket.objects.get(pk=ticket.pk)
        assert stored.status != Status.CLOSED
        assert not stored.messages.filter(body_text="Fixed, closing.").exists()  # refused whole: nothing half-sent
    assert "acme/platform#7" in page(agent.get(f"/o/{org.slug}/tickets/"))


def test_the_open_index_condition_follows_open_statuses():
    from tickets.models import OPEN_STATUSES

    for index in Ticket._meta.indexes:
        if index.name in ("ticket_open_by_due", "ticket_open_by_updated"):
            assert sorted(index.condition.children[0][1]) == sorted(OPEN_STATUSES)


def test_a_met_first_response_reads_met_on_the_ticket(org, client_for, open_ticket):
    from tickets.models import SlaPolicy

    with tenant_scope(org):
        SlaPolicy.objects.create(organization=org, name="Always", first_response_minutes=60, business_hours=False)
    agent = client_for(Role.SUPPORT)
    ticket = open_ticket()
    agent.post(f"/o/{org.slug}/tickets/{ticket.number}/post/", {"kind": "reply", "body": "On it.", "status": "open"})
    sla = (
        page(agent.get(f"/o/{org.slug}/tickets/{ticket.number}/"))
        .split('data-testid="sla"')[1]
        .split("</div></div>")[0]
    )
    assert "met" in sla
    assert "left" not in sla


def test_the_fast_ticket_representation_matches_the_generic_one(org, open_ticket):
    from rest_framework import serializers

    from tickets.apis import TicketSerializer
    from tickets.selectors import tickets_for_api

    ticket = open_ticket(tags=["outage", "billing"])
    with tenant_scope(org):
        services.ticket_reply(
            tenant=Tenant(organization=org, role=Role.SUPPORT, user=MembershipFactory(organization=org).user),
            ticket=ticket,
            body="On it.",
        )
        row = tickets_for_api().get(pk=ticket.pk)
        fast = TicketSerializer(row).data
        generic = serializers.ModelSerializer.to_representation(TicketSerializer(row), row)
    assert dict(fast) == dict(generic)
    assert fast["tags"] == ["billing", "outage"]
    assert fast["owner"] is not None


def test_agents_attach_files_to_replies_and_bad_files_are_named_not_kept(org, client_for, open_ticket):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tickets.models import Attachment

    agent = client_for(Role.SUPPORT)
    ticket = open_ticket()
    agent.post(
        f"/o/{org.slug}/tickets/{ticket.number}/post/",
        {
            "kind": "reply",
            "body": "The log you need: https://docs.example/logs",
            "status": "open",
            "attachments": [
                SimpleUploadedFile("steps.txt", b"1. restart\n2. retry\n", content_type="text/plain"),
                SimpleUploadedFile("tool.exe", b"MZ\x90\x00", content_type="application/x-msdownload"),
            ],
        },
    )
    with tenant_scope(org):
        kept = list(Attachment.objects.filter(message__ticket=ticket).values_list("filename", flat=True))
        assert kept == ["steps.txt"]
        note = ticket.messages.filter(kind=Message.Kind.EVENT).last().body_text
    assert "tool.exe" in note
    html = page(agent.get(f"/o/{org.slug}/tickets/{ticket.number}/"))
    assert "steps.txt" in html
    download = agent.get(
        f"/o/{org.slug}/tickets/{ticket.number}/attachments/{Attachment.objects.with_scopes_disabled().get().pk}/"
    )
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == b"1. restart\n2. retry\n"


def test_breached_view_and_followers_hear_of_the_close(org, client_for, open_ticket):
    from datetime import timedelta

    from django.utils import timezone

    from core.models import Notification

    agent, watcher = client_for(Role.SUPPORT), client_for(Role.CSM)
    late, fine = open_ticket("Late one"), open_ticket("Fine one", email="b@quarry.example")
    with tenant_scope(org):
        Ticket.objects.filter(pk=late.pk).update(sla_due_at=timezone.now() - timedelta(minutes=5))
        Ticket.objects.filter(pk=fine.pk).update(sla_due_at=timezone.now() + timedelta(days=2))
    html = page(agent.get(f"/o/{org.slug}/tickets/", {"view": "breached"}))
    assert "Late one" in html
    assert "Fine one" not in html
    watcher.post(f"/o/{org.slug}/tickets/{late.number}/follow/")
    agent.post(f"/o/{org.slug}/tickets/{late.number}/status/", {"status": "closed"})
    assert (
        Notification.objects.with_scopes_disabled().filter(recipient=watcher.user, text__contains="was closed").exists()
    )


def test_search_finds_words_anywhere_in_the_conversation(org, client_for, open_ticket):
    agent = client_for(Role.SUPPORT)
    printer = open_ticket("Printer offline")
    other = open_ticket("Invoice question", email="kim@quarry.example")
    agent.post(
        f"/o/{org.slug}/tickets/{printer.number}/post/",
        {"kind": "comment", "body": "The firmware of the Zebra ZT410 is too old."},
    )
    for term, expected in (("zebra", printer), ("firmware", printer), ("invoice", other), ("Printer", printer)):
        html = page(agent.get(f"/o/{org.slug}/tickets/", {"search": term}))
        assert expected.subject in html, term
        assert ({printer, other} - {expected}).pop().subject not in html, term
    assert "Printer offline" in page(agent.get(f"/o/{org.slug}/tickets/", {"search": f"#{printer.number}"}))


def test_openapi_describes_tickets_without_warnings(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/tickets/{number}/messages/" in schema["paths"]
    assert "/api/v1/tickets/{number}/presence/" in schema["paths"]
    assert schema["components"]["schemas"]["PatchedTicketUpdateRequest"]["properties"]["owner"]["type"] == "integer"
    assert "TicketStatusEnum" in schema["components"]["schemas"]
