"""HubSpot's own settings and bookkeeping: who owns each field, how its deal stages map to ours, what conflicted,
and what both sides held at the last sync of each record (imported by integrations.models)."""

from django.db import models
from django.utils import timezone

from core.models import TenantModel
from lifecycle.models import DealStage


class FieldOwner(models.TextChoices):
    HUBSPOT = "hubspot", "HubSpot"
    PLATFORM = "platform", "This platform"


class HubSpotFieldOwnership(TenantModel):
    """Which side wins a field when both changed it since the last sync. One row per organization and field;
    a field without a row has its default owner (integrations.hubspot.mapping.FIELDS)."""

    object_type = models.CharField(max_length=16)  # "account", "contact", "deal"
    field = models.CharField(max_length=32)
    owner = models.CharField(max_length=16, choices=FieldOwner.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "object_type", "field"], name="hubspot_ownership_unique_field"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.object_type}.{self.field}: {self.owner}"


class HubSpotStageMapping(TenantModel):
    """One HubSpot deal stage (of one pipeline) and the stage of seed 002 it means here; blank: not mapped, so a
    deal in it is reported instead of guessed."""

    pipeline_id = models.CharField(max_length=64)
    pipeline_label = models.CharField(max_length=200, blank=True)
    stage_id = models.CharField(max_length=64)
    stage_label = models.CharField(max_length=200, blank=True)
    hubspot_closed = models.BooleanField(default=False)
    display_order = models.PositiveIntegerField(default=0)
    stage = models.CharField(max_length=32, choices=DealStage.choices, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pipeline_label", "pipeline_id", "display_order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "pipeline_id", "stage_id"], name="hubspot_stage_mapping_unique_stage"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline_label or self.pipeline_id} / {self.stage_label or self.stage_id} → {self.stage or '-'}"


class HubSpotConflict(TenantModel):
    """A field both sides changed since the last sync, with both values and the side the ownership rule chose."""

    run = models.ForeignKey(
        "integrations.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="hubspot_conflicts"
    )
    object_type = models.CharField(max_length=16)
    external_id = models.CharField(max_length=100)
    local_id = models.BigIntegerField(null=True, blank=True)
    record_label = models.CharField(max_length=255, blank=True)
    field = models.CharField(max_length=32)
    local_value = models.TextField(blank=True)
    remote_value = models.TextField(blank=True)
    winner = models.CharField(max_length=16, choices=FieldOwner.choices)
    detected_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-detected_at", "-id"]
        indexes = [models.Index(fields=["organization", "-detected_at"], name="hubspot_conflict_latest")]

    def __str__(self) -> str:
        return f"{self.object_type} {self.external_id} {self.field}: {self.winner} won"


class HubSpotRecordState(TenantModel):
    """The values of one record's synced fields as HubSpot had them and as we had them at its last sync.

    A side "changed" a field when its value differs from its own column here; both changed is a conflict.
    """

    object_type = models.CharField(max_length=16)
    external_id = models.CharField(max_length=100)
    remote_values = models.JSONField(default=dict)
    # Ours, only where it differed from HubSpot's (most records: nowhere).
    local_values = models.JSONField(default=dict)
    # The written-back fields (FFC-*) as HubSpot holds them as far as we know, or as we adopted them when the record
    # was first seen: the write-back pushes a field whose value here differs from this.
    pushed_values = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "object_type", "external_id"], name="hubspot_state_unique_record"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.external_id}"
