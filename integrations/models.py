"""What every outside source shares: its connection, its sync runs, the webhooks it sent, the records it feeds.

Stripe's own objects and the revenue ledger live in `revenue`; HubSpot's mappings in `integrations.hubspot_models`.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.models import TenantModel


class Source(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    HUBSPOT = "hubspot", "HubSpot"


class Connection(TenantModel):
    """One organization's connection to one source. Secrets are sealed (core.secrets) and never shown again."""

    source = models.CharField(max_length=16, choices=Source.choices)
    # Stripe: a restricted API key. HubSpot: a private-app access token.
    api_key_sealed = models.TextField(blank=True)
    # Stripe: the endpoint's signing secret (whsec_…). HubSpot: the app's client secret (signs v3 webhooks).
    webhook_secret_sealed = models.TextField(blank=True)
    # Blank: the vendor's own address. Set for tests and proxies.
    api_base_url = models.URLField(max_length=300, blank=True)
    enabled = models.BooleanField(default=True)
    # Incremental syncs read from here (minus an overlap) and move it forward when a run succeeds.
    events_watermark = models.DateTimeField(null=True, blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_checks = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "source"], name="connection_unique_source"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} connection"

    @property
    def is_configured(self) -> bool:
        return bool(self.api_key_sealed)


class SyncKind(models.TextChoices):
    INCREMENTAL = "incremental", "Incremental"
    FULL = "full", "Full reconcile"


class SyncStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    # Finished, but some records failed: they are listed with the run and retried by the next one.
    PARTIAL = "partial", "Finished with errors"
    FAILED = "failed", "Failed"


FINISHED_STATUSES = (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL, SyncStatus.FAILED)


class SyncRun(TenantModel):
    """One pass over a source. Counts grow while it runs, so the settings page can show its progress."""

    source = models.CharField(max_length=16, choices=Source.choices)
    kind = models.CharField(max_length=16, choices=SyncKind.choices)
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written with every batch; a running run whose heartbeat stopped belongs to a worker that died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(null=True, blank=True)  # unknown until the source says
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # What a reconcile repaired, the watermark it read from, and the like.
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["organization", "source", "-requested_at"], name="sync_run_latest")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.get_kind_display().lower()} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def duration_label(self) -> str:
        """How long it took (or has been running): "48 s", "3 min 12 s", "1 h 4 min"."""
        if self.started_at is None:
            return ""
        end = self.finished_at or timezone.now()
        seconds = max(0, int((end - self.started_at).total_seconds()))
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        if hours:
            return f"{hours} h {minutes} min"
        if minutes:
            return f"{minutes} min {seconds} s"
        return f"{seconds} s"

    @property
    def progress_percent(self) -> int | None:
        """How far it got; None while the total is unknown. A failed run shows where it stopped, not a full bar."""
        if self.total:
            return min(100, round(100 * self.processed / self.total))
        if self.status == SyncStatus.FAILED:
            return 0
        return 100 if self.is_finished else None


class SyncError(TenantModel):
    """A record a run could not apply, and why. The record is retried by the next run."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="errors")
    object_type = models.CharField(max_length=32)
    external_id = models.CharField(max_length=100, blank=True)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.object_type} {self.external_id}: {self.message[:60]}"


class SyncLock(TenantModel):
    """At most one run per organization and source. Held while heartbeats renew it; a dead holder's lock expires."""

    source = models.CharField(max_length=16, choices=Source.choices)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "source"], name="sync_lock_unique_source")]

    def __str__(self) -> str:
        return f"{self.source} lock held by {self.holder or 'nobody'}"


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"  # claimed by a worker; claimable again if it never finished
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"  # a type we do not follow, or older than what we hold
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"  # bad signature, stale timestamp, unreadable body


class WebhookEvent(TenantModel):
    """Every delivery we were sent, accepted or not. Accepted events are unique on the source's event id."""

    source = models.CharField(max_length=16, choices=Source.choices)
    event_id = models.CharField(max_length=100, blank=True)  # blank for a rejected delivery: its id is not trusted
    event_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=WebhookStatus.choices, default=WebhookStatus.RECEIVED)
    payload = models.JSONField(default=dict, blank=True)
    # Kept only for rejected deliveries (cut at 64 KiB), so an admin can see what was refused.
    raw_body = models.TextField(blank=True)
    rejection_reason = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)  # when the source says it happened
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source", "event_id"],
                condition=~models.Q(event_id=""),
                name="webhook_event_unique_id",
            ),
        ]
        indexes = [models.Index(fields=["organization", "source", "-received_at"], name="webhook_event_latest")]

    def __str__(self) -> str:
        return f"{self.source} {self.event_type or 'delivery'} {self.event_id}"


class ExternalRecord(TenantModel):
    """Which local row an outside record feeds, when it was last synced, and the last remote change applied.

    `remote_updated_at` is what keeps a late, older event from rolling a record back; `pushed_fingerprint` is what
    we last wrote back, so unchanged values are not pushed again.
    """

    source = models.CharField(max_length=16, choices=Source.choices)
    object_type = models.CharField(max_length=32)  # "account", "contact", "deal", …
    external_id = models.CharField(max_length=100)
    local_id = models.BigIntegerField(null=True, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField()
    pushed_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source", "object_type", "external_id"], name="external_record_unique_id"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "object_type", "local_id"], name="external_record_by_local"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.object_type} {self.external_id} → {self.local_id}"


# HubSpot's models live in their own module (owned with the HubSpot adapter); importing them here registers them.
from integrations.hubspot_models import (  # noqa: E402, F401
    FieldOwner,
    HubSpotConflict,
    HubSpotFieldOwnership,
    HubSpotRecordState,
    HubSpotStageMapping,
)
