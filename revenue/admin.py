from django.contrib import admin

from revenue.models import PlanCohort, RevenueMovement, StripeAction, StripeCustomer, StripeInvoice, StripeSubscription


@admin.register(StripeCustomer)
class StripeCustomerAdmin(admin.ModelAdmin):
    list_display = ("stripe_id", "organization", "email", "account", "linked_by", "last_synced_at")
    search_fields = ("stripe_id", "email")
    raw_id_fields = ("account",)


@admin.register(StripeSubscription)
class StripeSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("stripe_id", "organization", "status", "account", "last_synced_at")
    search_fields = ("stripe_id", "customer_stripe_id")
    raw_id_fields = ("account",)


@admin.register(StripeInvoice)
class StripeInvoiceAdmin(admin.ModelAdmin):
    list_display = ("stripe_id", "organization", "status", "amount_due", "currency", "last_synced_at")
    search_fields = ("stripe_id", "customer_stripe_id")
    raw_id_fields = ("account",)


@admin.register(RevenueMovement)
class RevenueMovementAdmin(admin.ModelAdmin):
    list_display = ("account", "organization", "occurred_at", "kind", "mrr_before", "mrr_after", "currency")
    raw_id_fields = ("account",)


@admin.register(PlanCohort)
class PlanCohortAdmin(admin.ModelAdmin):
    list_display = ("stripe_id", "organization", "cohort")


@admin.register(StripeAction)
class StripeActionAdmin(admin.ModelAdmin):
    list_display = ("kind", "organization", "target_stripe_id", "status", "created_at")
