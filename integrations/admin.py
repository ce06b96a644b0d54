from django.contrib import admin

from integrations.models import (
    Connection,
    HubSpotConflict,
    HubSpotFieldOwnership,
    HubSpotStageMapping,
    SyncRun,
    WebhookEvent,
)


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("organization", "source", "enabled", "api_base_url", "events_watermark", "last_tested_at")
    list_filter = ("source", "enabled")
    # Sealed secrets are not editable here: the settings page seals what an admin types.
    exclude = ("api_key_sealed", "webhook_secret_sealed")


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ("organization", "source", "kind", "status", "requested_at", "processed", "failed")
    list_filter = ("source", "kind", "status")


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("organization", "source", "event_type", "event_id", "status", "received_at")
    list_filter = ("source", "status")
    search_fields = ("event_id", "event_type")


@admin.register(HubSpotStageMapping)
class HubSpotStageMappingAdmin(admin.ModelAdmin):
    list_display = ("organization", "pipeline_label", "stage_label", "stage")
    list_filter = ("organization",)


@admin.register(HubSpotFieldOwnership)
class HubSpotFieldOwnershipAdmin(admin.ModelAdmin):
    list_display = ("organization", "object_type", "field", "owner")
    list_filter = ("organization", "object_type", "owner")


@admin.register(HubSpotConflict)
class HubSpotConflictAdmin(admin.ModelAdmin):
    list_display = ("organization", "object_type", "record_label", "field", "winner", "detected_at")
    list_filter = ("organization", "object_type", "winner")
