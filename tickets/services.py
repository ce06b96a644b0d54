"""Writes of the support inbox: tickets, the conversation, ownership, status and the SLA clock.

Seed 000 ("Support Tickets") is the rulebook: the first member who replies to an unowned ticket becomes its
owner; only the owner is alerted when the customer replies; comments stay inside the team; the owner closes
the ticket when the customer needs no more help.
"""

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Account, Contact
from accounts.selectors import organization_member_users
from core.events import DomainEvent, event_publish
from core.models import Organization
from core.notifications import notification_send
from core.services import audit_record, printable_value
from core.tenancy import Tenant
from tickets.email_parsing import auto_reply_headers, reply_headers, sanitize_html, ticket_token_format
from tickets.models import (
    OPEN_STATUSES,
    PAUSED_STATUSES,
    Channel,
    ChatPresence,
    Message,
    Priority,
    RoutingRule,
    SlaPolicy,
    Status,
    SupportSettings,
    Ticket,
    TicketStatusChange,
    Topic,
)

MENTION = re.compile(r"(?<![\w.@])@([\w.+-]+)")


def _ticket_url(ticket: Ticket) -> str:
    return reverse("ticket_detail", kwargs={"org_slug": ticket.organization.slug, "number": ticket.number})


def support_settings_get(*, organization: Organization) -> SupportSettings:
    support_settings = SupportSettings.objects.filter(organization=organization).first()
    if support_settings is None:
        support_settings, _ = SupportSettings.objects.get_or_create(organization=organization)
    return support_settings


def _next_number(organization: Organization) -> int:
    """Ticket numbers count per organization; the settings row is locked so two tickets never share one."""
    support_settings = support_settings_get(organization=organization)
    locked = SupportSettings.objects.select_for_update().get(pk=support_settings.pk)
    locked.last_ticket_number += 1
    locked.save(update_fields=["last_ticket_number"])
    return locked.last_ticket_number


def requester_for(*, tenant: Tenant, email: str, name: str = "") -> Contact:
    """The contact behind an address, created when unknown and linked to the account of its email domain."""
    email = (email or "").strip().lower()
    contact = Contact.objects.filter(email=email).first()
    if contact is not None:
        return contact
    first, _, last = (name or "").strip().partition(" ")
    domain = email.rpartition("@")[2]
    account = Account.objects.filter(domain=domain).order_by("id").first() if domain else None
    return account_services.contact_create(
        tenant=tenant, email=email, first_name=first, last_name=last, account=account, lifecycle_stage="customer"
        if account is not None and account.status == "active" and account.cohort != "trial" else "lead",
    )  # fmt: skip


def sla_policy_for(*, ticket: Ticket) -> SlaPolicy | None:
    """First match wins (seed 003 puts the top tier first): by cohort, priority and channel; empty matches any."""
    cohort = ticket.account.cohort if ticket.account_id else ""
    return (
        SlaPolicy.objects.filter(Q(cohort="") | Q(cohort=cohort))
        .filter(Q(priority="") | Q(priority=ticket.priority))
        .filter(Q(channel="") | Q(channel=ticket.channel))
        .filter(Q(topic="") | Q(topic=ticket.topic))
        .order_by("position", "id")
        .first()
    )


def _record_status(ticket: Ticket, from_status: str) -> None:
    TicketStatusChange.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        from_status=from_status,
        to_status=ticket.status,
        changed_at=timezone.now(),
    )


