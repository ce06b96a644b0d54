"""Explainable health scores: each organization's model (per cohort), every computed score with its inputs and
each measure's contribution, the current state per account (the list sorts on it), CSM sentiment and signals."""

from django.conf import settings
from django.db import models

from core.models import TenantModel


class MeasureType(models.TextChoices):
    USAGE_TREND = "usage_trend", "Usage trend"
    ACTIVE_USERS = "active_users", "Active users"
    FEATURE_ADOPTION = "feature_adoption", "Feature adoption breadth"
    SUPPORT_LOAD = "support_load", "Support load"
    SLA_BREACHES = "sla_breaches", "SLA breaches"
    ENGAGEMENT_RECENCY = "engagement_recency", "Engagement recency"
    FAILED_PAYMENTS = "failed_payments", "Failed payments"
    MRR_TREND = "mrr_trend", "MRR trend"
    ONBOARDING = "onboarding", "Lifecycle and onboarding progress"
    CSM_SENTIMENT = "csm_sentiment", "CSM sentiment"


class Band(models.TextChoices):
    AT_RISK = "at_risk", "At risk"
    WATCH = "watch", "Watch"
    HEALTHY = "healthy", "Healthy"


class HealthModel(TenantModel):
    """How an organization scores its accounts: weighted measures, each mapped from its raw value to 0-100.

    `cohort` blank is the organization's default; a cohort's own model replaces it for that cohort's accounts.
    `measures` is a list of {"type", "weight", "thresholds": [raw at 0, raw at 50, raw at 100]}; thresholds may run
    downwards (fewer open tickets is better). Every edit bumps `version`, which each score stores.
    """

    cohort = models.CharField(max_length=16, blank=True)
    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    measures = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "cohort"], name="health_model_per_cohort")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class HealthScore(TenantModel):
    """One day's score of an account, kept with what produced it; a recompute the same day replaces the row."""

    # No index of its own: the unique (account, day) constraint leads with the account and serves its lookups.
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    computed_at = models.DateTimeField()
    score = models.PositiveSmallIntegerField()
    band = models.CharField(max_length=10, choices=Band.choices)
    inputs = models.JSONField(default=dict)  # {measure type: raw value}
    contributions = models.JSONField(default=dict)  # {measure type: {"score", "weight", "points", "lost"}}
    missing = models.JSONField(default=list)  # measure types with no data, their weight shared among the others
    health_model = models.ForeignKey(HealthModel, null=True, on_delete=models.SET_NULL, related_name="+")
    model_version = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="health_score_per_day")]
        indexes = [models.Index(fields=["organization", "day"], name="health_score_by_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}: {self.score}"


class AccountHealth(TenantModel):
    """The account's current health: the computed score, a CSM's override (with its reason and expiry), the band
    and the change over seven days. The account list joins this row to show and sort by score and trend."""

    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE, related_name="health")
    computed_score = models.PositiveSmallIntegerField()
    computed_at = models.DateTimeField()
    band = models.CharField(max_length=10, choices=Band.choices)
    trend_delta = models.SmallIntegerField(null=True, blank=True)  # score now minus ~7 days ago
    # The band as of the last threshold signal (or the first score): a crossing is measured from it, with a margin.
    signalled_band = models.CharField(max_length=10, choices=Band.choices, blank=True)
    override_score = models.PositiveSmallIntegerField(null=True, blank=True)
    override_reason = models.TextField(blank=True)
    override_expires_at = models.DateTimeField(null=True, blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    override_at = models.DateTimeField(null=True, blank=True)

    # No index on the score: the list sorts by the effective score (an expression), and an index on a column the
    # nightly run rewrites for every account would make each of those updates a non-HOT one.

    def __str__(self) -> str:  # the account timeline reads "health overridden (computed 75)"
        return f"(computed {self.computed_score})"

    def override_active(self, now) -> bool:
        return (
            self.override_score is not None and self.override_expires_at is not None and self.override_expires_at > now
        )

    def effective_score(self, now) -> int:
        """The CSM's override while it lasts, else the computed score (the same rule as
        health.selectors.effective_score_expression, in SQL for the list)."""
        return self.override_score if self.override_active(now) else self.computed_score


class CsmSentiment(TenantModel):
    """A CSM's read of the relationship, 1 (about to leave) to 5 (advocate): the latest feeds the score."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    sentiment = models.PositiveSmallIntegerField()
    comment = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["organization", "account", "-recorded_at"], name="sentiment_latest")]

    def __str__(self) -> str:  # the account timeline reads "health sentiment recorded: 4 of 5"
        return f": {self.sentiment} of 5"


class SignalKind(models.TextChoices):
    THRESHOLD_CROSSED = "threshold_crossed", "Score crossed a threshold"
    USAGE_DROP = "usage_drop", "Sharp usage drop"
    SEAT_GROWTH = "seat_growth", "Seat growth"
    INSTANCE_GROWTH = "instance_growth", "Instance growth"


EXPANSION_KINDS = {SignalKind.SEAT_GROWTH, SignalKind.INSTANCE_GROWTH}


class HealthSignal(TenantModel):
    """A risk or expansion signal. Unique per account, kind and period (an ISO week, or the day and threshold of a
    crossing), so the nightly run raises each one once."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=SignalKind.choices)
    period = models.CharField(max_length=40)
    summary = models.CharField(max_length=300)
    detail = models.JSONField(default=dict)
    raised_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "kind", "period"], name="health_signal_once_per_period")
        ]
        indexes = [models.Index(fields=["organization", "-raised_at"], name="health_signal_recent")]

    def __str__(self) -> str:
        return self.summary

    @property
    def is_expansion(self) -> bool:
        return self.kind in EXPANSION_KINDS

    @property
    def is_risk(self) -> bool:
        return self.kind == SignalKind.USAGE_DROP or (
            self.kind == SignalKind.THRESHOLD_CROSSED and self.detail.get("direction") == "down"
        )
