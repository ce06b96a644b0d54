"""Writes on the tenancy side: organizations, members, API keys, and the audit trail."""

import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from core.errors import ApplicationError
from core.events import DomainEvent, event_publish
from core.models import ApiKey, AuditEntry, Membership, Organization, Role
from core.tenancy import Tenant, tenant_scope

User = get_user_model()

API_KEY_PREFIX = "csp"


def audit_record(
    *,
    tenant: Tenant,
    action: str,
    obj: models.Model,
    changes: dict[str, Any] | None = None,
    account_id: int | None = None,
) -> AuditEntry:
    """Every state change writes one of these: who, when, what, and the field-level before/after. The same action
    is published as a domain event once the change commits (core.events), so playbooks and health react to it."""
    entry = AuditEntry.objects.create(
        organization=tenant.organization,
        action=action,
        actor=tenant.member,
        actor_api_key=tenant.api_key,
        object_type=obj._meta.model_name,
        object_id=obj.pk,
        object_repr=str(obj)[:255],
        account_id=account_id,
        changes=changes or {},
    )
    event_publish(
        DomainEvent(
            organization_id=tenant.organization.pk,
            name=action,
            account_id=account_id,
            object_type=entry.object_type,
            object_id=entry.object_id,
            changes=entry.changes,
            occurred_at=entry.created_at,
        )
    )
    return entry


def printable_value(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value)
    if value is None or isinstance(value, bool | int | str | list):
        return value
    return str(value)


def field_changes(instance: models.Model, new_values: dict[str, Any], fields: Iterable[str]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields whose value differs, printable for the history view."""
    changes = {}
    for field in fields:
        if field not in new_values:
            continue
        before = getattr(instance, field)
        after = new_values[field]
        if before != after:
            changes[field] = [printable_value(before), printable_value(after)]
    return changes


def organization_create(*, slug: str, name: str, default_currency: str = "USD") -> Organization:
    slug = slugify(slug)
    if not slug:
        raise ApplicationError("The slug must contain letters or digits.")
    if Organization.objects.filter(slug=slug).exists():
        raise ApplicationError(f"An organization with the slug '{slug}' already exists.")
    return Organization.objects.create(slug=slug, name=name or slug, default_currency=default_currency)


def user_get_or_create(*, email: str, password: str | None = None, first_name: str = "", last_name: str = ""):
    email = User.objects.normalize_email(email).lower()
    if not email or "@" not in email:
        raise ApplicationError(f"'{email}' is not an email address.")
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User(username=email, email=email, first_name=first_name, last_name=last_name)
    if password:
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.save()
    return user, created


def member_add(*, tenant: Tenant | None, organization: Organization, user: AbstractBaseUser, role: str) -> Membership:
    """Adds a user to an organization, or changes their role there."""
    if role not in Role.values:
        raise ApplicationError(f"Unknown role '{role}'. Choose one of: {', '.join(Role.values)}.")
    with tenant_scope(organization):
        membership, created = Membership.objects.get_or_create(
            organization=organization, user=user, defaults={"role": role}
        )
        if not created and membership.role != role:
            changes = {"role": [membership.role, role]}
            membership.role = role
            membership.save(update_fields=["role"])
            if tenant is not None:
                audit_record(tenant=tenant, action="membership.role_changed", obj=membership, changes=changes)
        elif created and tenant is not None:
            audit_record(tenant=tenant, action="membership.created", obj=membership, changes={"role": [None, role]})
    return membership


def member_change_role(*, tenant: Tenant, membership: Membership, role: str) -> Membership:
    _refuse_removing_last_admin(membership, new_role=role)
    return member_add(tenant=tenant, organization=tenant.organization, user=membership.user, role=role)


def member_remove(*, tenant: Tenant, membership: Membership) -> None:
    _refuse_removing_last_admin(membership, new_role=None)
    audit_record(tenant=tenant, action="membership.removed", obj=membership, changes={"role": [membership.role, None]})
    membership.delete()


def _refuse_removing_last_admin(membership: Membership, *, new_role: str | None) -> None:
    if membership.role != Role.ADMIN or new_role == Role.ADMIN:
        return
    other_admins = Membership.objects.filter(role=Role.ADMIN).exclude(pk=membership.pk)
    if not other_admins.exists():
        raise ApplicationError("An organization needs at least one admin. Make someone else admin first.")


def member_invite(*, tenant: Tenant, email: str, role: str, password: str | None = None) -> Membership:
    with transaction.atomic():
        user, _ = user_get_or_create(email=email, password=password)
        return member_add(tenant=tenant, organization=tenant.organization, user=user, role=role)


def api_key_create(*, tenant: Tenant | None, organization: Organization, role: str, name: str) -> tuple[ApiKey, str]:
    """Creates a key and returns it with the raw secret, which is shown once and never stored."""
    from core.authentication import hash_api_key

    if role not in Role.values:
        raise ApplicationError(f"Unknown role '{role}'. Choose one of: {', '.join(Role.values)}.")
    prefix = secrets.token_hex(4)
    raw_key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with tenant_scope(organization):
        api_key = ApiKey.objects.create(
            organization=organization,
            name=name or f"{role} key",
            role=role,
            prefix=prefix,
            hashed_secret=hash_api_key(raw_key),
            created_by=tenant.user if tenant and tenant.user and tenant.user.pk else None,
        )
        if tenant is not None:
            audit_record(tenant=tenant, action="api_key.created", obj=api_key, changes={"role": [None, role]})
    return api_key, raw_key


def api_key_revoke(*, tenant: Tenant, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(tenant=tenant, action="api_key.revoked", obj=api_key)
    return api_key


def organization_update(*, tenant: Tenant, name: str, default_currency: str, timezone_name: str) -> Organization:
    import zoneinfo

    organization = tenant.organization
    errors = {}
    if not name.strip():
        errors["name"] = ["The organization needs a name."]
    if len(default_currency) != 3 or not default_currency.isalpha():
        errors["default_currency"] = ["Use a three-letter ISO currency code, for example EUR."]
    if timezone_name not in zoneinfo.available_timezones():
        errors["timezone"] = [f"'{timezone_name}' is not a known time zone."]
    if errors:
        raise ValidationError(errors)
    new_values = {"name": name.strip(), "default_currency": default_currency.upper(), "timezone": timezone_name}
    changes = field_changes(organization, new_values, new_values)
    for field, value in new_values.items():
        setattr(organization, field, value)
    organization.save()
    if changes:
        audit_record(tenant=tenant, action="organization.updated", obj=organization, changes=changes)
    return organization
