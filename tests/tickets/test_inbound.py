"""Email in, from real .eml files: new tickets, threaded replies, automatic replies that reopen nothing, the
provider webhook with its secret, and the management command for files and Maildirs."""

import mailbox
from io import StringIO
from pathlib import Path

import pytest
from django.core import mail as outbox
from django.core.management import call_command

from core.secrets import seal
from core.tenancy import tenant_scope
from tests.factories import OrganizationFactory
from tickets import services
from tickets.inbound import email_receive
from tickets.models import Attachment, InboundEmailRecord, Message, Status, SupportSettings, Ticket

EMAILS = Path(__file__).parent / "emails"
Outcome = InboundEmailRecord.Outcome


def eml(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


@pytest.fixture
def acme(db):
    # The fixtures' subject tokens name "acme" and ticket 1042.
    organization = OrganizationFactory(slug="acme", name="Acme")
    with tenant_scope(organization):
        SupportSettings.objects.create(
            organization=organization, last_ticket_number=1041, inbound_secret_sealed=seal("inbound-secret-1")
        )
        yield organization


def test_a_new_email_opens_a_ticket_once(acme):
    record = email_receive(organization=acme, raw=eml("new_plain.eml"))
    assert record.outcome == Outcome.NEW_TICKET
    ticket = record.ticket
    assert ticket.number == 1042
    assert ticket.subject == "Printer in room 4 shows error E-42"
    assert ticket.requester.email == "jane.doe@example.com"
    assert ticket.channel == "email"
    again = email_receive(organization=acme, raw=eml("new_plain.eml"))
    assert again.outcome == Outcome.DUPLICATE
    assert Ticket.objects.count() == 1


def test_replies_thread_by_headers_then_by_subject_token(acme):
    ticket = email_receive(organization=acme, raw=eml("new_plain.eml")).ticket
    by_headers = email_receive(organization=acme, raw=eml("reply_gmail.eml"))
    assert (by_headers.outcome, by_headers.ticket) == (Outcome.REPLY, ticket)
    latest = ticket.messages.order_by("-id").first()
    assert ">" not in latest.body_text  # the quoted history is not stored again
    by_token = email_receive(organization=acme, raw=eml("reply_token_only.eml"))
    assert (by_token.outcome, by_token.ticket) == (Outcome.REPLY, ticket)
    assert Ticket.objects.count() == 1


def test_an_auto_reply_is_noted_but_reopens_nothing_and_gets_no_answer(acme):
    ticket = email_receive(organization=acme, raw=eml("new_plain.eml")).ticket
    Message.objects.filter(ticket=ticket).update(message_id="1042.3.c0ffee@acme.helpdesk.example")
    services.ticket_status_set(tenant=services_tenant(acme), ticket=ticket, status=Status.CLOSED)
    sent_before = len(outbox.outbox)
    record = email_receive(organization=acme, raw=eml("auto_reply_ooo.eml"))
    assert record.outcome == Outcome.AUTO_REPLY
    assert record.ticket == ticket
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert len(outbox.outbox) == sent_before
    assert "Automatic reply" in ticket.messages.filter(kind=Message.Kind.EVENT).last().body_text


def test_a_bounce_opens_no_ticket(acme):
    record = email_receive(organization=acme, raw=eml("bounce.eml"))
    assert record.outcome == Outcome.AUTO_REPLY
    assert not Ticket.objects.exists()


def test_attachments_are_kept_with_their_type_and_size(acme):
    record = email_receive(organization=acme, raw=eml("attachment_pdf.eml"))
    attachment = Attachment.objects.get(message__ticket=record.ticket)
    assert attachment.content_type == "application/pdf"
    assert attachment.filename.endswith(".pdf")
    assert attachment.file.read().startswith(b"%PDF")


def test_garbage_is_rejected_and_kept_for_a_look(acme):
    record = email_receive(organization=acme, raw=b"not an email at all")
    assert record.outcome == Outcome.REJECTED
    assert "sender" in record.error
    assert bytes(record.raw) == b"not an email at all"


def services_tenant(organization):
    from core.models import Role
    from core.tenancy import Tenant

    return Tenant(organization=organization, role=Role.SUPPORT)


def test_webhook_needs_the_organization_secret(client, acme):
    url = "/inbound/email/acme/"
    body = eml("new_plain.eml")
    wrong = client.post(url, body, content_type="message/rfc822", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 400
    assert client.post("/inbound/email/nobody/", body, content_type="message/rfc822").status_code == 404
    empty = client.post(url, b"", content_type="message/rfc822", HTTP_AUTHORIZATION="Bearer inbound-secret-1")
    assert empty.status_code == 400
    ok = client.post(url, body, content_type="message/rfc822", HTTP_AUTHORIZATION="Bearer inbound-secret-1")
    assert ok.status_code == 200
    assert ok.json() == {"outcome": "new_ticket", "ticket": 1042}
    form = client.post(f"{url}?token=inbound-secret-1", {"email": eml("attachment_pdf.eml").decode()})
    assert form.json()["outcome"] == "new_ticket"


def test_one_organizations_secret_does_not_open_another_inbox(client, acme):
    other = OrganizationFactory(slug="globex")
    with tenant_scope(other):
        SupportSettings.objects.create(organization=other, inbound_secret_sealed=seal("globex-secret"))
    response = client.post(
        "/inbound/email/globex/", eml("new_plain.eml"), content_type="message/rfc822",
        HTTP_AUTHORIZATION="Bearer inbound-secret-1",
    )  # fmt: skip
    assert response.status_code == 400


def test_command_reads_files_and_a_maildir_once(acme, tmp_path):
    out = StringIO()
    call_command("receive_email", "--org", "acme", str(EMAILS / "new_plain.eml"), stdout=out)
    assert "Opened a ticket #1042" in out.getvalue()
    box = mailbox.Maildir(tmp_path / "inbox", create=True)
    box.add(eml("reply_gmail.eml"))
    box.add(eml("auto_reply_ooo.eml"))
    out = StringIO()
    call_command("receive_email", "--org", "acme", "--maildir", str(tmp_path / "inbox"), stdout=out)
    assert "Added to a ticket #1042" in out.getvalue()
    out = StringIO()
    call_command("receive_email", "--org", "acme", "--maildir", str(tmp_path / "inbox"), stdout=out)
    assert out.getvalue() == ""  # seen mail is not read twice
