"""Connections, sync runs, the one-run-at-a-time lock, webhook records and external record links.

Sources call these; they hold no source-specific rule. Every write that an admin makes is audited, and secrets
never leave `core.secrets` in clear text except to the adapter that uses them.
"""

import logging
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.bulk import bulk_upsert
from core.errors import ApplicationError
from core.models import Organization
from core.secrets import secret_change, unseal
from core.services import audit_record
from core.tenancy import Tenant
from integrations.models import (
    Connection,
    ExternalRecord,
    Source,
    SyncError,
    SyncLock,
    SyncRun,
    SyncStatus,
    WebhookEvent,
    WebhookStatus,
)
from integrations.registry import ConnectionCheck, adapter_for

logger = logging.getLogger(__name__)

RAW_BODY_LIMIT = 64 * 1024


class SyncAlreadyRunning(Exception):  # noqa: N818 - a state, not a failure
    """Another run of this organization and source holds the lock."""


# --- Connections --------------------------------------------------------------------------------------------------


def connection_get(*, organization: Organization, source: str) -> Connection:
    connection, _ = Connection.objects.get_or_create(organization=organization, source=source)
    return connection


def connection_api_key(connection: Connection) -> str:
    return unseal(connection.api_key_sealed)


def connection_webhook_secret(connection: Connection) -> str:
    return unseal(connection.webhook_secret_sealed)


@transaction.atomic
def connection_update(
    *,
    tenant: Tenant,
    source: str,
    api_key: str | None,
    webhook_secret: str | None,
    api_base_url: str,
    enabled: bool,
) -> Connection:
    """Secrets: None keeps the stored one, "" clears it, a value replaces it (sealed). The address must be http(s).

    The audit entry says that a secret changed, never what it is.
    """
    api_base_url = (api_base_url or "").strip().rstrip("/")
    if api_base_url:
        try:
            URLValidator(schemes=["https", "http"])(api_base_url)
        except ValidationError:
            raise ValidationError(
                {"api_base_url": ["Give a full address such as https://api.example.com, or leave it blank."]}
            ) from None
    connection = connection_get(organization=tenant.organization, source=source)
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    changes: dict[str, Any] = {}
    if api_base_url != connection.api_base_url:
        changes["api_base_url"] = [connection.api_base_url, api_base_url]
    if enabled != connection.enabled:
        changes["enabled"] = [connection.enabled, enabled]
    connection.api_base_url = api_base_url
    connection.enabled = enabled
    connection.api_key_sealed, key_change = secret_change(connection.api_key_sealed, api_key)
    connection.webhook_secret_sealed, secret_changed = secret_change(connection.webhook_secret_sealed, webhook_secret)
    if key_change:
        changes["api_key"] = key_change
    if secret_changed:
        changes["webhook_secret"] = secret_changed
    connection.save()
    if changes:
        audit_record(tenant=tenant, action=f"integration.{source}.updated", obj=connection, changes=changes)
    return connection


def connection_test(*, tenant: Tenant, source: str) -> list[ConnectionCheck]:
    """Asks the source what the stored credentials can do, and keeps the answer for the settings page."""
    connection = connection_get(organization=tenant.organization, source=source)
    if not connection.is_configured:
        checks = [ConnectionCheck("Credentials", ok=False, detail="Save an API key or token first.")]
    else:
        try:
            checks = adapter_for(source).test_connection(connection)
        except Exception as exc:  # an adapter's bug must still answer the admin, not a 500
            logger.exception("Testing the %s connection of %s failed", source, tenant.organization.slug)
            checks = [ConnectionCheck("Connection", ok=False, detail=f"The test itself failed: {exc}")]
    connection.last_tested_at = timezone.now()
    connection.last_test_checks = [check.as_dict() for check in checks]
    connection.save(update_fields=["last_tested_at", "last_test_checks", "updated_at"])
    return checks


# --- Runs ---------------------------------------------------------------------------------------------------------


