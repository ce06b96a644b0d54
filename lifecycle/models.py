"""How a contact moves towards customer, how a deal moves to closed, and how the account passes from AE to CSM."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from accounts.models import Account, Contact, LifecycleStage
from core.models import TenantModel


class DealStage(models.TextChoices):
    """Seed 002, "Deal Stages", in board order."""

    OPPORTUNITY = "opportunity", "Opportunity"
    POC_STARTED = "poc_started", "POC Started"
    VALUE_VALIDATED = "value_validated", "Value Validated"
    CONTRACT_SENT = "contract_sent", "Contract Sent"
    CLOSED_WON = "closed_won", "Closed Won"
    CLOSED_LOST = "closed_lost", "Closed Lost"


OPEN_DEAL_STAGES = (DealStage.OPPORTUNITY, DealStage.POC_STARTED, DealStage.VALUE_VALIDATED, DealStage.CONTRACT_SENT)
CLOSED_DEAL_STAGES = (DealStage.CLOSED_WON, DealStage.CLOSED_LOST)

DEAL_STAGE_HELP = {
    DealStage.OPPORTUNITY: "A legitimate opportunity to close within the next six months.",
    DealStage.POC_STARTED: "The prospect entered a POC, or its kick-off call is scheduled.",
    DealStage.VALUE_VALIDATED: "Technically proven in the POC; procurement follows (security, legal, budget).",
    DealStage.CONTRACT_SENT: "A contract with an expiration date was sent; a signature is reasonably guaranteed.",
    DealStage.CLOSED_WON: "Signed. The CSM takes over the customer lifecycle.",
    DealStage.CLOSED_LOST: "Lost, with a reason from the organization's list.",
}


class DealType(models.TextChoices):
    NEW = "new", "New business"
    EXPANSION = "expansion", "Expansion"
    RENEWAL = "renewal", "Renewal"


class CsmAssignmentRule(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin among CSMs"
    BY_COHORT = "by_cohort", "By cohort (round robin where a cohort has no CSM)"


DEFAULT_PROBABILITIES = {
    DealStage.OPPORTUNITY: 10,
    DealStage.POC_STARTED: 30,
    DealStage.VALUE_VALIDATED: 60,
    DealStage.CONTRACT_SENT: 90,
}
DEFAULT_LOST_REASONS = [
    "Price",
    "Missing feature",
    "Chose a competitor",
    "No budget",
    "Bad timing",
    "No decision (went dark)",
    "Other",
]


def _percent(default: int) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(default=default, validators=[MaxValueValidator(100)])


class PipelineSettings(TenantModel):
    """One row per organization: probabilities, lost reasons, the CSM assignment rule, evangelist on or off."""

    probability_opportunity = _percent(DEFAULT_PROBABILITIES[DealStage.OPPORTUNITY])
    probability_poc_started = _percent(DEFAULT_PROBABILITIES[DealStage.POC_STARTED])
    probability_value_validated = _percent(DEFAULT_PROBABILITIES[DealStage.VALUE_VALIDATED])
    probability_contract_sent = _percent(DEFAULT_PROBABILITIES[DealStage.CONTRACT_SENT])
    lost_reasons = models.JSONField(default=list)
    # Seed 002: "FlowFuse will not actively use Evangelist lifecycle stage" unless an organization turns it on.
    evangelist_enabled = models.BooleanField(default=False)
    csm_assignment_rule = models.CharField(
        max_length=16, choices=CsmAssignmentRule.choices, default=CsmAssignmentRule.ROUND_ROBIN
    )
    cohort_csms = models.JSONField(default=dict, blank=True)  # {"enterprise": user_id, ...}
    last_assigned_csm_id = models.BigIntegerField(null=True, blank=True)  # where round robin continues
    product_name = models.CharField(max_length=60, blank=True, help_text="Used in suggested deal names.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="pipeline_settings_one_per_org")]

    def __str__(self) -> str:
        return f"Pipeline settings of {self.organization_id}"

    def probability(self, stage: str) -> int:
        """Closed deals have left the pipeline: 0% (seed 002, "Closed Won/Lost 0%")."""
        if stage in CLOSED_DEAL_STAGES:
            return 0
        return getattr(self, f"probability_{stage}")

    @property
    def probabilities(self) -> dict[str, int]:
        return {stage: self.probability(stage) for stage in DealStage.values}


class ContactQualification(TenantModel):
    """The answers a contact must have before it moves on (seed 002, "Lifecycle changes")."""

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="qualification")
    # MQL to SQL: the four qualifying questions.
    adoption = models.TextField("Have they adopted Node-RED? If so, what have they built with it?", blank=True)
    scale = models.TextField("How many Node-RED instances, and how many people develop on Node-RED?", blank=True)
    production_use = models.TextField("Is Node-RED used in production?", blank=True)
    next_year_plans = models.TextField("What are they looking to build in the next year with Node-RED?", blank=True)
    # SQL to Opportunity: the three W's.
    why_change = models.TextField("Why change?", blank=True, help_text="What's the trigger to invest?")
    why_now = models.TextField("Why now?", blank=True, help_text="Timeline is everything!")
    why_us = models.TextField("Why us?", blank=True, help_text="What value do we offer; which features matter most?")
    updated_at = models.DateTimeField(auto_now=True)

    QUALIFYING_FIELDS = ("adoption", "scale", "production_use", "next_year_plans")
    THREE_WS = ("why_change", "why_now", "why_us")

    def __str__(self) -> str:
        return f"Qualification of {self.contact_id}"

    def missing(self, fields: tuple[str, ...]) -> list[str]:
        return [field for field in fields if not getattr(self, field).strip()]


class LifecycleStageChange(TenantModel):
    """A dated step of a contact's lifecycle: from, to, who, why. The funnel report counts these."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="stage_changes")
    account_id = models.BigIntegerField(null=True, blank=True)
    from_stage = models.CharField(max_length=32, choices=LifecycleStage.choices, blank=True)  # blank: created
    to_stage = models.CharField(max_length=32, choices=LifecycleStage.choices)
    # The contact's owner at the time, so the funnel per owner does not move when owners change later.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by_label = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)
    is_correction = models.BooleanField(default=False)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "changed_at"], name="stage_change_by_time"),
            models.Index(fields=["organization", "contact", "to_stage"], name="stage_change_by_contact"),
            models.Index(fields=["organization", "account_id", "changed_at"], name="stage_change_by_account"),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or 'new'} → {self.to_stage}"


