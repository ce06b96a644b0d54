from django.contrib import admin

from accounts.models import Account, CohortArrSnapshot, Contact, Note


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "cohort", "status", "arr", "renewal_date", "codename"]
    list_filter = ["organization", "cohort", "status"]
    search_fields = ["name", "domain", "codename"]
    raw_id_fields = ["csm_owner", "ae_owner"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "organization", "lifecycle_stage"]
    list_filter = ["organization", "lifecycle_stage"]
    search_fields = ["email", "last_name"]
    raw_id_fields = ["account"]


admin.site.register(Note)
admin.site.register(CohortArrSnapshot)
