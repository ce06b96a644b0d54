"""The support inbox's admin settings pages: general (calendar, links, Slack, inbound email), SLA policies, routing
rules and macros. The three lists follow the onboarding checklist's pattern (lifecycle.views.pipeline_settings):
each row edits inline, an add form sits below, and a refused save shows the page again with the input and the
error beside the field."""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.decorators import tenant_permission_required
from core.forms import form_add_service_errors
from core.permissions import Permission
from core.secrets import hint, unseal
from tickets import settings_services
from tickets.models import Macro, RoutingRule, SlaPolicy
from tickets.services import support_settings_get
from tickets.settings_forms import MacroForm, RoutingRuleForm, SlaPolicyForm, SupportSettingsForm
from tickets.settings_services import MACRO_MERGE_FIELDS
from tickets.sla import format_duration

NEW_PREFIX = "new"


def _row_prefix(pk: int) -> str:
    return f"row-{pk}"


# --- General ----------------------------------------------------------------------------------------------------


def _support_page(request, form: SupportSettingsForm, *, new_secret: str = "", status: int = 200) -> HttpResponse:
    organization = request.tenant.organization
    support_settings = support_settings_get(organization=organization)
    stored = unseal(support_settings.inbound_secret_sealed) if support_settings.inbound_secret_sealed else ""
    if new_secret:
        inbound_status = "new"
    elif stored:
        inbound_status = f"set ({hint(stored)})"
    elif support_settings.inbound_secret_sealed:
        inbound_status = "stored under an older key: rotate it and give the provider the new one"
    else:
        inbound_status = ""
    return render(
        request,
        "tickets/settings_support.html",
        {
            "form": form,
            "section": "support",
            "slack_hint": hint(support_settings.slack_webhook_url) if support_settings.slack_webhook_url else "",
            "inbound_url": settings.SITE_URL + reverse("inbound_email", kwargs={"organization": organization.slug}),
            "inbound_status": inbound_status,
            "new_secret": new_secret,
        },
        status=status,
    )


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def support_settings(request, org_slug: str) -> HttpResponse:
    instance = support_settings_get(organization=request.tenant.organization)
    form = SupportSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST":
        if form.is_valid():
            try:
                settings_services.support_settings_update(tenant=request.tenant, **form.service_values())
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, "Support settings saved.")
                return redirect("support_settings", org_slug=org_slug)
        return _support_page(request, form, status=400)
    return _support_page(request, form)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def support_secret_rotate(request, org_slug: str) -> HttpResponse:
    # Rendered in the answer to the POST, never put in the session or a redirect: it is shown this once.
    new_secret = settings_services.inbound_secret_rotate(tenant=request.tenant)
    messages.success(request, "New inbound secret made. The old one no longer works: give this one to your provider.")
    instance = support_settings_get(organization=request.tenant.organization)
    return _support_page(request, SupportSettingsForm(instance=instance), new_secret=new_secret)


# --- The lists: SLA policies, routing rules, macros -------------------------------------------------------------


@dataclass(frozen=True)
class _RowKind:
    model: type[models.Model]
    form_class: type[forms.ModelForm]
    template: str
    section: str
    page: str  # the list's url name
    noun: str
    save: Callable[..., models.Model]
    argument: str  # the service's keyword for the row being edited
    describe: Callable[[models.Model], str]  # the row's one-line summary, shown while it is folded


def _minutes(minutes: int | None) -> str:
    return format_duration(minutes * 60) if minutes else "none"


def _policy_summary(policy: SlaPolicy) -> str:
    conditions = [
        policy.get_cohort_display() or "any cohort",
        policy.get_priority_display() or "any priority",
        policy.get_channel_display() or "any channel",
        policy.get_topic_display() or "any topic",
    ]
    clock = "business hours" if policy.business_hours else "24/7"
    return (
        f"{', '.join(conditions)} · first response {_minutes(policy.first_response_minutes)}, next "
        f"{_minutes(policy.next_response_minutes)}, resolution {_minutes(policy.resolution_minutes)} ({clock})"
    )


def _rule_summary(rule: RoutingRule) -> str:
    when = f"{rule.get_topic_display() or 'Any topic'}, {rule.get_cohort_display() or 'any cohort'}"
    return f"{when} → {rule.get_action_display()}" + ("" if rule.active else " (inactive)")


def _macro_summary(macro: Macro) -> str:
    text = " ".join(macro.body.split())
    return text if len(text) <= 90 else f"{text[:89]}…"