class Deal(TenantModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="deals")
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="AE"
    )
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="USD")
    type = models.CharField(max_length=16, choices=DealType.choices, default=DealType.NEW)
    expected_close_date = models.DateField(null=True, blank=True)
    stage = models.CharField(max_length=32, choices=DealStage.choices, default=DealStage.OPPORTUNITY)
    lost_reason = models.CharField(max_length=100, blank=True)
    # Seed 000: "CSM should be involved as soon as account executives commit to a deal", before signature.
    committed = models.BooleanField(default=False)
    committed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    stage_changed_at = models.DateTimeField(null=True, blank=True)
    hubspot_deal_id = models.CharField("HubSpot deal id", max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="deal_amount_not_negative"),
            models.CheckConstraint(
                condition=~models.Q(stage=DealStage.CLOSED_LOST) | ~models.Q(lost_reason=""),
                name="deal_lost_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "stage", "expected_close_date"], name="deal_by_stage"),
            models.Index(fields=["organization", "expected_close_date", "id"], name="deal_by_close_date"),
            models.Index(fields=["organization", "name", "id"], name="deal_by_name"),
            models.Index(fields=["organization", "amount", "id"], name="deal_by_amount"),
            models.Index(fields=["organization", "account"], name="deal_by_account"),
            models.Index(fields=["organization", "owner"], name="deal_by_owner"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_DEAL_STAGES


class OnboardingStepTemplate(TenantModel):
    """One step of the organization's onboarding checklist, copied into every new plan."""

    class AssigneeRole(models.TextChoices):
        CSM = "csm", "The account's CSM"
        AE = "ae", "The deal's AE"

    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    assignee_role = models.CharField(max_length=8, choices=AssigneeRole.choices, default=AssigneeRole.CSM)
    due_days = models.PositiveSmallIntegerField(default=7, help_text="Days after the deal is committed.")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


# Seeds 000 and 001: the CSM starts onboarding when the AE commits; time-to-value and adoption milestones.
DEFAULT_ONBOARDING_STEPS = [
    ("Kickoff call", "Meet the customer's team; agree on the onboarding plan and who does what.", "csm", 3),
    ("Goals captured", "Write down their high-level goals with the product and what success looks like.", "csm", 7),
    ("First application built", "Help them build their first application on the platform.", "csm", 21),
    ("Assets connected", "Their devices and assets are connected and sending data.", "csm", 30),
    ("Adoption milestone reached", "The agreed adoption milestone is met: first value delivered.", "csm", 60),
]


class OnboardingPlan(TenantModel):
    class Status(models.TextChoices):
        OPEN = "open", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="onboarding_plans")
    deal = models.OneToOneField(Deal, on_delete=models.CASCADE, related_name="onboarding_plan")
    csm = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Onboarding of {self.account_id}"


class Task(TenantModel):
    """Something to do for an account, by someone, by a date. Onboarding steps are tasks too."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tasks")
    onboarding_plan = models.ForeignKey(
        OnboardingPlan, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    position = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["position", "due_date", "id"]
        indexes = [
            models.Index(fields=["organization", "assignee", "status", "due_date"], name="task_my_work"),
            models.Index(fields=["organization", "account", "status"], name="task_by_account"),
        ]

    def __str__(self) -> str:
        return self.title
