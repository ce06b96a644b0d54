"""Playbooks: an organization's automations, and the rows that say what each one did.

A Playbook names the automation and whether it runs; its definition (trigger, audience, steps) lives in immutable
PlaybookVersion rows, so editing makes a new version and an Enrollment keeps running the version it started on.
An Enrollment is one account (and maybe one contact) going through one version; each step it reaches is one
StepRun, unique per (enrollment, step_index): the row is the schedule (due_at), the claim (status, claimed_at)
and the record (result, error). No Celery ETA ever carries a wait: the minute beat reads due_at.
"""

import secrets

from django.conf import settings
from django.db import models

from core.models import TenantModel


class PlaybookStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


class TriggerType(models.TextChoices):
    EVENT = "event", "When something happens"
    INACTION = "inaction", "When a feature is not used in time"
    SCHEDULE = "schedule", "On a schedule"
    DATE = "date", "Relative to a date"


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


class Playbook(TenantModel):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=PlaybookStatus.choices, default=PlaybookStatus.DRAFT)
    current_version = models.ForeignKey(
        "PlaybookVersion", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    # Copied from the current version's trigger, so the event handler and the minute pass find their playbooks
    # with one indexed query instead of reading every definition.
    trigger_type = models.CharField(max_length=16, choices=TriggerType.choices, blank=True)
    trigger_event = models.CharField(max_length=64, blank=True)
    template_key = models.CharField(max_length=64, blank=True)  # which shipped template it was made from
    # Signs outbound webhook calls (HMAC-SHA256); the receiver checks it with the same secret.
    webhook_secret = models.CharField(max_length=64, default=_new_secret)
    # The last minute a schedule trigger was evaluated up to, so a missed beat still fires the slot it missed.
    schedule_checked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["organization", "status", "trigger_type", "trigger_event"], name="playbook_by_trigger")
        ]

    def __str__(self) -> str:
        return self.name


class PlaybookVersion(TenantModel):
    """One definition of a playbook, never changed once written (services only create these).

    The playbook's current version and every enrollment point here with RESTRICT: a version in use cannot be
    deleted on its own, but deleting the playbook (or the organization) takes its versions with it."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["playbook", "number"], name="playbook_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.playbook_id} v{self.number}"


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Stopped on a failed step"
    CANCELLED = "cancelled", "Cancelled"


class Enrollment(TenantModel):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="enrollments")
    version = models.ForeignKey(PlaybookVersion, on_delete=models.RESTRICT, related_name="enrollments")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("accounts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE)
    # One trigger occurrence enrolls once: "event:deal.committed:deal:41:<when>", "inaction:<account>",
    # "date:renewal_date:2027-03-01:<account>", "cron:202612010900:<account>".
    enrollment_key = models.CharField(max_length=200)
    trigger_summary = models.CharField(max_length=255, blank=True)
    # For a date trigger: the date it enrolled for (the renewal date), so each renewal enrolls once.
    anchor_date = models.DateField(null=True, blank=True)
    enrolled_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "enrollment_key"], name="enrollment_unique_key"),
            # An account goes through a playbook once at a time: a burst of usage reports is one enrollment.
            models.UniqueConstraint(
                fields=["playbook", "account"],
                condition=models.Q(status="active"),
                name="enrollment_one_active_per_account",
            ),
        ]
        indexes = [models.Index(fields=["organization", "playbook", "-enrolled_at"], name="enrollment_by_playbook")]

    def __str__(self) -> str:
        return f"{self.playbook_id}:{self.account_id}"


class StepRunStatus(models.TextChoices):
    PENDING = "pending", "Due"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


class StepRun(TenantModel):
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="step_runs")
    step_index = models.PositiveIntegerField()
    step_type = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=StepRunStatus.choices, default=StepRunStatus.PENDING)
    due_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["step_index"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step_index"], name="step_run_unique_per_enrollment")
        ]
        indexes = [
            # The minute pass: pending rows by due time. Partial, so it holds only what is still to do.
            models.Index(fields=["due_at"], name="step_run_due", condition=models.Q(status="pending")),
            models.Index(fields=["claimed_at"], name="step_run_running", condition=models.Q(status="running")),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id}#{self.step_index}"


class OutboundCall(TenantModel):
    """One HTTP call a step made (Slack, webhook): where, what came back, how long it took, or why it failed."""

    step_run = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="outbound_calls")
    attempt = models.PositiveIntegerField()
    target_host = models.CharField(max_length=253)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.target_host} {self.status_code or self.error[:40]}"


class SentEmail(TenantModel):
    """An email a playbook sent, as sent: the outbox page lists these."""

    step_run = models.ForeignKey(StepRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails")
    playbook = models.ForeignKey(Playbook, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["organization", "-sent_at"], name="sent_email_by_time")]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"
