"""Stripe's objects as we last saw them, the revenue ledger built from them, and the organization's plan → cohort map.

Every Stripe row is keyed on (organization, stripe_id), so an upsert of the same object writes the same row again
and nothing twice. `remote_updated_at` is the time of the newest Stripe change applied (an event's `created`, or the
moment a full read fetched the object): a late, older event is compared with it and never rolls a row back.
Amounts are Stripe's integer minor units (cents; yen for JPY) with their currency; the ledger holds Decimal major
units.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models

from accounts.models import Account, Cohort
from core.models import TenantModel


class StripeCustomerLink(models.TextChoices):
    STORED_ID = "stored_id", "Account's Stripe customer id"
    METADATA = "metadata", "Customer metadata"
    EMAIL_DOMAIN = "email_domain", "Email domain"
    MANUAL = "manual", "Linked by a member"
    CREATED = "created", "Account created from it"


class StripeCustomer(TenantModel):
    stripe_id = models.CharField(max_length=64)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    linked_by = models.CharField(max_length=16, choices=StripeCustomerLink.choices, blank=True)
    email = models.CharField(max_length=254, blank=True)
    name = models.CharField(max_length=256, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    deleted = models.BooleanField(default=False)
    stripe_created = models.DateTimeField(null=True, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "stripe_id"], name="stripe_customer_unique")]
        indexes = [models.Index(fields=["organization", "account"], name="stripe_customer_by_account")]

    def __str__(self) -> str:
        return self.name or self.email or self.stripe_id

    @property
    def email_domain(self) -> str:
        return self.email.rpartition("@")[2].lower() if "@" in self.email else ""


class StripePrice(TenantModel):
    stripe_id = models.CharField(max_length=64)
    product_id = models.CharField(max_length=64, blank=True)
    nickname = models.CharField(max_length=256, blank=True)
    currency = models.CharField(max_length=3)
    unit_amount = models.BigIntegerField(null=True, blank=True)  # minor units; None for tiered or custom prices
    interval = models.CharField(max_length=8, blank=True)  # day, week, month, year; blank for one-off prices
    interval_count = models.PositiveIntegerField(default=1)
    active = models.BooleanField(default=True)
    last_synced_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "stripe_id"], name="stripe_price_unique")]

    def __str__(self) -> str:
        return self.nickname or self.stripe_id


class StripeSubscription(TenantModel):
    stripe_id = models.CharField(max_length=64)
    customer_stripe_id = models.CharField(max_length=64)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=24)
    currency = models.CharField(max_length=3, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    cancel_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    start_date = models.DateTimeField(null=True, blank=True)
    # Since API 2025-03-31 ("basil") Stripe keeps periods on the items; these are the items' earliest start and
    # latest end, for the account page.
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    # A subscription-level coupon: percent off, or an amount off each invoice (minor units of discount_currency).
    discount_percent_off = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    discount_amount_off = models.BigIntegerField(null=True, blank=True)
    discount_currency = models.CharField(max_length=3, blank=True)
    latest_invoice_id = models.CharField(max_length=64, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "stripe_id"], name="stripe_subscription_unique")]
        indexes = [
            models.Index(fields=["organization", "customer_stripe_id"], name="stripe_sub_by_customer"),
            models.Index(fields=["organization", "account"], name="stripe_sub_by_account"),
        ]

    def __str__(self) -> str:
        return self.stripe_id


class StripeSubscriptionItem(TenantModel):
    stripe_id = models.CharField(max_length=64)
    subscription = models.ForeignKey(StripeSubscription, on_delete=models.CASCADE, related_name="items")
    price_stripe_id = models.CharField(max_length=64, blank=True)
    product_id = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    unit_amount = models.BigIntegerField(null=True, blank=True)
    interval = models.CharField(max_length=8, blank=True)
    interval_count = models.PositiveIntegerField(default=1)
    quantity = models.PositiveIntegerField(default=1)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "stripe_id"], name="stripe_subscription_item_unique")
        ]

    def __str__(self) -> str:
        return self.stripe_id


class StripeInvoice(TenantModel):
    stripe_id = models.CharField(max_length=64)
    customer_stripe_id = models.CharField(max_length=64)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    subscription_stripe_id = models.CharField(max_length=64, blank=True)
    number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, blank=True)  # draft, open, paid, uncollectible, void
    collection_method = models.CharField(max_length=24, blank=True)
    currency = models.CharField(max_length=3)
    amount_due = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    amount_remaining = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    hosted_invoice_url = models.URLField(max_length=500, blank=True)
    due_date = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    stripe_created = models.DateTimeField(null=True, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "stripe_id"], name="stripe_invoice_unique")]
        indexes = [
            models.Index(fields=["organization", "account", "-stripe_created"], name="stripe_invoice_by_account"),
            models.Index(fields=["organization", "customer_stripe_id"], name="stripe_invoice_by_customer"),
        ]

    def __str__(self) -> str:
        return self.number or self.stripe_id


class PlanCohort(TenantModel):
    """The organization's rule "this plan means that cohort": a Stripe price id (price_…) or product id (prod_…)."""

    stripe_id = models.CharField("Stripe price or product id", max_length=64)
    cohort = models.CharField(max_length=16, choices=Cohort.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["stripe_id"]
        constraints = [models.UniqueConstraint(fields=["organization", "stripe_id"], name="plan_cohort_unique")]

    def __str__(self) -> str:
        return f"{self.stripe_id} → {self.get_cohort_display()}"


class MovementKind(models.TextChoices):
    NEW = "new", "New"
    EXPANSION = "expansion", "Expansion"
    CONTRACTION = "contraction", "Contraction"
    CHURN = "churn", "Churn"
    REACTIVATION = "reactivation", "Reactivation"


class RevenueMovement(TenantModel):
    """One change of an account's MRR, dated. The ledger is append-only; an account's MRR at any moment is the
    `mrr_after` of its last movement before that moment."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=MovementKind.choices)
    currency = models.CharField(max_length=3)
    mrr_before = models.DecimalField(max_digits=14, decimal_places=2)
    mrr_after = models.DecimalField(max_digits=14, decimal_places=2)
    cohort = models.CharField(max_length=16, choices=Cohort.choices)  # the account's cohort after the movement
    reason = models.CharField(max_length=120, blank=True)  # "evt_…", "reconcile", "subscription_cancel"
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["organization", "account", "occurred_at"], name="movement_by_account"),
            models.Index(fields=["organization", "occurred_at"], name="movement_by_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.delta} {self.currency}"

    @property
    def delta(self) -> Decimal:
        return self.mrr_after - self.mrr_before


class StripeActionKind(models.TextChoices):
    SUBSCRIPTION_CANCEL = "subscription_cancel", "Cancel subscription now"
    SUBSCRIPTION_CANCEL_AT_PERIOD_END = "subscription_cancel_at_period_end", "Cancel at period end"
    INVOICE_SEND_FOR_CARD_UPDATE = "invoice_send_for_card_update", "Send invoice for a card update"


class StripeActionStatus(models.TextChoices):
    SENT = "sent", "Sent"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class StripeAction(TenantModel):
    """A write we asked Stripe for, under an idempotency key derived from the action: a retry sends the same key,
    so Stripe answers it once, and updates this same row."""

    kind = models.CharField(max_length=40, choices=StripeActionKind.choices)
    idempotency_key = models.CharField(max_length=200)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    target_stripe_id = models.CharField(max_length=64)  # the subscription or invoice acted on
    status = models.CharField(max_length=16, choices=StripeActionStatus.choices, default=StripeActionStatus.SENT)
    response = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "idempotency_key"], name="stripe_action_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target_stripe_id}"
