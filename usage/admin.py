from django.contrib import admin

from usage.models import AccountExternalId, DailyUsage, FeatureAdoption, FeatureEvent


@admin.register(AccountExternalId)
class AccountExternalIdAdmin(admin.ModelAdmin):
    list_display = ["external_id", "account", "organization", "created_at"]
    search_fields = ["external_id"]
    raw_id_fields = ["account"]


@admin.register(DailyUsage)
class DailyUsageAdmin(admin.ModelAdmin):
    list_display = ["account", "day", "users", "instances", "devices", "applications", "reported_at"]
    list_filter = ["organization"]
    raw_id_fields = ["account"]


@admin.register(FeatureEvent)
class FeatureEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "account", "feature", "occurred_at", "received_at"]
    search_fields = ["event_id", "feature"]
    raw_id_fields = ["account"]


@admin.register(FeatureAdoption)
class FeatureAdoptionAdmin(admin.ModelAdmin):
    list_display = ["account", "feature", "first_used_at", "last_used_at", "event_count"]
    search_fields = ["feature"]
    raw_id_fields = ["account"]