@transaction.atomic
def ticket_create(
    *, tenant: Tenant, subject: str, body: str, requester_email: str, requester_name: str = "",
    channel: str = Channel.WEB, topic: str = Topic.APPLICATION, priority: str = Priority.P2, body_html: str = "",
    message_id: str = "", tags: Iterable[str] = (),
) -> Ticket:  # fmt: skip
    """Opens a ticket with the customer's first message, applies the SLA policy and announces it."""
    errors: dict[str, list[str]] = {}
    if not (subject or "").strip():
        errors["subject"] = ["Give the ticket a subject."]
    if not (body or "").strip() and not (body_html or "").strip():
        errors["body"] = ["The first message is empty."]
    if "@" not in (requester_email or ""):
        errors["requester_email"] = ["The requester needs an email address."]
    for field, value, choices in (
        ("channel", channel, Channel),
        ("topic", topic, Topic),
        ("priority", priority, Priority),
    ):
        if value not in choices.values:
            errors[field] = [f"'{value}' is not one of: {', '.join(choices.values)}."]
    if errors:
        raise ValidationError(errors)
    requester = requester_for(tenant=tenant, email=requester_email, name=requester_name)
    ticket = Ticket.objects.create(
        organization=tenant.organization,
        number=_next_number(tenant.organization),
        subject=subject.strip()[:250],
        requester=requester,
        account_id=requester.account_id,
        channel=channel,
        topic=topic,
        priority=priority,
        last_customer_message_at=timezone.now(),
    )
    Message.objects.create(
        organization=tenant.organization,
        ticket=ticket,
        kind=Message.Kind.CUSTOMER,
        author_contact=requester,
        channel=channel,
        body_text=body.strip(),
        body_html=sanitize_html(body_html),
        message_id=message_id,
    )
    tags_set(ticket=ticket, names=tags)
    _record_status(ticket, "")
    ticket.sla_policy = sla_policy_for(ticket=ticket)
    ticket.save(update_fields=["sla_policy"])
    sla_refresh(ticket=ticket)
    _announce(ticket)
    if not _route(tenant, ticket):
        _out_of_hours_notice(tenant, ticket)
    audit_record(
        tenant=tenant, action="ticket.created", obj=ticket, account_id=ticket.account_id,
        changes={"subject": [None, ticket.subject], "requester": [None, requester.email]},
    )  # fmt: skip
    return ticket


def tags_set(*, ticket: Ticket, names: Iterable[str]) -> None:
    from tickets.models import Tag

    wanted = {name.strip().lower()[:50] for name in names if name and name.strip()}
    tags = []
    for name in sorted(wanted):
        tag, _ = Tag.objects.get_or_create(organization_id=ticket.organization_id, name=name)
        tags.append(tag)
    ticket.tags.set(tags)


def _mentioned_members(tenant: Tenant, body: str) -> list:
    """@casey or @casey.brooks: a member's first name or the part of their email before the @."""
    handles = {handle.lower().rstrip(".") for handle in MENTION.findall(body or "")}
    if not handles:
        return []
    members = organization_member_users(organization=tenant.organization)
    return [
        user
        for user in members
        if (user.first_name or "").lower() in handles or user.email.split("@")[0].lower() in handles
    ]


@transaction.atomic
def ticket_reply(*, tenant: Tenant, ticket: Ticket, body: str, status: str = Status.PENDING_CUSTOMER) -> Message:
    """A public reply. The first member to reply to an unowned ticket becomes its owner (seed 000)."""
    if not (body or "").strip():
        raise ValidationError({"body": ["Write the reply first."]})
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    now = timezone.now()
    member = tenant.member
    channel, _ = reply_channel_for(ticket=ticket)
    message = Message.objects.create(
        organization=tenant.organization,
        ticket=ticket,
        kind=Message.Kind.REPLY,
        author=member,
        channel=channel,
        body_text=body.strip(),
        # A chat reply is read by the chat widget from the conversation; an email reply waits for its sender.
        delivery=Message.Delivery.SENT if channel == Channel.CHAT else Message.Delivery.QUEUED,
    )
    if ticket.owner_id is None and member is not None:
        ticket.owner = member
        audit_record(
            tenant=tenant, action="ticket.owner_changed", obj=ticket, account_id=ticket.account_id,
            changes={"owner": [None, printable_value(member)], "reason": [None, "first reply"]},
        )  # fmt: skip
    ticket.first_response_at = ticket.first_response_at or now
    ticket.last_agent_message_at = now
    _status_apply(ticket, status)
    ticket.save()
    sla_refresh(ticket=ticket)
    if message.delivery == Message.Delivery.QUEUED:
        _enqueue_delivery(tenant.organization.pk, message.pk)
    return message


