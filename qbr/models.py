"""QBRs, health checks and customer meetings, the customer's feature requests, and what they leave behind.

Seed 000, "Quarterly Business Review": accounts over the ARR threshold, or nominated for their growth potential,
are offered a QBR every quarter. Seed 003 adds the health check before it, the routine meeting's agenda, the
champion (DRI) change and bringing shipped requests back to the customer; seed 004 the 48-hour check and the
missed-call flow. Action items and follow-ups are lifecycle Tasks (so they land in "My work"), linked here.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from accounts.models import Account, Contact
from core.models import TenantModel

# Seed 000: "For all customers that are over $10k ARR".
DEFAULT_ARR_THRESHOLD = Decimal("10000.00")


class QbrSettings(TenantModel):
    """One row per organization: who is in the programme, how long a share link lives, the latest release."""

    arr_threshold = models.DecimalField(
        "ARR threshold",
        max_digits=14,
        decimal_places=2,
        default=DEFAULT_ARR_THRESHOLD,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Active accounts with an ARR over this amount are in the QBR programme (seed 000: $10,000).",
    )
    share_link_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="How long a link sent to the customer keeps working.",
    )
    # Seed 003, "Prepare for routine customer meeting": release notes of the latest version.
    latest_version = models.CharField(max_length=40, blank=True)
    release_notes = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="qbr_settings_one_per_org")]

    def __str__(self) -> str:
        return f"QBR settings of {self.organization_id}"


class MeetingKind(models.TextChoices):
    QBR = "qbr", "Quarterly business review"
    HEALTH_CHECK = "health_check", "Health check"  # seed 003: before the QBR, how the product is used and why
    ROUTINE = "routine", "Routine meeting"  # seed 003: "Prepare for routine customer meeting"
    DRI_INTRO = "dri_intro", "First meeting with a new DRI"  # seed 003: "Invite new customer DRI"


class MeetingStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"  # the schedule suggested a date; the CSM confirms it
    SCHEDULED = "scheduled", "Scheduled"
    HELD = "held", "Held"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "Cancelled"


class CustomerResponse(models.TextChoices):
    """What the customer answered to the invitation (seed 004: checked 48 hours before)."""

    PENDING = "pending", "No answer yet"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


# Seed 000, "Quarterly Business Review": the five goals of every QBR, the frame of its agenda and outcomes.
QBR_GOALS = [
    (
        "relationship",
        "Relationship building",
        "A conversation instead of email: more space for in-depth discussion and candor.",
    ),
    (
        "problem_value",
        "Problem-value alignment",
        "Has the problem they felt before buying been mitigated? What else do we need to do?",
    ),
    (
        "issue_prevention",
        "Issue prevention",
        "Review progress to find roadblocks and challenges early, before dissatisfaction or churn.",
    ),
    (
        "feature_adoption",
        "Broader feature adoption",
        "They often pay for more value than they extract: help them adopt more of the product.",
    ),
    (
        "data_collection",
        "Data collection",
        "Time for feedback on the product and the experience, feature ideas and bug fixes.",
    ),
]
QBR_GOAL_KEYS = [key for key, _, _ in QBR_GOALS]


class Meeting(TenantModel):
    """A customer meeting of one kind. A QBR also carries its quarter, its data pack narrative and goal outcomes."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=MeetingKind.choices, default=MeetingKind.QBR)
    title = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED)
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    organizer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contacts = models.ManyToManyField(Contact, blank=True, related_name="+", verbose_name="customer attendees")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name="our team")
    video_url = models.URLField("Video link", blank=True)
    agenda_items = models.JSONField(default=list, blank=True)  # free agenda items, in order: ["Roadmap", ...]
    # Why the schedule proposed this date ("90 days before renewal on 1 Mar 2027", seed 003).
    proposal_reason = models.CharField(max_length=200, blank=True)
    customer_response = models.CharField(
        max_length=10, choices=CustomerResponse.choices, default=CustomerResponse.PENDING
    )
    # Seed 004: the 48-hour check runs once per meeting time (claimed by compare-and-set, cleared on reschedule).
    attendance_checked_at = models.DateTimeField(null=True, blank=True)
    customer_joined_at = models.DateTimeField(null=True, blank=True)
    # The QBR's quarter: the data pack covers it.
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    narrative = models.TextField(blank=True, help_text="The story around the data pack, in the CSM's words.")
    # After the meeting.
    notes = models.TextField(blank=True)
    goal_outcomes = models.JSONField(default=dict, blank=True)  # {goal key: what came out of it}
    customer_feedback = models.TextField(blank=True)
    # Seed 003, "Conduct a health check": which features they use and why; the findings go into the QBR.
    features_in_use = models.TextField(blank=True)
    findings = models.TextField(blank=True)
    held_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            # The schedule keeps one open proposal per account: proposing again changes nothing.
            models.UniqueConstraint(
                fields=["organization", "account"],
                condition=models.Q(kind="qbr", status="proposed"),
                name="meeting_one_open_qbr_proposal",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "starts_at", "id"], name="meeting_by_start"),
            models.Index(fields=["organization", "account", "kind", "status"], name="meeting_by_account"),
            models.Index(fields=["organization", "organizer", "starts_at"], name="meeting_by_organizer"),
            models.Index(fields=["organization", "kind", "id"], name="meeting_by_kind"),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.get_kind_display()} with {self.account_id}"

    @property
    def is_qbr(self) -> bool:
        return self.kind == MeetingKind.QBR


