"""Platform operators see every case and its steps (the Django admin is outside the tenant scope)."""

from django.contrib import admin

from churn.models import ChurnCase, ChurnSettings, ChurnStep


class ChurnStepInline(admin.TabularInline):
    model = ChurnStep
    extra = 0
    can_delete = False
    readonly_fields = [
        "kind",
        "status",
        "attempts",
        "result_text",
        "error",
        "skip_reason",
        "done_by_label",
        "finished_at",
    ]
    fields = readonly_fields


@admin.register(ChurnCase)
class ChurnCaseAdmin(admin.ModelAdmin):
    list_display = ["account", "organization", "status", "churn_date", "arr_lost", "primary_reason", "created_at"]
    list_filter = ["status", "organization"]
    search_fields = ["account__name"]
    readonly_fields = ["learning_token", "learning_answers", "learning_answered_at"]
    inlines = [ChurnStepInline]


@admin.register(ChurnSettings)
class ChurnSettingsAdmin(admin.ModelAdmin):
    list_display = ["organization", "updated_at"]