@transaction.atomic
def ticket_comment(*, tenant: Tenant, ticket: Ticket, body: str) -> Message:
    """An internal comment, never sent to the customer; @mentions notify the members named."""
    if not (body or "").strip():
        raise ValidationError({"body": ["Write the comment first."]})
    message = Message.objects.create(
        organization=tenant.organization,
        ticket=ticket,
        kind=Message.Kind.COMMENT,
        author=tenant.member,
        channel=Channel.WEB,
        body_text=body.strip(),
    )
    mentioned = _mentioned_members(tenant, body)
    message.mentions.set(mentioned)
    author = tenant.member
    author_name = (author.get_full_name() or author.email) if author else "Someone"
    for user in mentioned:
        if author is not None and user.pk == author.pk:
            continue
        notification_send(
            organization=tenant.organization,
            recipient=user,
            text=f"{author_name} mentioned you on #{ticket.number}: {body.strip()[:120]}",
            url=_ticket_url(ticket),
        )
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    return message


@transaction.atomic
def customer_message_add(
    *, tenant: Tenant, ticket: Ticket, body: str, body_html: str = "", message_id: str = "", in_reply_to: str = "",
    channel: str = Channel.EMAIL,
) -> tuple[Ticket, Message]:  # fmt: skip
    """The customer wrote. A closed ticket reopens within the organization's window, else a follow-up opens.

    Only the owner is alerted (seed 000), or nobody when the ticket has no owner yet: it is in the unassigned view.
    """
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == Status.CLOSED:
        window = timedelta(days=support_settings_get(organization=tenant.organization).reopen_window_days)
        if ticket.closed_at is not None and timezone.now() - ticket.closed_at > window:
            follow_up = ticket_create(
                tenant=tenant, subject=f"Follow-up to #{ticket.number}: {ticket.subject}"[:250], body=body,
                body_html=body_html, requester_email=ticket.requester.email if ticket.requester else "",
                channel=channel, topic=ticket.topic, priority=ticket.priority, message_id=message_id,
            )  # fmt: skip
            return follow_up, follow_up.messages.get()
    message = Message.objects.create(
        organization=tenant.organization,
        ticket=ticket,
        kind=Message.Kind.CUSTOMER,
        author_contact=ticket.requester,
        channel=channel,
        body_text=(body or "").strip(),
        body_html=sanitize_html(body_html),
        message_id=message_id,
        in_reply_to=in_reply_to,
    )
    ticket.last_customer_message_at = timezone.now()
    if ticket.status in (Status.CLOSED, Status.PENDING_CUSTOMER, Status.NEW):
        _status_apply(ticket, Status.OPEN if ticket.status != Status.NEW else Status.NEW)
    ticket.save()
    sla_refresh(ticket=ticket)
    if ticket.owner_id:
        text = f"{ticket.requester or 'The customer'} replied on #{ticket.number}: {ticket.subject}"
        notification_send(organization=tenant.organization, recipient=ticket.owner, text=text, url=_ticket_url(ticket))
        _slack(ticket.organization, f"{ticket.owner.get_full_name() or ticket.owner.email}: {text} {_absolute(ticket)}")
    return ticket, message


def _status_apply(ticket: Ticket, status: str) -> None:
    """Every status change passes here, so the rules hold whichever way a ticket is closed (menu, reply, bulk)."""
    if status not in Status.values:
        raise ValidationError({"status": [f"'{status}' is not a ticket status."]})
    if status == ticket.status:
        return
    if status == Status.CLOSED:
        from tickets.escalation import open_bug_refusal  # that module builds on this one

        # Seed 000: "The ticket should not be closed until the bug is resolved."
        if refusal := open_bug_refusal(ticket=ticket):
            raise ValidationError({"status": [refusal]})
    from_status = ticket.status
    ticket.status = status
    ticket.closed_at = timezone.now() if status == Status.CLOSED else None
    _record_status(ticket, from_status)


