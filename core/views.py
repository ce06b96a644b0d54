"""Platform pages: where to go after sign-in, choosing an organization, and the organization's settings."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.decorators.http import require_POST

from core import services
from core.decorators import tenant_permission_required
from core.errors import ApplicationError
from core.forms import ApiKeyForm, MemberInviteForm, MemberRoleForm, OrganizationSettingsForm
from core.models import ApiKey, AuditEntry, Membership
from core.permissions import PERMISSION_LABELS, ROLE_PERMISSIONS, Permission
from core.tenancy import ACTIVE_ORGANIZATION_SESSION_KEY, memberships_of


def healthz(request) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def home(request) -> HttpResponse:
    memberships = memberships_of(request.user)
    active = request.session.get(ACTIVE_ORGANIZATION_SESSION_KEY)
    for membership in memberships:
        if membership.organization.slug == active:
            return redirect("dashboard", org_slug=active)
    if len(memberships) == 1:
        return redirect("dashboard", org_slug=memberships[0].organization.slug)
    return redirect("organization_picker")


@login_required
def organization_picker(request) -> HttpResponse:
    memberships = memberships_of(request.user)
    template = "core/_organization_menu.html" if request.headers.get("HX-Request") else "core/organization_picker.html"
    context = {"memberships": memberships, "active_slug": request.session.get(ACTIVE_ORGANIZATION_SESSION_KEY)}
    return render(request, template, context)


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def organization_settings(request, org_slug: str) -> HttpResponse:
    organization = request.tenant.organization
    form = OrganizationSettingsForm(
        request.POST or None,
        initial={
            "name": organization.name,
            "default_currency": organization.default_currency,
            "timezone": organization.timezone,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.organization_update(
                tenant=request.tenant,
                name=form.cleaned_data["name"],
                default_currency=form.cleaned_data["default_currency"],
                timezone_name=form.cleaned_data["timezone"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Organization settings saved.")
            return redirect("organization_settings", org_slug=org_slug)
    history = AuditEntry.objects.filter(object_type="organization").select_related("actor")[:20]
    return render(request, "core/settings_organization.html", {"form": form, "history": history, "section": "general"})


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def member_list(request, org_slug: str) -> HttpResponse:
    form = MemberInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.member_invite(
                tenant=request.tenant, email=form.cleaned_data["email"], role=form.cleaned_data["role"]
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            if not membership.user.has_usable_password():
                _send_welcome(request, membership.user)
            messages.success(request, f"{membership.user.email} is now a member ({membership.get_role_display()}).")
            return redirect("member_list", org_slug=org_slug)
    memberships = Membership.objects.select_related("user").order_by("user__email")
    return render(
        request,
        "core/settings_members.html",
        {
            "form": form,
            "memberships": memberships,
            "role_form": MemberRoleForm(),
            "section": "members",
            "matrix": _permission_matrix(),
        },
    )


def _send_welcome(request, user) -> None:
    """A new member chooses their own password through a one-time link: no password travels by email."""
    link = request.build_absolute_uri(
        reverse(
            "password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
    )
    body = render_to_string(
        "registration/welcome_email.txt",
        {"organization": request.tenant.organization, "inviter": request.user, "link": link, "user": user},
    )
    send_mail(f"You are invited to {request.tenant.organization.name} on CS Platform", body, None, [user.email])


def _permission_matrix() -> list[tuple[str, list[bool]]]:
    roles = list(ROLE_PERMISSIONS)
    return [(PERMISSION_LABELS[p], [p in ROLE_PERMISSIONS[r] for r in roles]) for p in Permission]


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def member_change_role(request, org_slug: str, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            services.member_change_role(tenant=request.tenant, membership=membership, role=form.cleaned_data["role"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{membership.user.email} is now {form.cleaned_data['role']}.")
    return redirect("member_list", org_slug=org_slug)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def member_remove(request, org_slug: str, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk)
    try:
        services.member_remove(tenant=request.tenant, membership=membership)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.email} was removed from the organization.")
    return redirect("member_list", org_slug=org_slug)


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def api_key_list(request, org_slug: str) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        api_key, new_key = services.api_key_create(
            tenant=request.tenant,
            organization=request.tenant.organization,
            role=form.cleaned_data["role"],
            name=form.cleaned_data["name"],
        )
        messages.success(request, f"API key '{api_key.name}' created. Copy it now: it will not be shown again.")
        form = ApiKeyForm()
    api_keys = ApiKey.objects.select_related("created_by")
    return render(
        request,
        "core/settings_api_keys.html",
        {"form": form, "api_keys": api_keys, "new_key": new_key, "section": "api_keys"},
    )


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def api_key_revoke(request, org_slug: str, pk: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=pk)
    services.api_key_revoke(tenant=request.tenant, api_key=api_key)
    messages.success(request, f"API key '{api_key.name}' revoked. Requests with it now get 401.")
    return redirect("api_key_list", org_slug=org_slug)
