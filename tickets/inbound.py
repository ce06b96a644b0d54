"""Email in: every message becomes a ticket, a reply on one, or a noted automatic reply; none is lost.

Threading follows the headers first (In-Reply-To, then References) and the subject token last (seed 003 replies
often come from clients that drop the headers). Automatic replies and bounces are noted on their ticket but never
reopen it and never get an answer, so two robots cannot keep each other busy.
"""

import hashlib
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction

from core.models import Organization, Role
from core.tenancy import Tenant
from tickets import services
from tickets.email_parsing import Attachment as ParsedAttachment
from tickets.email_parsing import InboundEmail, parse_email, thread_candidates, ticket_token_parse
from tickets.models import Attachment, Channel, InboundEmailRecord, Message, Ticket

logger = logging.getLogger(__name__)

# What a customer may attach: documents, images, logs and archives; nothing a browser would run.
ALLOWED_ATTACHMENT_TYPES = (
    "application/pdf", "application/zip", "application/gzip", "application/json", "application/xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/octet-stream",
    "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain", "text/csv", "text/x-log",
    "message/rfc822", "message/delivery-status",
)  # fmt: skip
Outcome = InboundEmailRecord.Outcome


def _system(organization: Organization) -> Tenant:
    return Tenant(organization=organization, role=Role.SUPPORT)


def email_thread(*, mail: InboundEmail, organization: Organization) -> Ticket | None:
    """The ticket this email answers: by Message-ID first, then by the subject token of this organization."""
    candidates = thread_candidates(mail)
    if candidates:
        found = (
            Message.objects.filter(message_id__in=candidates)
            .exclude(message_id="")
            .values_list("message_id", "ticket_id")
        )
        by_id = dict(found)
        for candidate in candidates:  # most specific first
            if candidate in by_id:
                return Ticket.objects.get(pk=by_id[candidate])
    token = ticket_token_parse(mail.subject, organization_slug=organization.slug)
    if token is not None:
        return Ticket.objects.filter(number=token[1]).first()
    return None


def email_receive(*, organization: Organization, raw: bytes) -> InboundEmailRecord:
    """Stores one inbound email (call inside the organization's tenant scope) and says what became of it."""
    mail = parse_email(raw)
    record = InboundEmailRecord(
        organization=organization,
        message_id=mail.message_id[:250],
        from_address=mail.from_address[:254],
        subject=mail.subject[:250],
    )
    if not mail.from_address or "@" not in mail.from_address:
        return _rejected(record, raw, "The email has no sender address.")
    existing = Message.objects.filter(message_id=mail.message_id).first() if mail.message_id else None
    if existing is not None:  # a provider retrying its webhook, or the same .eml imported twice
        record.outcome, record.ticket = Outcome.DUPLICATE, existing.ticket
        record.save()
        return record
    try:
        with transaction.atomic():
            ticket = email_thread(mail=mail, organization=organization)
            if mail.is_auto_reply:
                if ticket is not None:
                    services.conversation_event(
                        ticket=ticket, channel=Channel.EMAIL, message_id=mail.message_id,
                        text=f"Automatic reply from {mail.from_address} ({mail.auto_reason}); the ticket was not "
                        "reopened and no answer was sent.",
                    )  # fmt: skip
                record.outcome, record.ticket = Outcome.AUTO_REPLY, ticket
                record.save()
                return record
            body = mail.reply_text or mail.text or "(The email had no text.)"
            if ticket is not None:
                ticket, message = services.customer_message_add(
                    tenant=_system(organization), ticket=ticket, body=body, body_html="",
                    message_id=mail.message_id, in_reply_to=mail.in_reply_to,
                )  # fmt: skip
                record.outcome = Outcome.REPLY
            else:
                ticket = services.ticket_create(
                    tenant=_system(organization), subject=mail.subject or "(no subject)", body=body,
                    body_html=mail.html_sanitized if not mail.text else "", requester_email=mail.from_address,
                    requester_name=mail.from_name, channel=Channel.EMAIL, message_id=mail.message_id,
                )  # fmt: skip
                message = ticket.messages.get()
                record.outcome = Outcome.NEW_TICKET
            attachments_store(message=message, attachments=mail.attachments)
            record.ticket = ticket
            record.save()
    except ValidationError as exc:
        return _rejected(record, raw, " ".join(exc.messages))
    return record


def uploaded(files) -> list[ParsedAttachment]:
    """Files an agent attached in the composer, in the shape email attachments have (checked the same way)."""
    return [
        ParsedAttachment(
            filename=file.name,
            content_type=file.content_type or "application/octet-stream",
            size=file.size,
            payload=file.read() if file.size <= settings.ATTACHMENT_MAX_BYTES else b"",
        )
        for file in files
    ]


def attachments_store(*, message: Message, attachments) -> list[Attachment]:
    """Keeps what is allowed; what is too big or of a refused type is named in the conversation instead."""
    stored, refused = [], []
    for attachment in attachments:
        content_type = (attachment.content_type or "application/octet-stream").lower()
        if attachment.size > settings.ATTACHMENT_MAX_BYTES:
            refused.append(f"{attachment.filename} (too large: {attachment.size // 1024} KB)")
            continue
        if content_type not in ALLOWED_ATTACHMENT_TYPES:
            refused.append(f"{attachment.filename} ({content_type} is not accepted)")
            continue
        digest = hashlib.sha256(attachment.payload).hexdigest()[:12]
        item = Attachment(
            organization_id=message.organization_id,
            message=message,
            filename=attachment.filename[:250],
            content_type=content_type,
            size=attachment.size,
        )
        item.file.save(f"{digest}-{attachment.filename[-80:]}", ContentFile(attachment.payload), save=False)
        item.save()
        stored.append(item)
    if refused:
        services.conversation_event(
            ticket=message.ticket, channel=message.channel, text="Attachments not kept: " + "; ".join(refused) + "."
        )
    return stored


def _rejected(record: InboundEmailRecord, raw: bytes, error: str) -> InboundEmailRecord:
    logger.warning("Inbound email rejected for organization %s: %s", record.organization_id, error)
    record.outcome, record.error, record.raw = Outcome.REJECTED, error, raw
    record.save()
    return record