class OutreachChannel(models.TextChoices):
    """Seed 004, "Missed customer call", in the order the handbook tries them."""

    SLACK = "slack", "Slack (shared channel)"
    EMAIL = "email", "Email (address from the invite)"
    LINKEDIN = "linkedin", "LinkedIn direct message"
    PHONE = "phone", "Phone: text or call"
    ALTERNATIVE_TIMES = "alternative_times", "Offered two or three alternative times"


class OutreachAttempt(TenantModel):
    """One thing tried when the customer did not join: which channel, what was said, when, by whom."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="outreach_attempts")
    channel = models.CharField(max_length=20, choices=OutreachChannel.choices)
    note = models.TextField(blank=True)
    attempted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempted_at = models.DateTimeField()

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} for {self.meeting_id}"


class MeetingShare(TenantModel):
    """A read-only link to a QBR for the customer. Only a SHA-256 of the token is stored; it expires."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="shares")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Share of {self.meeting_id} until {self.expires_at:%Y-%m-%d}"


class FeatureRequestStatus(models.TextChoices):
    NEW = "new", "New"
    UNDER_REVIEW = "under_review", "Under review"
    PLANNED = "planned", "Planned"
    SHIPPED = "shipped", "Shipped"
    DECLINED = "declined", "Declined"


class FeatureRequest(TenantModel):
    """Seed 004, "Customer requests": one issue per request, however many customers ask for it."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=FeatureRequestStatus.choices, default=FeatureRequestStatus.NEW)
    tracker_url = models.URLField("Public tracker link", blank=True)
    accounts = models.ManyToManyField(Account, through="FeatureRequestAccount", related_name="+")
    shipped_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "status", "id"], name="feature_request_by_status"),
            models.Index(fields=["organization", "updated_at", "id"], name="feature_request_by_updated"),
        ]

    def __str__(self) -> str:
        return self.title


class FeatureRequestAccount(TenantModel):
    """An account asking for a request: when, and in which meeting it came up."""

    request = models.ForeignKey(FeatureRequest, on_delete=models.CASCADE, related_name="askers")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "account"], name="feature_request_account_once"),
        ]
        indexes = [models.Index(fields=["organization", "account"], name="feature_request_by_account")]

    def __str__(self) -> str:
        return f"{self.account_id} asks for {self.request_id}"


class FeatureRequestEvent(TenantModel):
    """The request's dated log: created, status changes, accounts added, comments."""

    request = models.ForeignKey(FeatureRequest, on_delete=models.CASCADE, related_name="events")
    text = models.CharField(max_length=500)
    from_status = models.CharField(max_length=16, choices=FeatureRequestStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=FeatureRequestStatus.choices, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.text


class UptimeNote(TenantModel):
    """Seed 003: "reach out to #help-infrastructure to collect information on cloud uptime and any outages"."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    noted_on = models.DateField()
    body = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-noted_on", "-id"]
        indexes = [models.Index(fields=["organization", "account", "noted_on"], name="uptime_note_by_account")]

    def __str__(self) -> str:
        return self.body[:60]


class ChampionChange(TenantModel):
    """Seed 003, "Invite new customer DRI": the customer's champion changed; a checklist follows."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    new_contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    previous_contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"New DRI {self.new_contact_id} at {self.account_id}"


class QbrTaskLink(TenantModel):
    """Ties a lifecycle Task to what made it. `key` is unique, so a task made by a rule is made once.

    Keys: "attendance:<meeting>:<starts_at>", "shipped:<request>:<account>", "champion:<change>:<step>",
    "action:<meeting>:<task>".
    """

    class Kind(models.TextChoices):
        ACTION_ITEM = "action_item", "Action item"
        CONFIRM_ATTENDANCE = "confirm_attendance", "Confirm attendance"
        REQUEST_SHIPPED = "request_shipped", "Bring a shipped request back"
        CHAMPION_STEP = "champion_step", "New DRI checklist"

    key = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    task = models.OneToOneField("lifecycle.Task", on_delete=models.CASCADE, related_name="qbr_link")
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.CASCADE, related_name="task_links")
    feature_request = models.ForeignKey(
        FeatureRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="task_links"
    )
    champion_change = models.ForeignKey(
        ChampionChange, null=True, blank=True, on_delete=models.CASCADE, related_name="task_links"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="qbr_task_link_unique_key")]

    def __str__(self) -> str:
        return self.key