SLA_POLICIES = _RowKind(
    SlaPolicy, SlaPolicyForm, "tickets/settings_sla_policies.html", "sla", "sla_policies", "SLA policy",
    settings_services.sla_policy_save, "policy", _policy_summary,
)  # fmt: skip
ROUTING_RULES = _RowKind(
    RoutingRule, RoutingRuleForm, "tickets/settings_routing_rules.html", "routing", "routing_rules", "routing rule",
    settings_services.routing_rule_save, "rule", _rule_summary,
)  # fmt: skip
MACROS = _RowKind(
    Macro, MacroForm, "tickets/settings_macros.html", "macros", "macros", "macro", settings_services.macro_save,
    "macro", _macro_summary,
)  # fmt: skip


def _list_page(request, kind: _RowKind, *, failed: forms.ModelForm | None = None, failed_pk: int | None = None):
    """The rows, each with its edit form; a refused form comes back bound, opened, with a 400."""
    rows = []
    for obj in kind.model.objects.order_by(*kind.model._meta.ordering, "id"):
        if failed is not None and failed_pk == obj.pk:
            rows.append((obj, kind.describe(obj), failed, True))
        else:
            rows.append((obj, kind.describe(obj), kind.form_class(instance=obj, prefix=_row_prefix(obj.pk)), False))
    new_form = failed if failed is not None and failed_pk is None else kind.form_class(prefix=NEW_PREFIX)
    context = {"rows": rows, "new_form": new_form, "section": kind.section}
    if kind is ROUTING_RULES:
        support_settings = support_settings_get(organization=request.tenant.organization)
        context["missing_links"] = [
            label
            for label, url in (
                ("community forum", support_settings.forum_url),
                ("public feature tracker", support_settings.feature_tracker_url),
            )
            if not url
        ]
    if kind is MACROS:
        context["merge_fields"] = ["{" + name + "}" for name in MACRO_MERGE_FIELDS]
    return render(request, kind.template, context, status=400 if failed is not None else 200)


def _row_save(request, org_slug: str, kind: _RowKind, pk: int | None) -> HttpResponse:
    obj = get_object_or_404(kind.model, pk=pk) if pk is not None else None
    form = kind.form_class(request.POST, instance=obj, prefix=_row_prefix(pk) if pk else NEW_PREFIX)
    if form.is_valid():
        # The form wrote its values onto `obj` while validating; the service compares against the stored row.
        stored = kind.model.objects.get(pk=pk) if pk is not None else None
        try:
            saved = kind.save(tenant=request.tenant, **{kind.argument: stored}, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"{kind.noun[0].upper()}{kind.noun[1:]} “{saved}” saved.")
            return redirect(kind.page, org_slug=org_slug)
    return _list_page(request, kind, failed=form, failed_pk=pk)


def _row_delete(request, org_slug: str, kind: _RowKind, pk: int, delete: Callable[..., None]) -> HttpResponse:
    obj = get_object_or_404(kind.model, pk=pk)
    delete(tenant=request.tenant, **{kind.argument: obj})
    messages.success(request, f"{kind.noun[0].upper()}{kind.noun[1:]} “{obj}” deleted.")
    return redirect(kind.page, org_slug=org_slug)


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def sla_policies(request, org_slug: str) -> HttpResponse:
    return _list_page(request, SLA_POLICIES)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def sla_policy_create(request, org_slug: str) -> HttpResponse:
    return _row_save(request, org_slug, SLA_POLICIES, None)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def sla_policy_edit(request, org_slug: str, pk: int) -> HttpResponse:
    return _row_save(request, org_slug, SLA_POLICIES, pk)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def sla_policy_delete(request, org_slug: str, pk: int) -> HttpResponse:
    return _row_delete(request, org_slug, SLA_POLICIES, pk, settings_services.sla_policy_delete)


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def routing_rules(request, org_slug: str) -> HttpResponse:
    return _list_page(request, ROUTING_RULES)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def routing_rule_create(request, org_slug: str) -> HttpResponse:
    return _row_save(request, org_slug, ROUTING_RULES, None)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def routing_rule_edit(request, org_slug: str, pk: int) -> HttpResponse:
    return _row_save(request, org_slug, ROUTING_RULES, pk)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def routing_rule_delete(request, org_slug: str, pk: int) -> HttpResponse:
    return _row_delete(request, org_slug, ROUTING_RULES, pk, settings_services.routing_rule_delete)


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def macros(request, org_slug: str) -> HttpResponse:
    return _list_page(request, MACROS)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def macro_create(request, org_slug: str) -> HttpResponse:
    return _row_save(request, org_slug, MACROS, None)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def macro_edit(request, org_slug: str, pk: int) -> HttpResponse:
    return _row_save(request, org_slug, MACROS, pk)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def macro_delete(request, org_slug: str, pk: int) -> HttpResponse:
    return _row_delete(request, org_slug, MACROS, pk, settings_services.macro_delete)
