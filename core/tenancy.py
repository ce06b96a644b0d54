"""Tenant scoping, enforced in one place and failing closed.

We use django-scopes: every tenant-owned model's manager (core.models.TenantModel) refuses to
query unless a scope names the organization, and then filters by it. Scopes are entered only here:
  - `OrganizationMiddleware` for browser URLs under /o/<org_slug>/ (membership checked, else 404);
  - `core.api.TenantAPIView` for the REST API (organization taken from the API key or the session);
  - `tenant_scope()` for Celery tasks and management commands, which name their organization;
  - `platform_scope()` for the few platform-wide reads (login, org switcher, key lookup, Django admin, and
    `machine_endpoint` finding the organization a webhook's URL names).
A query anywhere else raises django_scopes.ScopeError instead of returning every tenant's rows.
"""

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from core.models import ApiKey, Membership, Organization, Role
from core.permissions import Permission, role_can

ACTIVE_ORGANIZATION_SESSION_KEY = "active_organization_slug"


@dataclass(frozen=True)
class Tenant:
    """Who is acting, in which organization, with which role."""

    organization: Organization
    role: str
    user: AbstractBaseUser | None = None
    api_key: ApiKey | None = None

    def can(self, permission: Permission) -> bool:
        return role_can(self.role, permission)

    @property
    def role_label(self) -> str:
        return Role(self.role).label

    @property
    def member(self):
        """The signed-in member acting, or None for an API key or the system (what "changed by" fields store)."""
        return self.user if self.user is not None and self.user.pk else None

    @property
    def actor_label(self) -> str:
        """Who acted, for histories that keep a name: the member, the API key, or "System"."""
        if self.member is not None:
            return self.member.get_full_name() or self.member.email
        if self.api_key is not None:
            return f"API key {self.api_key.name}"
        return "System"


@contextmanager
def tenant_scope(organization: Organization) -> Iterator[None]:
    # django-scopes treats a None value as "no filter"; refusing it here keeps the scope closed.
    if organization is None or organization.pk is None:
        raise ValueError("A tenant scope needs a saved organization.")
    with scope(organization=organization.pk):
        yield


@contextmanager
def platform_scope() -> Iterator[None]:
    """Cross-tenant access for the platform's own lookups. Grep for it: every use is deliberate."""
    with scopes_disabled():
        yield


def membership_for(user: AbstractBaseUser, organization: Organization) -> Membership | None:
    if not user.is_authenticated:
        return None
    with platform_scope():
        return Membership.objects.filter(user=user, organization=organization).first()


def memberships_of(user: AbstractBaseUser) -> list[Membership]:
    with platform_scope():
        return list(Membership.objects.filter(user=user).select_related("organization").order_by("organization__name"))


def tenant_for_user(user: AbstractBaseUser, organization_slug: str) -> Tenant | None:
    """The user's tenant in that organization, or None when they are not a member (or it does not exist)."""
    if not user.is_authenticated:
        return None
    with platform_scope():
        membership = (
            Membership.objects.filter(user=user, organization__slug=organization_slug)
            .select_related("organization")
            .first()
        )
    if membership is None:
        return None
    return Tenant(organization=membership.organization, role=membership.role, user=user)


class OrganizationMiddleware:
    """Enters the tenant scope for every URL that names an organization; a non-member gets 404."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        organization_slug = match.kwargs.get("org_slug")
        if organization_slug is None:
            return self.get_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        tenant = tenant_for_user(request.user, organization_slug)
        if tenant is None:
            # The same answer for "not a member" and "no such organization": nothing to detect.
            raise Http404("No such organization.")
        request.tenant = tenant
        if request.session.get(ACTIVE_ORGANIZATION_SESSION_KEY) != tenant.organization.slug:
            request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = tenant.organization.slug
        # Times on the organization's pages read in its own zone (stored values stay UTC).
        with tenant_scope(tenant.organization), timezone.override(zone_of(tenant.organization.timezone)):
            return self.get_response(request)


def zone_of(name: str) -> zoneinfo.ZoneInfo:
    """An organization's time zone by name; UTC for a name the zone database does not know."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def machine_endpoint(view):
    """For URLs machines call with the organization's own secret (webhooks, inbound email), outside /o/<slug>/.

    The URL's `organization` slug becomes the Organization the view gets, looked up across tenants (the one reason
    for platform_scope here), or a JSON 404 that says no more than "no such organization". The view checks the
    secret and enters the tenant scope itself.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, organization: str, *args, **kwargs) -> HttpResponse:
        with platform_scope():
            target = Organization.objects.filter(slug=organization).first()
        if target is None:
            return JsonResponse({"error": "No such organization."}, status=404)
        return view(request, target, *args, **kwargs)

    return wrapped
