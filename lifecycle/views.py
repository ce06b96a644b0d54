"""Browser pages of the lifecycle app: the pipeline board and deals, "My work", tasks, stage moves, settings."""

import contextlib
from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import Account, Contact, LeadStatus
from accounts.selectors import object_history
from accounts.services import contact_update
from accounts.views import render_contact_page, selected_account_of
from core.decorators import tenant_permission_required
from core.forms import form_add_service_errors
from core.list_pages import list_page
from core.notifications import notifications_mark_read
from core.permissions import Permission
from lifecycle import selectors, services
from lifecycle.filters import DealFilterSet, deal_filter_choices
from lifecycle.forms import (
    DealForm,
    DealMoveForm,
    OnboardingStepForm,
    PipelineSettingsForm,
    QualificationForm,
    StageChangeForm,
    TaskForm,
)
from lifecycle.models import (
    DEAL_STAGE_HELP,
    OPEN_DEAL_STAGES,
    ContactQualification,
    Deal,
    DealStage,
    DealType,
    OnboardingPlan,
    OnboardingStepTemplate,
    Task,
)


def _next_url(request, fallback: str) -> str:
    """Where to go after a POST: the page it came from when that is ours, else the fallback."""
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return fallback


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _weighted_deals(request):
    return selectors.deals_weighted(
        pipeline_settings=services.pipeline_settings_get(organization=request.tenant.organization)
    )


# --- My work ---------------------------------------------------------------------------------------------------


@tenant_permission_required(Permission.VIEW)
def my_work(request, org_slug: str) -> HttpResponse:
    today = timezone.localdate()
    user = request.user
    groups = selectors.tasks_for(user=user, today=today)
    notifications = selectors.notifications_for(user=user)
    unread = sum(1 for notification in notifications if notification.read_at is None)
    response = render(
        request,
        "lifecycle/my_work.html",
        {
            "groups": [
                ("overdue", "Overdue", groups["overdue"]),
                ("this_week", "Due in the next 7 days", groups["this_week"]),
                ("later", "Later", groups["later"]),
                ("undated", "No due date", groups["undated"]),
            ],
            "open_task_count": sum(len(tasks) for tasks in groups.values()),
            "overdue_count": len(groups["overdue"]),
            "unresponsive": list(selectors.unresponsive_suggestions(owner=user)),
            "plans": list(
                OnboardingPlan.objects.filter(csm=user, status=OnboardingPlan.Status.OPEN)
                .select_related("account", "deal")
                .order_by("-created_at")[:10]
            ),
            "notifications": notifications,
            "unread": unread,
            "today": today,
            **_qbr_work(user=user, today=today),
        },
    )
    # Seen now: the badge in the sidebar clears on the next page.
    notifications_mark_read(recipient=user)
    return response


def _qbr_work(*, user, today: date) -> dict:
    """The qbr app's rows on "My work": overdue programme accounts and this week's meetings (qbr.selectors)."""
    from qbr.selectors import my_work_meetings, overdue_programme_accounts

    return {
        "qbr_overdue": overdue_programme_accounts(csm=user, today=today, limit=9),  # eight shown, and "more"
        "my_meetings": my_work_meetings(organizer=user),
    }


@tenant_permission_required(Permission.VIEW)
def notification_badge(request, org_slug: str) -> HttpResponse:
    count = selectors.unread_notification_count(user=request.user)
    return render(request, "lifecycle/_notification_badge.html", {"count": count})


# --- Pipeline board and deals ----------------------------------------------------------------------------------


@tenant_permission_required(Permission.VIEW)
def pipeline_board(request, org_slug: str) -> HttpResponse:
    pipeline_settings = services.pipeline_settings_get(organization=request.tenant.organization)
    filterset = DealFilterSet(request.GET, queryset=selectors.deals_weighted(pipeline_settings=pipeline_settings))
    deals = filterset.qs if filterset.is_valid() else Deal.objects.none()
    columns = selectors.pipeline_board(deals=deals, pipeline_settings=pipeline_settings)
    open_columns = [column for column in columns if column.stage in OPEN_DEAL_STAGES]
    return render(
        request,
        "lifecycle/pipeline_board.html",
        {
            "columns": columns,
            "filter": filterset,
            "open_count": sum(column.count for column in open_columns),
            "open_weighted": sum(column.weighted for column in open_columns),
            "open_amount": sum(column.amount for column in open_columns),
            "lost_reasons": pipeline_settings.lost_reasons,
            "stage_choices": DealStage.choices,
            "stage_help": DEAL_STAGE_HELP,
            "currency": request.tenant.organization.default_currency,
            "is_filtered": any(request.GET.get(name) for name in ("owner", "type", "close_quarter", "search")),
            **deal_filter_choices(organization=request.tenant.organization),
        },
    )


