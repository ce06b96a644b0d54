"""The tenant (Organization), who belongs to it, how integrations reach it, and what changed in it."""

from django.conf import settings
from django.db import models
from django_scopes import ScopedManager


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    CSM = "csm", "Customer success manager"
    AE = "ae", "Account executive"
    SUPPORT = "support", "Support"
    VIEWER = "viewer", "Viewer"


class Organization(models.Model):
    """A tenant: one company using the platform. Every tenant-owned row points here."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    default_currency = models.CharField(max_length=3, default="USD")
    timezone = models.CharField(max_length=64, default="Europe/Berlin")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TenantModel(models.Model):
    """Base of every tenant-owned model.

    `objects` refuses to run a query unless a tenant scope is active (core.tenancy), so a
    forgotten filter raises ScopeError instead of leaking another organization's rows.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    objects = ScopedManager(organization="organization")

    class Meta:
        abstract = True


class Membership(TenantModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization_id} as {self.role}"


class ApiKey(TenantModel):
    """A bearer key for integrations. Only a SHA-256 of the secret is stored; the prefix identifies it in lists."""

    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=Role.choices)
    prefix = models.CharField(max_length=12)
    hashed_secret = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEntry(TenantModel):
    """One recorded change: who (a member or an API key), when, what, and the field-level diff."""

    action = models.CharField(max_length=64)  # namespaced, e.g. "account.updated"
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL)
    object_type = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    object_repr = models.CharField(max_length=255)
    # The account the change belongs to, so the account page shows its contacts' changes too.
    account_id = models.BigIntegerField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "account_id", "-created_at"], name="audit_account_timeline"),
            models.Index(fields=["organization", "object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr}"

    @property
    def actor_label(self) -> str:
        if self.actor_id:
            return self.actor.get_full_name() or self.actor.email or self.actor.username
        if self.actor_api_key_id:
            return f"API key {self.actor_api_key.name}"
        return "System"


class Notification(TenantModel):
    """Something a member should know about (a CSM assigned to an account, a mention): in-app, and by email."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "recipient", "read_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return self.text
