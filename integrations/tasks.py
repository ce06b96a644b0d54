"""Celery entry points for every source: thin, taking ids, safe to run twice.

A run is a row (integrations.models.SyncRun) before it is a message, so a redelivered message finds the row: a
finished run does nothing, a run whose worker died is taken over once its lock expires.
"""

from celery import shared_task
from django.conf import settings

from core.models import Organization
from core.tasks import TenantTask
from integrations.models import Connection, SyncKind
from integrations.registry import TransientSyncError
from integrations.services import SyncAlreadyRunning, sync_execute, sync_request

# acks_late + reject_on_worker_lost: a message is removed from the broker only when the run finished, so a worker
# killed mid-run (SIGKILL, OOM) leaves it to be delivered again. That is safe because every write is an upsert on
# the source's id and a finished run ignores a second delivery.
SYNC_TASK_OPTIONS = {
    "base": TenantTask,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (TransientSyncError,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
    "soft_time_limit": 60 * 60,
    "time_limit": 65 * 60,
}


@shared_task(bind=True, name="integrations.tasks.sync_run_execute", **SYNC_TASK_OPTIONS)
def sync_run_execute(self, organization: Organization, run_id: int) -> str:
    from integrations.models import SyncRun

    run = SyncRun.objects.filter(pk=run_id).first()
    if run is None:
        return "gone"
    try:
        run = sync_execute(organization=organization, run=run)
    except SyncAlreadyRunning as exc:
        # Another worker holds the lock (or a dead one, until it expires): try again after the lock's lifetime.
        raise self.retry(exc=exc, countdown=settings.SYNC_LOCK_TTL_SECONDS, max_retries=None) from None
    return run.status


@shared_task(name="integrations.tasks.sync_all_organizations")
def sync_all_organizations(kind: str = SyncKind.INCREMENTAL) -> int:
    """Beat's entry: one run per enabled, configured connection (skipped where one is already running)."""
    from core.tenancy import platform_scope, tenant_scope

    with platform_scope():
        connections = list(
            Connection.objects.filter(enabled=True).exclude(api_key_sealed="").select_related("organization")
        )
    for connection in connections:
        with tenant_scope(connection.organization):
            sync_request(organization=connection.organization, source=connection.source, kind=kind)
    return len(connections)