@tenant_permission_required(Permission.VIEW)
def deal_list(request, org_slug: str) -> HttpResponse:
    return list_page(
        request,
        DealFilterSet(request.GET, queryset=_weighted_deals(request)),
        sorts=selectors.DEAL_SORTS,
        default_sort="expected_close_date",
        template="lifecycle/deal_list.html",
        rows_template="lifecycle/_deal_rows.html",
        stage_choices=DealStage.choices,
        **deal_filter_choices(organization=request.tenant.organization),
    )


@tenant_permission_required(Permission.VIEW)
def deal_detail(request, org_slug: str, pk: int) -> HttpResponse:
    deal = get_object_or_404(_weighted_deals(request), pk=pk)
    pipeline_settings = services.pipeline_settings_get(organization=request.tenant.organization)
    return render(
        request,
        "lifecycle/deal_detail.html",
        {
            "deal": deal,
            "stages": _stage_steps(deal, pipeline_settings),
            "today": timezone.localdate(),
            "plans": selectors.onboarding_plans_of(account_id=deal.account_id, deal_id=deal.pk),
            "history": object_history(object_type="deal", object_id=deal.pk),
            "lost_reasons": pipeline_settings.lost_reasons,
            "stage_choices": DealStage.choices,
            "stage_help": DEAL_STAGE_HELP,
        },
    )


def _stage_steps(deal: Deal, pipeline_settings) -> list[tuple[str, str, int, str]]:
    """(stage, label, probability, "done" | "current" | "todo") for the stepper; closed stages end the row."""
    order = list(DealStage.values)
    if deal.stage in OPEN_DEAL_STAGES:
        reached = order.index(deal.stage)
    else:  # a won deal passed every open stage; a lost one may have left from any, so none is marked
        reached = len(OPEN_DEAL_STAGES) if deal.stage == DealStage.CLOSED_WON else 0
    steps = []
    for index, (stage, label) in enumerate(DealStage.choices):
        if stage == deal.stage:
            state = "current"
        elif stage in OPEN_DEAL_STAGES and index < reached:
            state = "done"
        else:
            state = "todo"
        steps.append((stage, label, pipeline_settings.probability(stage), state))
    return steps


def _deal_form_view(request, org_slug: str, deal: Deal | None) -> HttpResponse:
    organization = request.tenant.organization
    pipeline_settings = services.pipeline_settings_get(organization=organization)
    initial = {}
    if deal is None:
        if request.GET.get("account", "").isdigit():
            initial["account"] = request.GET["account"]
        if request.GET.get("type") in DealType.values:
            initial["type"] = request.GET["type"]
        initial["owner"] = request.user.pk if request.tenant.role == "ae" else None
        initial["currency"] = ""  # empty: the account's currency
    form = DealForm(
        request.POST or None,
        instance=deal,
        initial=initial,
        organization=organization,
        lost_reasons=pipeline_settings.lost_reasons,
    )
    if request.method == "POST" and form.is_valid():
        values = {key: value for key, value in form.cleaned_data.items() if key != "account"}
        if values.get("owner") is None:
            values.pop("owner")
        try:
            if deal is None:
                deal = services.deal_create(tenant=request.tenant, account=form.cleaned_data["account"], **values)
                messages.success(request, f"Deal {deal.name} opened.")
            else:
                deal = services.deal_update(tenant=request.tenant, deal=Deal.objects.get(pk=deal.pk), **values)
                messages.success(request, "Deal saved.")
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect("deal_detail", org_slug=org_slug, pk=deal.pk)
    return render(
        request,
        "lifecycle/deal_form.html",
        {"form": form, "deal": deal, "selected_account": selected_account_of(form["account"].value())},
    )


@tenant_permission_required(Permission.DEAL_WRITE)
def deal_create(request, org_slug: str) -> HttpResponse:
    return _deal_form_view(request, org_slug, None)


@tenant_permission_required(Permission.DEAL_WRITE)
def deal_edit(request, org_slug: str, pk: int) -> HttpResponse:
    return _deal_form_view(request, org_slug, get_object_or_404(Deal, pk=pk))


