"""Accounts (customer companies) and their contacts: the records a CSM opens every morning."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from core.models import TenantModel


class Cohort(models.TextChoices):
    """Seed 000, "Customer Success Methodology": customers move down this table towards Enterprise."""

    TRIAL = "trial", "Trial"
    STARTER = "starter", "Starter"
    PREMIUM = "premium", "Premium"
    ENTERPRISE = "enterprise", "Enterprise"


COHORT_TRAITS = {
    Cohort.TRIAL: "Not paying for services",
    Cohort.STARTER: "Low number of instances",
    Cohort.PREMIUM: "Team of users, collaboration on applications",
    Cohort.ENTERPRISE: "Large scale applications, extensive use of the product's features",
}


class AccountStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CHURNED = "churned", "Churned"


class LifecycleStage(models.TextChoices):
    """HubSpot's lifecycle stages in their order (seed 002); contacts pass through them without skipping."""

    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    MARKETING_QUALIFIED_LEAD = "marketingqualifiedlead", "Marketing Qualified Lead"
    PRODUCT_QUALIFIED_LEAD = "productqualifiedlead", "Product Qualified Lead"
    SALES_QUALIFIED_LEAD = "salesqualifiedlead", "Sales Qualified Lead"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    EVANGELIST = "evangelist", "Evangelist"
    OTHER = "other", "Other"


class LeadStatus(models.TextChoices):
    """HubSpot's default lead statuses (seed 002), used for MQLs and SQLs."""

    NEW = "NEW", "New"
    OPEN = "OPEN", "Open"
    ATTEMPTED_TO_CONTACT = "ATTEMPTED_TO_CONTACT", "Attempted to contact"
    CONNECTED = "CONNECTED", "Connected"
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    OPEN_DEAL = "OPEN_DEAL", "Open deal"
    UNQUALIFIED = "UNQUALIFIED", "Unqualified"
    UNRESPONSIVE = "UNRESPONSIVE", "Unresponsive"
    BAD_TIMING = "BAD_TIMING", "Bad timing"


LEAD_STATUS_HELP = {
    LeadStatus.NEW: "Only marketing contact so far (emails etc.).",
    LeadStatus.OPEN: "Assigned to an account executive, no connection made yet.",
    LeadStatus.ATTEMPTED_TO_CONTACT: "The AE reached out and is waiting for a reply.",
    LeadStatus.CONNECTED: "Replied and engaged with us.",
    LeadStatus.IN_PROGRESS: "Contact made; nurturing towards an opportunity.",
    LeadStatus.OPEN_DEAL: "A deal is on the board and the opportunity is real.",
    LeadStatus.UNQUALIFIED: "This contact cannot lead the sales process, or the account is unqualified.",
    LeadStatus.UNRESPONSIVE: "No reply in two weeks.",
    LeadStatus.BAD_TIMING: "Not a fit right now, potentially later.",
}

money_field_options = {
    "max_digits": 14,
    "decimal_places": 2,
    "default": Decimal("0.00"),
    "validators": [MinValueValidator(Decimal("0"), message="Must be zero or more.")],
}


