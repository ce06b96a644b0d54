"""Seed 000, "Notifying Customers of Downtime for Cloud Kubernetes Migrations": a campaign that moves every customer
instance to a new server by a deadline, with as few customers as possible needing to act.

The timeline is fixed by the seed: the new server ready at T-90, the teams told at T-30, the list re-checked every
day after, a review of what remains at T-7, and on the deadline day the remaining instances restarted by us and
checked until they are running. Each dated pass is one `CampaignRun` row, unique per campaign, kind and day, claimed
by compare-and-set: beat may fire twice, a worker may die, and a pass still happens exactly once per day.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models

from accounts.models import Account
from core.models import TenantModel

READY_DAYS_BEFORE = 90
NOTIFY_DAYS_BEFORE = 30
REVIEW_DAYS_BEFORE = 7

DEFAULT_NOTICE_SUBJECT = "Action needed by {deadline}: restart your instances to move them to {target}"
DEFAULT_NOTICE_BODY = """Hello {team},

We are moving our cloud to a new server ({target}). Your instances below still run on the old one:

{instances}

What to do: restart each instance before {deadline} (open the instance, then Actions → Restart). A restart takes
a minute and moves it to the new server; nothing else changes.

If you have not restarted them by {deadline}, we restart them for you that day, and check that each comes back.

Questions? Just reply to this email.
"""
DEFAULT_FAILURE_BODY = """Hello {team},

Today we restarted your instances to move them to {target}. These did not come back online:

{instances}

What to do: open each instance and check its logs; restart it once more (Actions → Restart). If it still does not
start, reply to this email: a support ticket is already open for you ({ticket}).
"""


class CampaignStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"


class InstanceSource(models.TextChoices):
    CSV = "csv", "Imported from CSV"
    PLATFORM = "platform", "The hosting platform's API"


class MigrationCampaign(TenantModel):
    name = models.CharField(max_length=200)
    target_server = models.CharField("New server or cluster", max_length=200)
    deadline = models.DateField()
    status = models.CharField(max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.ACTIVE)
    instance_source = models.CharField(max_length=16, choices=InstanceSource.choices, default=InstanceSource.PLATFORM)
    # The hosting platform's API (migrations_notify.hosting): its address and a sealed token (core.secrets).
    platform_base_url = models.URLField("Hosting platform API", max_length=300, blank=True)
    platform_token_sealed = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Runs the campaign; gets the review tasks nobody else owns.",
    )
    notice_subject = models.CharField(max_length=250, default=DEFAULT_NOTICE_SUBJECT)
    notice_body = models.TextField(default=DEFAULT_NOTICE_BODY)
    failure_body = models.TextField(default=DEFAULT_FAILURE_BODY)
    # Seed 000, T-7: "If a customer is particularly important or has many instances left".
    important_arr = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("50000.00"))
    important_instance_count = models.PositiveIntegerField(default=5)
    restart_timeout_seconds = models.PositiveIntegerField(default=600)
    restart_poll_seconds = models.PositiveIntegerField(default=10)
    ready_confirmed_at = models.DateTimeField(null=True, blank=True)
    ready_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ready_confirmed_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["deadline", "id"]
        indexes = [models.Index(fields=["organization", "status", "deadline"], name="campaign_by_status")]

    def __str__(self) -> str:
        return self.name

    @property
    def ready_by(self) -> date:
        return self.deadline - timedelta(days=READY_DAYS_BEFORE)

    @property
    def notify_on(self) -> date:
        return self.deadline - timedelta(days=NOTIFY_DAYS_BEFORE)

    @property
    def review_on(self) -> date:
        return self.deadline - timedelta(days=REVIEW_DAYS_BEFORE)


class MigrationTeam(TenantModel):
    """A customer team on the hosting platform (one email each), linked to its account when we know it."""

    campaign = models.ForeignKey(MigrationCampaign, on_delete=models.CASCADE, related_name="teams")
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    emails = models.JSONField(default=list)
    important = models.BooleanField(default=False)
    important_because = models.CharField(max_length=200, blank=True)
    review_task_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "external_id"], name="migration_team_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class InstanceStatus(models.TextChoices):
    TO_MIGRATE = "to_migrate", "To migrate"
    MOVED = "moved", "Moved by the customer"
    RESTARTING = "restarting", "Restarting"
    RESTARTED = "restarted", "Restarted by us"
    FAILED = "failed", "Failed to come back"


class MigrationInstance(TenantModel):
    campaign = models.ForeignKey(MigrationCampaign, on_delete=models.CASCADE, related_name="instances")
    team = models.ForeignKey(MigrationTeam, on_delete=models.CASCADE, related_name="instances")
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=InstanceStatus.choices, default=InstanceStatus.TO_MIGRATE)
    server = models.CharField(max_length=200, blank=True)  # where the platform last said it runs
    platform_state = models.CharField(max_length=40, blank=True)  # the platform's last word: running, crashed, …
    listed_at = models.DateTimeField()
    moved_at = models.DateTimeField(null=True, blank=True)
    restart_requested_at = models.DateTimeField(null=True, blank=True)
    restarted_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=300, blank=True)
    ticket_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["team_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "external_id"], name="migration_instance_unique"),
        ]
        indexes = [models.Index(fields=["organization", "campaign", "status"], name="migration_instance_status")]

    def __str__(self) -> str:
        return self.name


class RunKind(models.TextChoices):
    NOTIFY = "notify", "T-30: build the list and email each team"
    REFRESH = "refresh", "Daily: drop the instances customers moved"
    REVIEW = "review", "T-7: review what remains"
    DEADLINE = "deadline", "Deadline day: restart the rest and check them"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class CampaignRun(TenantModel):
    """One dated pass of a campaign. Unique per (campaign, kind, day): the claim of that pass."""

    campaign = models.ForeignKey(MigrationCampaign, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=16, choices=RunKind.choices)
    day = models.DateField()
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    attempts = models.PositiveIntegerField(default=1)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "kind", "day"], name="campaign_run_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.day}"


class EmailKind(models.TextChoices):
    NOTICE = "notice", "T-30 notice"
    FAILURE = "failure", "Deadline-day failure"


class CampaignEmail(TenantModel):
    """Every email a campaign sent: to whom, what, when. One per team and kind, so a retry never sends twice."""

    campaign = models.ForeignKey(MigrationCampaign, on_delete=models.CASCADE, related_name="emails")
    team = models.ForeignKey(MigrationTeam, on_delete=models.CASCADE, related_name="sent_emails")
    kind = models.CharField(max_length=16, choices=EmailKind.choices)
    to = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    instance_names = models.JSONField(default=list)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "team", "kind"], name="campaign_email_once_per_team"),
        ]

    def __str__(self) -> str:
        return self.subject


class CampaignSnapshot(TenantModel):
    """The counts at the end of a day, for the chart over time."""

    campaign = models.ForeignKey(MigrationCampaign, on_delete=models.CASCADE, related_name="snapshots")
    day = models.DateField()
    to_migrate = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0)
    restarted = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["campaign", "day"], name="campaign_snapshot_per_day")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.day}"
