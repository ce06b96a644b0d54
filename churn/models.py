"""A churned customer's case and the five steps of seed 000's "Procedure for Handling a Churned Customer".

Each step is one row with its own status, attempts, who ran it, when, and what the other system answered, so the
procedure cannot half-happen unseen: a failed step stays failed (with its error) until it is run again, a step that
is done is never run twice, and the case closes only when every step is done or skipped with a reason.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models

from accounts.models import Account, Cohort
from core.models import TenantModel

# The organization's taxonomy starts from these (issue 8); "other" always needs a sentence.
DEFAULT_CHURN_REASONS = [
    ("price", "Price"),
    ("missing_feature", "Missing feature"),
    ("product_quality", "Product quality"),
    ("support_experience", "Support experience"),
    ("champion_left", "Champion left"),
    ("budget_cut", "Budget cut"),
    ("acquired", "Acquired"),
    ("moved_to_competitor", "Moved to a competitor"),
    ("no_longer_needed", "No longer needed"),
    ("other", "Other"),
]
OTHER_REASON = "other"

# Seed 000, step 5: "questions aimed at understanding their reasons for churn and gathering feedback".
DEFAULT_LEARNING_QUESTIONS = [
    "What was the main reason you decided not to renew?",
    "What could we have done differently to keep you as a customer?",
    "Which features or improvements would have made the product worth renewing?",
    "Would you consider coming back in the future? What would need to change?",
]


class ChurnSettings(TenantModel):
    """One row per organization: the reason taxonomy, the sales channel, the learning questions."""

    reasons = models.JSONField(default=list)  # [[code, label], ...]
    learning_questions = models.JSONField(default=list)
    # Seed 000, step 4: "#dept-sales". An incoming webhook of that channel; empty: the step waits for it.
    sales_slack_webhook_url = models.URLField("Sales channel Slack webhook", max_length=500, blank=True)
    acknowledgment_intro = models.TextField(
        blank=True,
        default=(
            "Thank you for the time you spent with us. We are sorry to see you go, and we would like to learn "
            "from your decision."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="churn_settings_one_per_org")]

    def __str__(self) -> str:
        return f"Churn settings of {self.organization_id}"

    @property
    def reason_labels(self) -> dict[str, str]:
        return dict(self.reasons)


class ChurnCaseStatus(models.TextChoices):
    SUGGESTED = "suggested", "Suggested by Stripe"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    DISMISSED = "dismissed", "Dismissed"


class CancelMode(models.TextChoices):
    PERIOD_END = "period_end", "At the end of the paid period"
    NOW = "now", "Now"


class ChurnCase(TenantModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="churn_cases")
    status = models.CharField(max_length=16, choices=ChurnCaseStatus.choices, default=ChurnCaseStatus.OPEN)
    churn_date = models.DateField()
    arr_lost = models.DecimalField("ARR lost", max_digits=14, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="USD")
    # The account's cohort when it churned, so the analytics by cohort do not move later.
    cohort = models.CharField(max_length=16, choices=Cohort.choices)
    primary_reason = models.CharField(max_length=40, blank=True)
    secondary_reason = models.CharField(max_length=40, blank=True)
    reason_other = models.CharField("Other reason, in words", max_length=300, blank=True)
    summary = models.TextField(blank=True)
    cancel_mode = models.CharField(max_length=16, choices=CancelMode.choices, default=CancelMode.PERIOD_END)
    stripe_subscription_id = models.CharField(max_length=64, blank=True)
    # Why Stripe suggested it ("canceled", "set to cancel at period end").
    suggested_because = models.CharField(max_length=200, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_by_label = models.CharField(max_length=150, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The customer's link to the learning questions: a random token, stored, compared in constant time.
    learning_token = models.CharField(max_length=64, unique=True)
    learning_answers = models.JSONField(default=list, blank=True)  # [{"question", "answer"}]
    learning_answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live case per account: a second "will not renew" click finds the first.
            models.UniqueConstraint(
                fields=["organization", "account"],
                condition=models.Q(status__in=["suggested", "open"]),
                name="churn_case_one_live_per_account",
            ),
            models.CheckConstraint(condition=models.Q(arr_lost__gte=0), name="churn_case_arr_lost_not_negative"),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "-created_at"], name="churn_case_by_status"),
            models.Index(fields=["organization", "churn_date"], name="churn_case_by_date"),
        ]

    def __str__(self) -> str:
        return f"Churn of {self.account}"


class StepKind(models.TextChoices):
    """Seed 000's five steps, in their order."""

    MARK_CHURNED = "mark_churned", "Mark the account churned"
    CANCEL_STRIPE = "cancel_stripe", "Cancel the subscription in Stripe"
    CLOSE_DEALS = "close_deals", "Close open growth and renewal deals"
    ANNOUNCE_SLACK = "announce_slack", "Announce the churn in the sales channel"
    SEND_ACKNOWLEDGMENT = "send_acknowledgment", "Send the acknowledgment and learning questions"


STEP_ORDER = list(StepKind.values)


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


FINISHED_STEP_STATUSES = (StepStatus.DONE, StepStatus.SKIPPED)


class ChurnStep(TenantModel):
    case = models.ForeignKey(ChurnCase, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=32, choices=StepKind.choices)
    position = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)  # what the other system answered
    result_text = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    skip_reason = models.CharField(max_length=300, blank=True)
    # Who ran (or skipped) it: a member, an API key or "System" (a task).
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_by_label = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind"], name="churn_step_one_per_kind"),
            models.CheckConstraint(
                condition=~models.Q(status="skipped") | ~models.Q(skip_reason=""), name="churn_step_skip_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STEP_STATUSES