@tenant_permission_required(Permission.VIEW)
def deal_name_suggestion(request, org_slug: str) -> HttpResponse:
    """The seed 003 name for the account, type and close date chosen so far in the deal form."""
    account = None
    if request.GET.get("account", "").isdigit():
        account = Account.objects.filter(pk=request.GET["account"]).first()
    deal_type = request.GET.get("type") if request.GET.get("type") in DealType.values else DealType.NEW
    close_date = None
    with contextlib.suppress(ValueError):
        close_date = date.fromisoformat(request.GET.get("expected_close_date", ""))
    suggestion = ""
    if account is not None:
        suggestion = services.deal_name_suggest(
            account=account,
            deal_type=deal_type,
            expected_close_date=close_date,
            product=services.pipeline_settings_get(organization=request.tenant.organization).product_name,
        )
    return render(request, "lifecycle/_deal_name_suggestion.html", {"suggestion": suggestion})


@require_POST
@tenant_permission_required(Permission.DEAL_WRITE)
def deal_move(request, org_slug: str, pk: int) -> HttpResponse:
    deal = get_object_or_404(Deal, pk=pk)
    back = _next_url(request, reverse("deal_detail", kwargs={"org_slug": org_slug, "pk": pk}))
    form = DealMoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a stage to move the deal to.")
        return redirect(back)
    try:
        deal = services.deal_move(
            tenant=request.tenant,
            deal=deal,
            to_stage=form.cleaned_data["stage"],
            lost_reason=form.cleaned_data["lost_reason"],
        )
    except ValidationError as exc:
        messages.error(request, f"{deal.name} stays in {deal.get_stage_display()}: {_error_text(exc)}")
    else:
        text = f"{deal.name} moved to {deal.get_stage_display()}."
        if deal.stage == DealStage.CLOSED_WON:
            text += " The handoff is complete: the CSM now owns the account."
        messages.success(request, text)
    return redirect(back)


@require_POST
@tenant_permission_required(Permission.DEAL_WRITE)
def deal_commit(request, org_slug: str, pk: int) -> HttpResponse:
    deal = get_object_or_404(Deal, pk=pk)
    back = _next_url(request, reverse("deal_detail", kwargs={"org_slug": org_slug, "pk": pk}))
    try:
        plan = services.deal_commit(tenant=request.tenant, deal=deal)
    except ValidationError as exc:
        messages.error(request, f"{deal.name} is not committed: {_error_text(exc)}")
    else:
        csm = plan.csm.get_full_name() or plan.csm.email if plan.csm else "the CSM"
        messages.success(request, f"{deal.name} committed. {csm} was told and has the onboarding plan.")
    return redirect(back)


@tenant_permission_required(Permission.DEAL_DELETE)
def deal_delete(request, org_slug: str, pk: int) -> HttpResponse:
    deal = get_object_or_404(Deal, pk=pk)
    if request.method == "POST":
        services.deal_delete(tenant=request.tenant, deal=deal)
        messages.success(request, f"Deal {deal.name} deleted.")
        return redirect("deal_list", org_slug=org_slug)
    return render(request, "accounts/confirm_delete.html", {"object": deal, "kind": "deal"})


# --- Tasks -----------------------------------------------------------------------------------------------------