def sync_request(*, organization: Organization, source: str, kind: str, requested_by=None) -> tuple[SyncRun, bool]:
    """Queues a run unless one of this source is already queued or running: (the run, whether it is new).

    The task is enqueued when the transaction commits, so a worker never looks for a row it cannot see yet.
    A connection without credentials, or turned off, is refused with the way to fix it.
    """
    from integrations.tasks import sync_run_execute

    connection = connection_get(organization=organization, source=source)
    label = Source(source).label
    if not connection.is_configured:
        raise ApplicationError(f"Save the {label} credentials first.")
    if not connection.enabled:
        raise ApplicationError(f"The {label} connection is turned off: turn it on to sync.")
    with transaction.atomic():
        active = (
            SyncRun.objects.select_for_update()
            .filter(source=source, status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING])
            .order_by("-requested_at")
            .first()
        )
        if active is not None and not sync_run_is_stale(active):
            return active, False
        if active is not None:
            sync_run_finish(active, error="The worker running it stopped answering; a new run takes over.")
        run = SyncRun.objects.create(organization=organization, source=source, kind=kind, requested_by=requested_by)
        transaction.on_commit(lambda: sync_run_execute.delay(organization.pk, run.pk))
    return run, True


def sync_run_is_stale(run: SyncRun) -> bool:
    """Queued long ago with no worker taking it, or running with no heartbeat for longer than the lock lives."""
    now = timezone.now()
    patience = timedelta(seconds=settings.SYNC_LOCK_TTL_SECONDS * 3)
    if run.status == SyncStatus.QUEUED:
        return run.requested_at < now - max(patience, timedelta(hours=1))
    return (run.heartbeat_at or run.started_at or run.requested_at) < now - patience


def sync_run_begin(run: SyncRun) -> SyncRun:
    """Marks the run started. A run taken over from a worker that died starts its counts again: the adapter passes
    over every record again (upserts, so nothing is written twice), and the counts describe that pass."""
    now = timezone.now()
    values: dict[str, Any] = {"status": SyncStatus.RUNNING, "started_at": now, "heartbeat_at": now, "error": ""}
    if run.started_at is not None:
        values.update(processed=0, created=0, updated=0, unchanged=0, failed=0)
        values["summary"] = {**run.summary, "resumed_at": now.isoformat()}
        SyncError.objects.filter(run=run).delete()
    SyncRun.objects.filter(pk=run.pk).update(**values)
    run.refresh_from_db()
    return run


def sync_run_advance(
    run: SyncRun,
    *,
    processed: int = 0,
    created: int = 0,
    updated: int = 0,
    unchanged: int = 0,
    failed: int = 0,
    total: int | None = None,
) -> None:
    """Adds a batch's counts in one UPDATE (a concurrent reader sees whole batches) and renews the lock."""
    values: dict[str, Any] = {
        "processed": F("processed") + processed,
        "created": F("created") + created,
        "updated": F("updated") + updated,
        "unchanged": F("unchanged") + unchanged,
        "failed": F("failed") + failed,
        "heartbeat_at": timezone.now(),
    }
    if total is not None:
        values["total"] = total
    SyncRun.objects.filter(pk=run.pk).update(**values)
    sync_lock_renew(organization_id=run.organization_id, source=run.source)


def sync_run_set_total(run: SyncRun, total: int) -> None:
    SyncRun.objects.filter(pk=run.pk).update(total=total, heartbeat_at=timezone.now())


def sync_error_record(run: SyncRun, *, object_type: str, external_id: str, message: str) -> SyncError:
    return SyncError.objects.create(
        organization_id=run.organization_id,
        run=run,
        object_type=object_type,
        external_id=str(external_id)[:100],
        message=message[:2000],
    )


