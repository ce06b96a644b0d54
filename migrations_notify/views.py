"""Browser pages of the migrations app: the campaigns, one campaign with its timeline, counts, chart, teams and
emails, and the actions (confirm ready, import, run today's step, pause, resume)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.selectors import object_history
from core.decorators import tenant_permission_required
from core.errors import ApplicationError
from core.forms import form_add_service_errors
from core.permissions import Permission
from migrations_notify import selectors, services
from migrations_notify.forms import CampaignForm, CsvImportForm
from migrations_notify.models import (
    DEFAULT_FAILURE_BODY,
    DEFAULT_NOTICE_BODY,
    DEFAULT_NOTICE_SUBJECT,
    CampaignRun,
    MigrationCampaign,
    MigrationInstance,
    MigrationTeam,
)


def _detail(campaign: MigrationCampaign) -> str:
    return reverse("migration_campaign_detail", kwargs={"org_slug": campaign.organization.slug, "pk": campaign.pk})


@tenant_permission_required(Permission.VIEW)
def migration_campaign_list(request, org_slug: str) -> HttpResponse:
    page = Paginator(selectors.campaign_list(), 25).get_page(request.GET.get("page"))
    for campaign in page.object_list:
        done = campaign.moved_count + campaign.restarted_count
        campaign.percent = round(done * 100 / campaign.instance_count) if campaign.instance_count else 0
    return render(request, "migrations_notify/campaign_list.html", {"page": page, "today": timezone.localdate()})


@tenant_permission_required(Permission.MIGRATION_WRITE)
def migration_campaign_create(request, org_slug: str) -> HttpResponse:
    initial = {
        "notice_subject": DEFAULT_NOTICE_SUBJECT,
        "notice_body": DEFAULT_NOTICE_BODY,
        "failure_body": DEFAULT_FAILURE_BODY,
        "important_arr": "50000",
        "important_instance_count": 5,
        "restart_timeout_seconds": 600,
        "restart_poll_seconds": 10,
        "owner": request.user,
    }
    form = CampaignForm(request.POST or None, organization=request.tenant.organization, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        token = values.pop("platform_token") or ""
        try:
            campaign = services.campaign_create(tenant=request.tenant, platform_token=token, **values)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Campaign created. Confirm the new server is ready by T-90.")
            return redirect(_detail(campaign))
    return render(request, "migrations_notify/campaign_form.html", {"form": form}, status=400 if form.errors else 200)


@tenant_permission_required(Permission.MIGRATION_WRITE)
def migration_campaign_edit(request, org_slug: str, pk: int) -> HttpResponse:
    campaign = get_object_or_404(MigrationCampaign, pk=pk)
    initial = {field: getattr(campaign, field) for field in services.CAMPAIGN_FIELDS}
    form = CampaignForm(request.POST or None, organization=request.tenant.organization, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_update(tenant=request.tenant, campaign=campaign, **form.service_values())
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Campaign saved.")
            return redirect(_detail(campaign))
    return render(
        request,
        "migrations_notify/campaign_form.html",
        {"form": form, "campaign": campaign},
        status=400 if form.errors else 200,
    )


@tenant_permission_required(Permission.VIEW)
def migration_campaign_detail(request, org_slug: str, pk: int) -> HttpResponse:
    campaign = get_object_or_404(MigrationCampaign, pk=pk)
    today = timezone.localdate()
    team = None
    if request.GET.get("team", "").isdigit():
        team = MigrationTeam.objects.filter(campaign=campaign, pk=request.GET["team"]).first()
    counts = selectors.campaign_counts(campaign=campaign)
    teams_page = Paginator(selectors.campaign_teams(campaign=campaign), 25).get_page(request.GET.get("page"))
    instances = (
        list(MigrationInstance.objects.filter(campaign=campaign, team=team).order_by("status", "name"))
        if team is not None
        else []
    )
    if instances:
        from tickets.models import Ticket

        numbers = dict(
            Ticket.objects.filter(pk__in=[i.ticket_id for i in instances if i.ticket_id]).values_list("pk", "number")
        )
        for instance in instances:
            instance.ticket_number = numbers.get(instance.ticket_id)
    return render(
        request,
        "migrations_notify/campaign_detail.html",
        {
            "campaign": campaign,
            "today": today,
            "counts": counts,
            "done_percent": round((counts["moved"] + counts["restarted"]) * 100 / counts["total"])
            if counts["total"]
            else 0,
            "timeline": selectors.campaign_timeline(campaign=campaign, today=today),
            "teams_page": teams_page,
            "team": team,
            "instances": instances,
            "emails": list(selectors.campaign_emails(campaign=campaign, team=team)[:25]),
            "runs": list(CampaignRun.objects.filter(campaign=campaign)[:8]),
            "chart": selectors.campaign_chart(campaign=campaign),
            "history": object_history(object_type="migrationcampaign", object_id=campaign.pk)[:20],
            "import_form": CsvImportForm(),
        },
    )


def _action(request, pk: int, call, success: str) -> HttpResponse:
    campaign = get_object_or_404(MigrationCampaign, pk=pk)
    try:
        call(campaign)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success)
    return redirect(_detail(campaign))


@require_POST
@tenant_permission_required(Permission.MIGRATION_WRITE)
def migration_campaign_ready(request, org_slug: str, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        lambda c: services.campaign_confirm_ready(tenant=request.tenant, campaign=c),
        "The new server is confirmed ready: new and restarted instances land on it.",
    )


@require_POST
@tenant_permission_required(Permission.MIGRATION_WRITE)
def migration_campaign_pause(request, org_slug: str, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        lambda c: services.campaign_pause(tenant=request.tenant, campaign=c),
        "Campaign paused: no step runs until it is resumed.",
    )


@require_POST
@tenant_permission_required(Permission.MIGRATION_WRITE)
def migration_campaign_resume(request, org_slug: str, pk: int) -> HttpResponse:
    return _action(
        request, pk, lambda c: services.campaign_resume(tenant=request.tenant, campaign=c), "Campaign resumed."
    )


@require_POST
@tenant_permission_required(Permission.MIGRATION_WRITE)
def migration_campaign_run(request, org_slug: str, pk: int) -> HttpResponse:
    def run(campaign):
        ran = services.campaign_run_now(tenant=request.tenant, campaign=campaign)
        if not ran:
            raise ApplicationError("Nothing is due today: every step of today already ran.")
        failed = [run for run in ran if run.status == "failed"]
        if failed:
            raise ApplicationError(f"{failed[0].get_kind_display()} failed: {failed[0].error}")

    return _action(request, pk, run, "Today's step ran.")


@require_POST
@tenant_permission_required(Permission.MIGRATION_WRITE)
def migration_campaign_import(request, org_slug: str, pk: int) -> HttpResponse:
    form = CsvImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose the CSV file to import.")
        return redirect(_detail(get_object_or_404(MigrationCampaign, pk=pk)))
    text = form.cleaned_data["csv_file"].read().decode("utf-8", errors="replace")

    def imported(campaign):
        counts = services.instances_import_csv(tenant=request.tenant, campaign=campaign, csv_text=text)
        messages.info(request, f"{counts['rows']} rows: {counts['added']} instance(s) added, {counts['moved']} moved.")

    return _action(request, pk, imported, "Imported.")
