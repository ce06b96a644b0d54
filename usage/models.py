"""Product usage as the product's own database reports it: daily metrics, feature events, adoption per feature."""

from django.db import models

from core.models import TenantModel

METRIC_FIELDS = ("users", "instances", "devices", "applications")

# Features the product reports today (seed 000, "FFC-Actions"; the snapshot nudge); any other key is stored too.
FEATURE_LABELS = {
    "instance_created": "Instance created",
    "device_added": "Device added",
    "device_agent_installed": "Device agent installed",
    "snapshot_created": "Snapshot created",
    "pipeline_used": "DevOps pipeline used",
    "team_invite_sent": "Team member invited",
    "blueprint_applied": "Blueprint applied",
}


def feature_label(feature: str) -> str:
    return FEATURE_LABELS.get(feature) or feature.replace("_", " ").capitalize()


class AccountExternalId(TenantModel):
    """The product's own id for an account (its team id), so reports can name accounts the way the product does."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "external_id"], name="usage_external_id_unique"),
        ]

    def __str__(self) -> str:
        return self.external_id


class DailyUsage(TenantModel):
    """One account's counts on one day; a later report for the same day replaces them."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    users = models.PositiveIntegerField()
    instances = models.PositiveIntegerField()
    devices = models.PositiveIntegerField()
    applications = models.PositiveIntegerField()
    reported_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="usage_daily_unique")]
        indexes = [models.Index(fields=["organization", "day"], name="usage_daily_by_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}"


class FeatureEvent(TenantModel):
    """One use of a feature, kept once per client-supplied event id (a re-sent report changes nothing)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    feature = models.CharField(max_length=64)
    event_id = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "event_id"], name="usage_event_id_unique")]
        indexes = [models.Index(fields=["account", "feature"], name="usage_event_by_feature")]

    def __str__(self) -> str:
        return self.event_id


class FeatureAdoption(TenantModel):
    """A feature an account has used: first and last use and how many events; kept by the ingest from the events."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    feature = models.CharField(max_length=64)
    first_used_at = models.DateTimeField()
    last_used_at = models.DateTimeField()
    event_count = models.PositiveIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "feature"], name="usage_adoption_unique")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.feature}"

    @property
    def label(self) -> str:
        return feature_label(self.feature)
