"""The HubSpot pages of the integrations settings: deal stage mapping, field ownership, the conflict log."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.decorators import tenant_permission_required
from core.forms import form_add_service_errors
from core.permissions import Permission
from integrations.hubspot import selectors, services
from integrations.hubspot.client import HubSpotApiError, hubspot_client
from integrations.hubspot.forms import FieldOwnershipForm, StageMappingForm
from integrations.models import Source
from integrations.registry import TransientSyncError
from integrations.services import connection_get

SECTION = "integration_hubspot"


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def stage_mapping(request, org_slug: str) -> HttpResponse:
    rows = selectors.stage_mappings()
    form = StageMappingForm(request.POST or None, rows=rows)
    if request.method == "POST" and form.is_valid():
        try:
            services.stage_mapping_update(tenant=request.tenant, stages=form.stages())
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Deal stage mapping saved. The next sync uses it.")
            return redirect("hubspot_stage_mapping", org_slug=org_slug)
    connection = connection_get(organization=request.tenant.organization, source=Source.HUBSPOT)
    return render(
        request,
        "integrations/hubspot/stage_mapping.html",
        {"form": form, "section": SECTION, "connection": connection},
        status=400 if form.errors else 200,
    )


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def stage_mapping_refresh(request, org_slug: str) -> HttpResponse:
    connection = connection_get(organization=request.tenant.organization, source=Source.HUBSPOT)
    if not connection.is_configured:
        messages.error(request, "Save the HubSpot token first.")
        return redirect("hubspot_stage_mapping", org_slug=org_slug)
    if not connection.enabled:
        messages.error(request, "The HubSpot connection is turned off: turn it on to read its stages.")
        return redirect("hubspot_stage_mapping", org_slug=org_slug)
    try:
        pipelines = hubspot_client(connection, max_attempts=3).deal_pipelines()
    except (HubSpotApiError, TransientSyncError) as exc:
        messages.error(request, f"HubSpot did not list its pipelines: {exc}")
    else:
        services.stage_mappings_refresh(organization=request.tenant.organization, pipelines=pipelines)
        messages.success(request, f"Read {sum(len(p['stages']) for p in pipelines)} stages from HubSpot.")
    return redirect("hubspot_stage_mapping", org_slug=org_slug)


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def field_ownership(request, org_slug: str) -> HttpResponse:
    owners = services.field_owners(organization=request.tenant.organization)
    form = FieldOwnershipForm(request.POST or None, owners=owners)
    if request.method == "POST" and form.is_valid():
        try:
            services.field_ownership_update(tenant=request.tenant, owners=form.owners())
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Field ownership saved.")
            return redirect("hubspot_field_ownership", org_slug=org_slug)
    return render(
        request,
        "integrations/hubspot/field_ownership.html",
        {"form": form, "section": SECTION},
        status=400 if form.errors else 200,
    )


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def conflicts(request, org_slug: str) -> HttpResponse:
    return render(
        request,
        "integrations/hubspot/conflicts.html",
        {"conflicts": selectors.conflicts_recent(), "section": SECTION, "limit": selectors.RECENT_CONFLICTS},
    )