def sync_run_finish(run: SyncRun, *, error: str = "", summary: dict[str, Any] | None = None) -> SyncRun:
    """Succeeded, partial (some records failed: listed with the run) or failed (the run itself stopped)."""
    run.refresh_from_db()
    if error:
        status = SyncStatus.FAILED
    elif run.failed:
        status = SyncStatus.PARTIAL
    else:
        status = SyncStatus.SUCCEEDED
    values: dict[str, Any] = {"status": status, "finished_at": timezone.now(), "error": error[:5000]}
    if summary is not None:
        values["summary"] = {**run.summary, **summary}
    SyncRun.objects.filter(pk=run.pk).update(**values)
    run.refresh_from_db()
    return run


def sync_watermark_advance(*, organization: Organization, source: str, to: datetime) -> None:
    """Moves the incremental watermark forward only: a slow old run never drags it back."""
    Connection.objects.filter(organization=organization, source=source).filter(
        Q(events_watermark__isnull=True) | Q(events_watermark__lt=to)
    ).update(events_watermark=to)


# --- The lock -----------------------------------------------------------------------------------------------------

_held_locks: dict[tuple[int, str], str] = {}


@contextmanager
def sync_lock(*, organization: Organization, source: str) -> Iterator[str]:
    """Claims the organization's lock for this source by compare-and-set, or raises SyncAlreadyRunning.

    The lock expires SYNC_LOCK_TTL_SECONDS after its last renewal (sync_run_advance renews it), so a worker killed
    mid-run holds it only that long; a live worker renews it with every batch.
    """
    holder = uuid.uuid4().hex
    ttl = timedelta(seconds=settings.SYNC_LOCK_TTL_SECONDS)
    SyncLock.objects.get_or_create(organization=organization, source=source)  # retries a racing create itself
    now = timezone.now()
    claimed = (
        SyncLock.objects.filter(organization=organization, source=source)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__lt=now))
        .update(holder=holder, expires_at=now + ttl)
    )
    if not claimed:
        raise SyncAlreadyRunning(f"Another {source} sync of {organization.slug} is running.")
    _held_locks[(organization.pk, source)] = holder
    try:
        yield holder
    finally:
        _held_locks.pop((organization.pk, source), None)
        SyncLock.objects.filter(organization=organization, source=source, holder=holder).update(
            holder="", expires_at=None
        )


def sync_lock_renew(*, organization_id: int, source: str) -> None:
    holder = _held_locks.get((organization_id, source))
    if holder:
        SyncLock.objects.filter(organization_id=organization_id, source=source, holder=holder).update(
            expires_at=timezone.now() + timedelta(seconds=settings.SYNC_LOCK_TTL_SECONDS)
        )


def sync_execute(*, organization: Organization, run: SyncRun) -> SyncRun:
    """Runs one sync under the lock. A finished run is left alone, so a redelivered task does nothing."""
    from integrations.registry import TransientSyncError

    run.refresh_from_db()
    if run.is_finished:
        return run
    connection = connection_get(organization=organization, source=run.source)
    if not connection.is_configured or not connection.enabled:
        return sync_run_finish(run, error=f"The {run.get_source_display()} connection is not set up or is turned off.")
    with sync_lock(organization=organization, source=run.source):
        run = sync_run_begin(run)
        try:
            adapter_for(run.source).sync(run, connection)
        except TransientSyncError:
            raise  # the task retries the same run; the lock is released on the way out
        except Exception as exc:
            logger.exception("%s failed", run)
            return sync_run_finish(run, error=f"{type(exc).__name__}: {exc}")
        run.refresh_from_db()
        if not run.is_finished:  # adapters may finish with a summary themselves
            run = sync_run_finish(run)
    return run


# --- Webhooks -----------------------------------------------------------------------------------------------------


def webhook_event_record(
    *,
    organization: Organization,
    source: str,
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
    occurred_at: datetime | None = None,
) -> tuple[WebhookEvent, bool]:
    """Keeps a verified delivery once: (the event, True) the first time, (the stored one, False) for a duplicate."""
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                organization=organization,
                source=source,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                occurred_at=occurred_at,
            )
    except IntegrityError:
        return WebhookEvent.objects.get(source=source, event_id=event_id), False
    return event, True


