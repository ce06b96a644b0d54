"""Platform operators see every campaign, its passes and its emails (the admin runs in platform_scope)."""

from django.contrib import admin

from migrations_notify.models import CampaignEmail, CampaignRun, MigrationCampaign


class CampaignRunInline(admin.TabularInline):
    model = CampaignRun
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "day", "status", "attempts", "error", "finished_at"]
    fields = readonly_fields


@admin.register(MigrationCampaign)
class MigrationCampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "status", "target_server", "deadline", "ready_confirmed_at"]
    list_filter = ["status", "organization"]
    exclude = ["platform_token_sealed"]
    inlines = [CampaignRunInline]


@admin.register(CampaignEmail)
class CampaignEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "campaign", "kind", "sent_at"]
    list_filter = ["kind"]
    readonly_fields = ["to", "subject", "body", "instance_names", "sent_at", "error"]