class Account(TenantModel):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True)
    cohort = models.CharField(max_length=16, choices=Cohort.choices, default=Cohort.TRIAL)
    currency = models.CharField(max_length=3, default="USD")
    arr = models.DecimalField("ARR", **money_field_options)
    mrr = models.DecimalField("MRR", **money_field_options)
    csm_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="CSM"
    )
    ae_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="AE"
    )
    renewal_date = models.DateField(null=True, blank=True)
    # Seed 003: a minor-planet name stands in for the customer in public bug reports.
    codename = models.CharField(max_length=60)
    qbr_nominated = models.BooleanField("Nominated for QBRs", default=False)
    qbr_nomination_reason = models.TextField("Nomination reason", blank=True)
    status = models.CharField(max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)
    stripe_customer_id = models.CharField("Stripe customer id", max_length=64, blank=True)
    hubspot_company_id = models.CharField("HubSpot company id", max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "codename"], name="account_unique_codename"),
            models.CheckConstraint(
                condition=models.Q(arr__gte=0) & models.Q(mrr__gte=0), name="account_money_not_negative"
            ),
        ]
        indexes = [
            # One (organization, sort column, id) index per sortable column: keyset pages are range scans.
            models.Index(fields=["organization", "name", "id"], name="account_by_name"),
            models.Index(fields=["organization", "arr", "id"], name="account_by_arr"),
            models.Index(fields=["organization", "renewal_date", "id"], name="account_by_renewal"),
            # Cohort is the filter used most; this one serves its count and its name-sorted pages.
            models.Index(fields=["organization", "cohort", "name", "id"], name="account_by_cohort_name"),
            models.Index(fields=["organization", "csm_owner"], name="account_by_csm"),
            models.Index(fields=["organization", "ae_owner"], name="account_by_ae"),
            models.Index(fields=["organization", "domain"], name="account_by_domain"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(TenantModel):
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254)
    title = models.CharField(max_length=150, blank=True)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    lifecycle_stage = models.CharField(max_length=32, choices=LifecycleStage.choices, default=LifecycleStage.SUBSCRIBER)
    lead_status = models.CharField(max_length=32, choices=LeadStatus.choices, blank=True)
    # Seed 000, "Hubspot Properties".
    ffc_tier = models.CharField("FFC tier", max_length=50, blank=True)
    ffc_actions = models.JSONField("FFC actions", default=list, blank=True)
    ffc_usage = models.CharField("FFC usage", max_length=200, blank=True)
    # Seed 002: "Yes" when the first meeting came through outbound campaigns or lead-gen.
    activation_outbound = models.BooleanField(default=False)
    # Seed 002: "It is up to the contact owner to ensure their contacts have the appropriate lifecycle stage set."
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Seed 002, lead status "Unresponsive": no reply in two weeks to the last outreach.
    last_outreach_at = models.DateTimeField("Last outreach", null=True, blank=True)
    last_reply_at = models.DateTimeField("Last reply", null=True, blank=True)
    hubspot_contact_id = models.CharField("HubSpot contact id", max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "email"], name="contact_unique_email"),
        ]
        indexes = [
            models.Index(fields=["organization", "last_name", "id"], name="contact_by_last_name"),
            models.Index(fields=["organization", "created_at", "id"], name="contact_by_created"),
            models.Index(fields=["organization", "account", "id"], name="contact_by_account"),
            models.Index(fields=["organization", "lifecycle_stage"], name="contact_by_stage"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Note(TenantModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "account", "-created_at"], name="note_by_account")]

    def __str__(self) -> str:
        return self.body[:60]


class CohortChange(TenantModel):
    """One step of an account's path through the cohorts (seed 000: Trial towards Enterprise), with its date."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="cohort_changes")
    from_cohort = models.CharField(max_length=16, choices=Cohort.choices, blank=True)  # blank: the account was created
    to_cohort = models.CharField(max_length=16, choices=Cohort.choices)
    changed_at = models.DateTimeField(db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["organization", "account", "changed_at"], name="cohort_change_by_account")]

    def __str__(self) -> str:
        return f"{self.from_cohort or 'new'} → {self.to_cohort}"

    @property
    def is_upgrade(self) -> bool:
        return bool(self.from_cohort) and COHORT_ORDER[self.to_cohort] > COHORT_ORDER[self.from_cohort]


COHORT_ORDER = {cohort: position for position, cohort in enumerate(Cohort.values)}


class CohortArrSnapshot(TenantModel):
    """ARR and account count per cohort on one day, written nightly; the dashboard's trend line."""

    day = models.DateField()
    cohort = models.CharField(max_length=16, choices=Cohort.choices)
    account_count = models.PositiveIntegerField()
    arr = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        ordering = ["day", "cohort"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "day", "cohort"], name="snapshot_unique_day_cohort"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.cohort}: {self.arr}"
