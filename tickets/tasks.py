"""Celery entry points of the inbox: thin, idempotent, scoped by core.tasks.TenantTask."""

from datetime import datetime

from celery import shared_task

from core.models import Organization
from core.tasks import TenantTask
from tickets import escalation_tasks  # noqa: F401 (the worker discovers tasks.py modules only)


@shared_task(base=TenantTask, name="tickets.tasks.sla_breach_check")
def sla_breach_check(organization: Organization, ticket_id: int, due_at_iso: str) -> bool:
    """Armed for the exact moment a deadline passes (not an hourly sweep); a stale alarm does nothing."""
    from tickets.services import sla_breach_record

    return sla_breach_record(ticket_id=ticket_id, due_at=datetime.fromisoformat(due_at_iso))


@shared_task(base=TenantTask, name="tickets.tasks.deliver_reply")
def deliver_reply(organization: Organization, message_id: int) -> str:
    """Sends a public reply by email once; a failure is kept on the message, which can be resent."""
    from tickets.services import reply_deliver

    return reply_deliver(message_id=message_id)


@shared_task(name="tickets.tasks.sla_breach_sweep")
def sla_breach_sweep() -> int:
    """Every minute: records breaches whose own alarm never rang, in every organization."""
    from core.tenancy import platform_scope, tenant_scope
    from tickets.services import sla_breach_record, sla_overdue_unrecorded

    recorded = 0
    with platform_scope():
        organizations = list(Organization.objects.all())
    for organization in organizations:
        with tenant_scope(organization):
            for ticket_id, due_at in sla_overdue_unrecorded(limit=500):
                recorded += sla_breach_record(ticket_id=ticket_id, due_at=due_at)
    return recorded


@shared_task(base=TenantTask, name="tickets.tasks.slack_notify")
def slack_notify(organization: Organization, text: str) -> bool:
    """Posts to the organization's support channel, when it has one."""
    from tickets.services import support_settings_get
    from tickets.slack import slack_post

    webhook_url = support_settings_get(organization=organization).slack_webhook_url
    return slack_post(webhook_url=webhook_url, text=text) if webhook_url else False
