"""The integrations settings pages: one per source, with its connection, its runs (live) and its webhooks."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.decorators import tenant_permission_required
from core.errors import ApplicationError
from core.forms import form_add_service_errors
from core.permissions import Permission
from core.secrets import sealed_hint
from integrations import selectors, services
from integrations.forms import ConnectionForm
from integrations.models import Source, SyncKind, SyncRun

# The address each source posts its webhooks to, and the pages each source adds to its settings.
WEBHOOK_URL_NAMES = {Source.STRIPE: "stripe_webhook", Source.HUBSPOT: "hubspot_webhook"}
EXTRA_PAGES = {
    Source.STRIPE: [
        ("Plans and cohorts", "revenue_plan_cohorts"),
        ("Customers to review", "revenue_review_queue"),
        ("Revenue report", "revenue_report"),
    ],
    Source.HUBSPOT: [
        ("Deal stages", "hubspot_stage_mapping"),
        ("Field ownership", "hubspot_field_ownership"),
        ("Conflicts", "hubspot_conflicts"),
    ],
}


def _source(source: str) -> str:
    if source not in Source.values:
        raise Http404("No such integration.")
    return source


def _page(request, source: str, form: ConnectionForm, *, status: int = 200) -> HttpResponse:
    organization = request.tenant.organization
    connection = services.connection_get(organization=organization, source=source)
    webhook_path = reverse(WEBHOOK_URL_NAMES[source], kwargs={"organization": organization.slug})
    extra_pages = [
        (label, reverse(name, kwargs={"org_slug": organization.slug})) for label, name in EXTRA_PAGES[source]
    ]
    return render(
        request,
        "integrations/settings_connection.html",
        {
            "form": form,
            "section": f"integration_{source}",
            "source": source,
            "source_label": Source(source).label,
            "connection": connection,
            "api_key_hint": sealed_hint(connection.api_key_sealed),
            "webhook_secret_hint": sealed_hint(connection.webhook_secret_sealed),
            "webhook_url": settings.SITE_URL + webhook_path,
            "extra_pages": extra_pages,
            **_runs_context(source),
            "events": selectors.webhook_events_recent(source=source),
        },
        status=status,
    )


def _runs_context(source: str) -> dict[str, object]:
    runs = selectors.sync_runs_recent(source=source)
    return {"runs": runs, "any_active": any(not run.is_finished for run in runs), "source": source}


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def connection_settings(request, org_slug: str, source: str) -> HttpResponse:
    source = _source(source)
    connection = services.connection_get(organization=request.tenant.organization, source=source)
    form = ConnectionForm(
        request.POST or None,
        source=source,
        initial={"api_base_url": connection.api_base_url, "enabled": connection.enabled},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.connection_update(
                tenant=request.tenant,
                source=source,
                api_key=form.secret("api_key"),
                webhook_secret=form.secret("webhook_secret"),
                api_base_url=form.cleaned_data["api_base_url"],
                enabled=form.cleaned_data["enabled"],
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"{Source(source).label} connection saved.")
            return redirect("integration_settings", org_slug=org_slug, source=source)
    return _page(request, source, form, status=400 if form.errors else 200)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def connection_test(request, org_slug: str, source: str) -> HttpResponse:
    source = _source(source)
    checks = services.connection_test(tenant=request.tenant, source=source)
    failed = [check for check in checks if not check.ok]
    if failed:
        messages.error(request, f"{len(failed)} of {len(checks)} checks failed: see the list below.")
    else:
        messages.success(request, f"All {len(checks)} checks passed.")
    return redirect("integration_settings", org_slug=org_slug, source=source)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def sync_start(request, org_slug: str, source: str) -> HttpResponse:
    source = _source(source)
    kind = request.POST.get("kind", SyncKind.INCREMENTAL)
    if kind not in SyncKind.values:
        kind = SyncKind.INCREMENTAL
    try:
        run, created = services.sync_request(
            organization=request.tenant.organization, source=source, kind=kind, requested_by=request.tenant.member
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("integration_settings", org_slug=org_slug, source=source)
    if created:
        messages.success(request, f"{run.get_kind_display()} started. Progress shows below.")
    else:
        messages.info(request, f"A {run.get_kind_display().lower()} is already {run.get_status_display().lower()}.")
    return redirect("integration_settings", org_slug=org_slug, source=source)


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def sync_runs_partial(request, org_slug: str, source: str) -> HttpResponse:
    """The runs table alone, which the page polls while a run is active."""
    return render(request, "integrations/_sync_runs.html", _runs_context(_source(source)))


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def sync_run_detail(request, org_slug: str, source: str, pk: int) -> HttpResponse:
    run = get_object_or_404(SyncRun.objects.select_related("requested_by"), pk=pk, source=_source(source))
    return render(
        request,
        "integrations/sync_run_detail.html",
        {
            "run": run,
            "errors": selectors.sync_run_errors(run=run),
            "section": f"integration_{source}",
            "source": source,
            "source_label": Source(source).label,
        },
    )
