"""Celery entry points of the HubSpot adapter (its sync runs are the foundation's `sync_run_execute`).

Tasks take ids and re-enter the tenant's scope (TenantTask). acks_late + reject_on_worker_lost: a worker killed
mid-task leaves the message to be delivered again, which is safe because applying an event is the sync's upsert
keyed on the HubSpot id and a processed event is not claimed twice.
"""

from celery import shared_task

from core.models import Organization
from core.tasks import TenantTask
from integrations.registry import TransientSyncError

HUBSPOT_TASK_OPTIONS = {
    "base": TenantTask,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (TransientSyncError,),
    "retry_backoff": 10,  # 10 s, 20 s, 40 s … with jitter, so a rate-limited portal is not hammered in step
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
    "soft_time_limit": 120,
    "time_limit": 150,
}


@shared_task(name="integrations.hubspot.tasks.webhook_event_apply", **HUBSPOT_TASK_OPTIONS)
def hubspot_webhook_event_apply(organization: Organization, webhook_event_id: int) -> str:
    from integrations.hubspot.webhooks import webhook_event_apply
    from integrations.models import WebhookStatus
    from integrations.services import webhook_event_claim, webhook_event_done

    event = webhook_event_claim(webhook_event_id)
    if event is None:
        return "already handled"
    try:
        status, note = webhook_event_apply(organization=organization, event=event)
    except TransientSyncError as exc:
        webhook_event_done(event, status=WebhookStatus.FAILED, error=str(exc))
        raise  # retried with backoff; the claim takes a failed event again
    except Exception as exc:
        webhook_event_done(event, status=WebhookStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    webhook_event_done(event, status=status, error=note)
    return status