@transaction.atomic
def ticket_status_set(*, tenant: Tenant, ticket: Ticket, status: str) -> Ticket:
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    before = ticket.status
    _status_apply(ticket, status)
    if before == ticket.status:
        return ticket
    ticket.save()
    sla_refresh(ticket=ticket)
    if ticket.status == Status.CLOSED:
        _tell_followers(ticket, f"#{ticket.number} was closed: {ticket.subject}", except_user=tenant.member)
    audit_record(
        tenant=tenant, action="ticket.status_changed", obj=ticket, account_id=ticket.account_id,
        changes={"status": [before, ticket.status]},
    )  # fmt: skip
    return ticket


@transaction.atomic
def ticket_assign(*, tenant: Tenant, ticket: Ticket, owner, note: str = "") -> Ticket:
    """Hands a ticket to another member (for example before time off); the note goes into the conversation."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if (
        owner is not None
        and not organization_member_users(organization=tenant.organization).filter(pk=owner.pk).exists()
    ):
        raise ValidationError({"owner": ["Choose a member of this organization."]})
    if ticket.owner_id == (owner.pk if owner else None):
        return ticket
    before = ticket.owner
    ticket.owner = owner
    ticket.save(update_fields=["owner", "updated_at"])
    who = owner.get_full_name() or owner.email if owner else "nobody"
    conversation_event(
        ticket=ticket, author=tenant.member,
        text=f"Assigned to {who}." + (f" {note.strip()}" if (note or "").strip() else ""),
    )  # fmt: skip
    audit_record(
        tenant=tenant, action="ticket.owner_changed", obj=ticket, account_id=ticket.account_id,
        changes={"owner": [printable_value(before), printable_value(owner)]},
    )  # fmt: skip
    if owner is not None and owner.pk != getattr(tenant.user, "pk", None):
        notification_send(
            organization=tenant.organization, recipient=owner,
            text=f"#{ticket.number} is yours now: {ticket.subject}" + (f" ({note.strip()})" if note else ""),
            url=_ticket_url(ticket),
        )  # fmt: skip
    return ticket


def ticket_update(*, tenant: Tenant, ticket: Ticket, **values: Any) -> Ticket:
    """Topic, priority, subject and tags; a changed priority can change the SLA policy."""
    changes = {}
    for field in ("subject", "topic", "priority"):
        if field in values and values[field] != getattr(ticket, field):
            changes[field] = [getattr(ticket, field), values[field]]
            setattr(ticket, field, values[field])
    if "tags" in values:
        tags_set(ticket=ticket, names=values["tags"])
    if changes:
        ticket.full_clean(exclude=["organization", "requester", "account", "owner", "sla_policy"])
        ticket.sla_policy = sla_policy_for(ticket=ticket)
        ticket.save()
        sla_refresh(ticket=ticket)
        audit_record(tenant=tenant, action="ticket.updated", obj=ticket, account_id=ticket.account_id, changes=changes)
    return ticket


# --- The SLA clock --------------------------------------------------------------------------------------------


def sla_refresh(*, ticket: Ticket) -> Ticket:
    """Recomputes the next deadline and (re)arms the breach alarm for that exact moment."""
    from tickets.sla_clock import next_deadline

    due_at = (
        next_deadline(ticket=ticket)
        if ticket.status in OPEN_STATUSES and ticket.status not in PAUSED_STATUSES
        else None
    )
    if due_at != ticket.sla_due_at:
        Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=due_at)
        ticket.sla_due_at = due_at
        if due_at is not None:
            from tickets.tasks import sla_breach_check

            transaction.on_commit(
                lambda: sla_breach_check.apply_async(
                    (ticket.organization_id, ticket.pk, due_at.isoformat()), eta=due_at
                )
            )
    return ticket


def sla_breach_record(*, ticket_id: int, due_at) -> bool:
    """Marks the breach once (compare-and-set on the deadline it was armed for) and tells the owner, or the team
    when nobody owns the ticket yet."""
    now = timezone.now()
    if due_at > now:
        return False  # delivered early (a worker clock ahead): the alarm is re-armed by the next refresh
    claimed = Ticket.objects.filter(pk=ticket_id, sla_due_at=due_at, sla_breached_at__isnull=True).update(
        sla_breached_at=now
    )
    if not claimed:
        return False
    ticket = Ticket.objects.select_related("owner", "organization").get(pk=ticket_id)
    event_publish(
        DomainEvent(
            organization_id=ticket.organization_id,
            name="ticket.sla_breached",
            account_id=ticket.account_id,
            object_type="ticket",
            object_id=ticket.pk,
            payload={"number": ticket.number, "subject": ticket.subject, "priority": ticket.priority},
            occurred_at=now,
        )
    )
    recipients = [ticket.owner] if ticket.owner_id else list(_support_team(ticket.organization))
    for recipient in recipients:
        notification_send(
            organization=ticket.organization,
            recipient=recipient,
            text=f"SLA breached on #{ticket.number}: {ticket.subject}",
            url=_ticket_url(ticket),
        )
    return True


def sla_overdue_unrecorded(*, limit: int = 500) -> list[tuple[int, Any]]:
    """Open tickets past their deadline with no breach recorded yet (served by the (status, sla_due_at) index)."""
    return list(
        Ticket.objects.filter(status__in=OPEN_STATUSES, sla_due_at__lte=timezone.now(), sla_breached_at__isnull=True)
        .order_by("sla_due_at")
        .values_list("pk", "sla_due_at")[:limit]
    )


def _support_team(organization: Organization):
    from core.models import Role

    return organization_member_users(organization=organization).filter(
        memberships__organization=organization, memberships__role__in=(Role.SUPPORT, Role.ADMIN)
    )


def reply_deliver(*, message_id: int) -> str:
    """Emails a public reply with the headers that make the customer's answer thread back to the ticket."""
    from django.conf import settings
    from django.core.mail import EmailMessage

    claimed = Message.objects.filter(pk=message_id, delivery=Message.Delivery.QUEUED).update(
        delivery=Message.Delivery.SENT
    )
    if not claimed:
        return "already handled"
    message = Message.objects.select_related("ticket__requester", "ticket__organization", "author").get(pk=message_id)
    ticket = message.ticket
    known_ids = list(
        Message.objects.filter(ticket=ticket)
        .exclude(message_id="")
        .order_by("created_at", "id")
        .values_list("message_id", flat=True)
    )
    make_headers = auto_reply_headers if message.automatic else reply_headers
    headers = make_headers(
        ticket_message_ids=known_ids, last_message_id=known_ids[-1] if known_ids else "", domain=settings.EMAIL_DOMAIN
    )
    try:
        if ticket.requester is None:
            raise ValueError("The ticket has no requester to send to.")
        EmailMessage(
            subject=f"Re: {ticket.subject} {ticket_token(ticket)}",
            body=message.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[ticket.requester.email],
            cc=_copies_for(ticket),
            headers=headers,
        ).send()
    except Exception as exc:
        Message.objects.filter(pk=message_id).update(delivery=Message.Delivery.FAILED, delivery_error=str(exc)[:2000])
        return "failed"
    Message.objects.filter(pk=message_id).update(message_id=headers["Message-ID"].strip("<>"), delivery_error="")
    return "sent"