@require_POST
@tenant_permission_required(Permission.TASK_WRITE)
def task_create(request, org_slug: str, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    back = _next_url(request, reverse("account_detail", kwargs={"org_slug": org_slug, "pk": pk}))
    form = TaskForm(request.POST, organization=request.tenant.organization)
    if not form.is_valid():
        problems = "; ".join(f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items())
        messages.error(request, f"The task was not added. {problems}")
        return redirect(back)
    try:
        task = services.task_create(tenant=request.tenant, account=account, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, f"The task was not added: {_error_text(exc)}")
    else:
        messages.success(request, f"Task added: {task.title}.")
    return redirect(back)


@require_POST
@tenant_permission_required(Permission.TASK_WRITE)
def task_complete(request, org_slug: str, pk: int) -> HttpResponse:
    return _task_toggle(request, org_slug, pk, services.task_complete, "Done")


@require_POST
@tenant_permission_required(Permission.TASK_WRITE)
def task_reopen(request, org_slug: str, pk: int) -> HttpResponse:
    return _task_toggle(request, org_slug, pk, services.task_reopen, "Reopened")


def _task_toggle(request, org_slug: str, pk: int, service, verb: str) -> HttpResponse:
    task = service(tenant=request.tenant, task=get_object_or_404(Task, pk=pk))
    messages.success(request, f"{verb}: {task.title}.")
    return redirect(_next_url(request, reverse("my_work", kwargs={"org_slug": org_slug})))


# --- Contact lifecycle -----------------------------------------------------------------------------------------


@require_POST
@tenant_permission_required(Permission.CONTACT_WRITE)
def contact_stage(request, org_slug: str, pk: int) -> HttpResponse:
    """A refused move re-renders the contact page with the reason beside the field (400), losing nothing."""
    contact = get_object_or_404(Contact.objects.select_related("account"), pk=pk)
    form = StageChangeForm(request.POST)
    if form.is_valid():
        try:
            services.contact_stage_change(
                tenant=request.tenant,
                contact=contact,
                to_stage=form.cleaned_data["lifecycle_stage"],
                reason=form.cleaned_data["stage_change_reason"],
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"{contact} is now {contact.get_lifecycle_stage_display()}.")
            return redirect("contact_detail", org_slug=org_slug, pk=pk)
    contact.refresh_from_db()
    return render_contact_page(request, contact, stage_form=form, status=400)


@require_POST
@tenant_permission_required(Permission.CONTACT_WRITE)
def contact_qualification(request, org_slug: str, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact.objects.select_related("account"), pk=pk)
    instance = ContactQualification.objects.filter(contact=contact).first()
    form = QualificationForm(request.POST, instance=instance)
    if form.is_valid():
        services.qualification_save(tenant=request.tenant, contact=contact, **form.cleaned_data)
        messages.success(request, "Answers saved.")
        return redirect("contact_detail", org_slug=org_slug, pk=pk)
    return render_contact_page(request, contact, qualification_form=form, status=400)


@require_POST
@tenant_permission_required(Permission.CONTACT_WRITE)
def contact_outreach(request, org_slug: str, pk: int) -> HttpResponse:
    """Logs an outreach or a reply, or takes the "Unresponsive" suggestion."""
    contact = get_object_or_404(Contact, pk=pk)
    kind = request.POST.get("kind")
    if kind == "outreach":
        services.contact_outreach_log(tenant=request.tenant, contact=contact)
        messages.success(request, "Outreach logged. Unresponsive will be suggested if no reply comes in two weeks.")
    elif kind == "reply":
        services.contact_reply_log(tenant=request.tenant, contact=contact)
        messages.success(request, "Reply logged.")
    elif kind == "unresponsive":
        contact_update(tenant=request.tenant, contact=contact, lead_status=LeadStatus.UNRESPONSIVE)
        messages.success(request, f"{contact} is marked Unresponsive.")
    else:
        messages.error(request, "Nothing was logged: choose outreach or reply.")
    return redirect(_next_url(request, reverse("contact_detail", kwargs={"org_slug": org_slug, "pk": pk})))


# --- Settings --------------------------------------------------------------------------------------------------


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def pipeline_settings(request, org_slug: str) -> HttpResponse:
    organization = request.tenant.organization
    instance = services.pipeline_settings_get(organization=organization)
    form = PipelineSettingsForm(request.POST or None, instance=instance, organization=organization)
    if request.method == "POST" and form.is_valid():
        try:
            services.pipeline_settings_update(tenant=request.tenant, **form.service_values())
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Pipeline settings saved.")
            return redirect("pipeline_settings", org_slug=org_slug)
    steps = list(OnboardingStepTemplate.objects.order_by("position", "id"))
    return render(
        request,
        "lifecycle/settings_pipeline.html",
        {
            "form": form,
            "steps": [(step, OnboardingStepForm(instance=step, prefix=f"step-{step.pk}")) for step in steps],
            "new_step_form": OnboardingStepForm(prefix="new"),
            "section": "pipeline",
            "cohort_fields": [form[name] for name in form.fields if name.startswith("cohort_csm_")],
        },
    )


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def onboarding_step_create(request, org_slug: str) -> HttpResponse:
    return _onboarding_step_save(request, org_slug, None, prefix="new")


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def onboarding_step_edit(request, org_slug: str, pk: int) -> HttpResponse:
    step = get_object_or_404(OnboardingStepTemplate, pk=pk)
    return _onboarding_step_save(request, org_slug, step, prefix=f"step-{pk}")


def _onboarding_step_save(request, org_slug: str, step, *, prefix: str) -> HttpResponse:
    form = OnboardingStepForm(request.POST, instance=step, prefix=prefix)
    if form.is_valid():
        try:
            services.onboarding_step_save(tenant=request.tenant, step=step, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, f"The step was not saved: {_error_text(exc)}")
        else:
            messages.success(request, "Onboarding step saved. New plans use it; plans already open keep theirs.")
    else:
        problems = "; ".join(" ".join(errors) for errors in form.errors.values())
        messages.error(request, f"The step was not saved: {problems}")
    return redirect("pipeline_settings", org_slug=org_slug)


@require_POST
@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def onboarding_step_delete(request, org_slug: str, pk: int) -> HttpResponse:
    step = get_object_or_404(OnboardingStepTemplate, pk=pk)
    services.onboarding_step_delete(tenant=request.tenant, step=step)
    messages.success(request, f"Step {step.title} removed from the template.")
    return redirect("pipeline_settings", org_slug=org_slug)