def webhook_event_reject(*, organization: Organization, source: str, reason: str, body: bytes) -> WebhookEvent:
    """A delivery we refused (bad signature, stale, unreadable) is kept, so an admin can see what was sent."""
    logger.warning("Rejected a %s webhook for %s: %s", source, organization.slug, reason)
    return WebhookEvent.objects.create(
        organization=organization,
        source=source,
        status=WebhookStatus.REJECTED,
        rejection_reason=reason[:300],
        raw_body=body[:RAW_BODY_LIMIT].decode("utf-8", "replace"),
    )


WEBHOOK_CLAIM_PATIENCE = timedelta(minutes=10)


def webhook_event_claim(event_pk: int) -> WebhookEvent | None:
    """Compare-and-set to "processing": of two workers handed the same event, the second gets None.

    An event claimed by a worker that died (still "processing" after WEBHOOK_CLAIM_PATIENCE) can be claimed again,
    so a redelivered task finishes it; a failed one can be claimed by its retry.
    """
    now = timezone.now()
    claimable = Q(status__in=[WebhookStatus.RECEIVED, WebhookStatus.FAILED]) | Q(
        status=WebhookStatus.PROCESSING, processed_at__lt=now - WEBHOOK_CLAIM_PATIENCE
    )
    claimed = (
        WebhookEvent.objects.filter(pk=event_pk)
        .filter(claimable)
        .update(status=WebhookStatus.PROCESSING, attempts=F("attempts") + 1, processed_at=now)
    )
    return WebhookEvent.objects.get(pk=event_pk) if claimed else None


def webhook_event_done(event: WebhookEvent, *, status: str = WebhookStatus.PROCESSED, error: str = "") -> None:
    WebhookEvent.objects.filter(pk=event.pk).update(status=status, error=error[:5000], processed_at=timezone.now())


# --- External records ---------------------------------------------------------------------------------------------


def external_records_touch(
    *,
    organization: Organization,
    source: str,
    object_type: str,
    links: Iterable[tuple[str, int | None, datetime | None]],
    fingerprints: Iterable[str] | None = None,
    now: datetime | None = None,
) -> None:
    """Upserts (external id, local id, remote updated at) links in one statement: the "last synced" of each record,
    and, where given, the fingerprint of what was last written back.

    Keyed on the external id, so a retried batch writes the same rows again and nothing twice.
    """
    now = now or timezone.now()
    links = list(links)
    rows = [
        {
            "organization_id": organization.pk,
            "source": source,
            "object_type": object_type,
            "external_id": str(external_id),
            "local_id": local_id,
            "remote_updated_at": remote_updated_at,
            "last_synced_at": now,
            "pushed_fingerprint": "",  # kept as stored on an update unless fingerprints are given
        }
        for external_id, local_id, remote_updated_at in links
    ]
    update_fields = ["local_id", "remote_updated_at", "last_synced_at"]
    if fingerprints is not None:
        for row, fingerprint in zip(rows, fingerprints, strict=True):
            row["pushed_fingerprint"] = fingerprint
        update_fields.append("pushed_fingerprint")
    bulk_upsert(
        ExternalRecord,
        rows,
        unique_fields=["organization", "source", "object_type", "external_id"],
        update_fields=update_fields,
    )


def external_records_by_id(*, source: str, object_type: str, external_ids: Iterable[str]) -> dict[str, ExternalRecord]:
    ids = [str(external_id) for external_id in external_ids]
    return {
        record.external_id: record
        for record in ExternalRecord.objects.filter(source=source, object_type=object_type, external_id__in=ids)
    }


def last_synced_at(*, object_type: str, local_id: int) -> dict[str, datetime]:
    """When each source last synced one local record: {"stripe": …, "hubspot": …}."""
    rows = ExternalRecord.objects.filter(object_type=object_type, local_id=local_id).values_list(
        "source", "last_synced_at"
    )
    latest: dict[str, datetime] = {}
    for source, synced in rows:
        if source not in latest or synced > latest[source]:
            latest[source] = synced
    return latest