def _copies_for(ticket: Ticket) -> list[str]:
    """Seed 003: replies to job applications copy the organization's head of people."""
    from tickets.models import Topic

    if ticket.topic != Topic.JOB_APPLICATION:
        return []
    copy = support_settings_get(organization=ticket.organization).job_applications_cc
    return [copy] if copy else []


def reply_resend(*, tenant: Tenant, message: Message) -> Message:
    """A failed reply goes out again; its text was never lost."""
    if message.delivery != Message.Delivery.FAILED:
        raise ValidationError({"delivery": ["Only a reply that failed can be resent."]})
    Message.objects.filter(pk=message.pk).update(delivery=Message.Delivery.QUEUED, delivery_error="")
    _enqueue_delivery(tenant.organization.pk, message.pk)
    message.refresh_from_db()
    return message


def _enqueue_delivery(organization_id: int, message_id: int) -> None:
    from tickets.tasks import deliver_reply

    transaction.on_commit(lambda: deliver_reply.delay(organization_id, message_id))


def ticket_token(ticket: Ticket) -> str:
    """The subject token a reply carries, the last resort for threading a customer's answer."""
    return ticket_token_format(number=ticket.number, organization_slug=ticket.organization.slug)


# --- Channels, announcements and automatic answers ------------------------------------------------------------

CHAT_ONLINE_WINDOW = timedelta(minutes=2)


def chat_presence_touch(*, tenant: Tenant, contact: Contact) -> ChatPresence:
    """The chat channel says the customer is on the page right now."""
    presence, _ = ChatPresence.objects.update_or_create(
        organization=tenant.organization, contact=contact, defaults={"last_seen_at": timezone.now()}
    )
    return presence


def reply_channel_for(*, ticket: Ticket) -> tuple[str, str]:
    """Seed 000: reply by chat only while the customer is online; otherwise by email. Returns (channel, why)."""
    if ticket.channel != Channel.CHAT or ticket.requester_id is None:
        return Channel.EMAIL, f"The ticket came by {ticket.get_channel_display().lower()}: the reply goes by email."
    presence = ChatPresence.objects.filter(contact_id=ticket.requester_id).first()
    if presence is None:
        return Channel.EMAIL, "The customer has not been seen in the chat: the reply goes by email."
    ago = timezone.now() - presence.last_seen_at
    if ago <= CHAT_ONLINE_WINDOW:
        return Channel.CHAT, "The customer is online in the chat now: the reply goes by chat."
    minutes = int(ago.total_seconds() // 60)
    return Channel.EMAIL, f"The customer left the chat {minutes} min ago: the reply goes by email."


@transaction.atomic
def ticket_close(*, tenant: Tenant, ticket: Ticket, confirmation: str = "") -> Ticket:
    """Closes a ticket, optionally with the "does this solve it?" message to the customer (seed 000)."""
    if (confirmation or "").strip():
        ticket_reply(tenant=tenant, ticket=ticket, body=confirmation, status=Status.CLOSED)
        ticket.refresh_from_db()
        return ticket
    return ticket_status_set(tenant=tenant, ticket=ticket, status=Status.CLOSED)


def _absolute(ticket: Ticket) -> str:
    from django.conf import settings

    return f"{settings.SITE_URL}{_ticket_url(ticket)}"


def _slack(organization: Organization, text: str) -> None:
    if not support_settings_get(organization=organization).slack_webhook_url:
        return
    from tickets.tasks import slack_notify

    transaction.on_commit(lambda: slack_notify.delay(organization.pk, text))


def _announce(ticket: Ticket) -> None:
    """Seed 000: every new ticket is posted to the support channel, so the whole team sees it."""
    requester = ticket.requester.email if ticket.requester else "unknown"
    account = f" ({ticket.account.name})" if ticket.account_id else ""
    _slack(
        ticket.organization,
        f"New ticket #{ticket.number}: {ticket.subject} from {requester}{account} {_absolute(ticket)}",
    )


def _merge(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _automatic_reply(tenant: Tenant, ticket: Ticket, text: str) -> Message:
    message = Message.objects.create(
        organization=tenant.organization, ticket=ticket, kind=Message.Kind.REPLY, channel=Channel.EMAIL,
        body_text=text, automatic=True, delivery=Message.Delivery.QUEUED,
    )  # fmt: skip
    _enqueue_delivery(tenant.organization.pk, message.pk)
    return message


def conversation_event(
    *, ticket: Ticket, text: str, author=None, channel: str = Channel.WEB, message_id: str = ""
) -> Message:
    """An automatic action written into the conversation, so the team sees what happened and why."""
    return Message.objects.create(
        organization_id=ticket.organization_id, ticket=ticket, kind=Message.Kind.EVENT, author=author,
        channel=channel, body_text=text, message_id=message_id,
    )  # fmt: skip


def routing_rule_for(*, ticket: Ticket) -> RoutingRule | None:
    """First active rule matching the topic and the account's cohort (empty fields match anything)."""
    cohort = ticket.account.cohort if ticket.account_id else ""
    return (
        RoutingRule.objects.filter(active=True)
        .filter(Q(topic="") | Q(topic=ticket.topic))
        .filter(Q(cohort="") | Q(cohort=cohort))
        .order_by("position", "id")
        .first()
    )


def _route(tenant: Tenant, ticket: Ticket) -> bool:
    """Applies the organization's routing rule (seed 000's venue table); True when it answered the customer.

    Every automatic action is written into the conversation, so the team sees what the inbox did and why.
    """
    rule = routing_rule_for(ticket=ticket)
    if rule is None or rule.action == RoutingRule.Action.KEEP:
        return False
    support_settings = support_settings_get(organization=tenant.organization)
    first_name = ticket.requester.first_name if ticket.requester and ticket.requester.first_name else "there"
    text = _merge(
        rule.reply,
        {"first_name": first_name, "forum_url": support_settings.forum_url,
         "feature_tracker_url": support_settings.feature_tracker_url},
    )  # fmt: skip
    _automatic_reply(tenant, ticket, text)
    conversation_event(ticket=ticket, text=f"Routing rule “{rule}”: answered automatically and closed as out of scope.")
    _status_apply(ticket, Status.CLOSED)
    ticket.save(update_fields=["status", "closed_at"])
    sla_refresh(ticket=ticket)
    return True


def _out_of_hours_notice(tenant: Tenant, ticket: Ticket) -> None:
    """Seed 003: outside business hours the customer is told when we are back (once, when the ticket opens)."""
    from tickets.sla_clock import calendar_for

    policy = ticket.sla_policy
    support_settings = support_settings_get(organization=tenant.organization)
    if policy is None or not policy.business_hours or not support_settings.out_of_hours_reply.strip():
        return
    if ticket.channel not in (Channel.EMAIL, Channel.WEB, Channel.CONTACT_FORM):
        return
    calendar = calendar_for(support_settings=support_settings)
    now = timezone.now()
    if calendar.is_open(at=now):
        return
    back = timezone.localtime(calendar.next_open(at=now), calendar.zone)
    text = _merge(
        support_settings.out_of_hours_reply,
        {"business_hours": f"in {support_settings.timezone} business hours", "next_open": f"{back:%A %d %B, %H:%M}"},
    )
    _automatic_reply(tenant, ticket, text)
    conversation_event(ticket=ticket, text=f"Out of business hours: the customer was told we are back {back:%A %H:%M}.")


# Seed 000: "If it's unclear ... please ask the customer to confirm they don't need any further help."
CLOSE_CONFIRMATION = (
    "We believe this is solved, so we are closing this ticket. Does this solve it for you? If not, just reply "
    "to this email and the ticket opens again."
)


def macros_rendered(*, ticket: Ticket, agent) -> list[tuple[str, str]]:
    """The organization's canned replies with this ticket's merge fields filled in, for the composer."""
    from tickets.models import Macro

    support_settings = support_settings_get(organization=ticket.organization)
    values = {
        "first_name": (ticket.requester.first_name if ticket.requester else "") or "there",
        "ticket_number": str(ticket.number),
        "subject": ticket.subject,
        "agent_name": (agent.get_full_name() or agent.email) if agent is not None else "",
        "docs_url": support_settings.docs_url,
        "forum_url": support_settings.forum_url,
    }
    return [(macro.name, _merge(macro.body, values)) for macro in Macro.objects.order_by("name")]


def ticket_follow_toggle(*, tenant: Tenant, ticket: Ticket) -> bool:
    """Follows the ticket, or stops following it; True when the member now follows it."""
    user = tenant.member
    if user is None:
        raise ValidationError({"followers": ["Only a member can follow a ticket."]})
    if ticket.followers.filter(pk=user.pk).exists():
        ticket.followers.remove(user)
        return False
    ticket.followers.add(user)
    return True


def _tell_followers(ticket: Ticket, text: str, *, except_user=None) -> None:
    for follower in ticket.followers.all():
        if except_user is not None and follower.pk == except_user.pk:
            continue
        notification_send(organization=ticket.organization, recipient=follower, text=text, url=_ticket_url(ticket))
