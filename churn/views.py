"""Browser pages of the churn app: the cases, one case and its steps, the analytics, the settings, and the
customer's learning form (a public link outside /o/<slug>/)."""

from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Account
from accounts.selectors import object_history
from churn import selectors, services
from churn.forms import ChurnCaseForm, ChurnSettingsForm, DismissForm, StepSkipForm
from churn.models import CancelMode, ChurnCase, ChurnCaseStatus, ChurnStep, StepKind, StepStatus
from core.decorators import tenant_permission_required
from core.errors import ApplicationError
from core.forms import form_add_service_errors
from core.permissions import Permission
from core.tenancy import tenant_scope

CASE_TABS = [
    ("live", "Open and suggested"),
    (ChurnCaseStatus.SUGGESTED, "Suggested by Stripe"),
    (ChurnCaseStatus.OPEN, "Open"),
    (ChurnCaseStatus.CLOSED, "Closed"),
    (ChurnCaseStatus.DISMISSED, "Dismissed"),
    ("all", "All"),
]


def _case_url(case: ChurnCase) -> str:
    return reverse("churn_case_detail", kwargs={"org_slug": case.organization.slug, "pk": case.pk})


@tenant_permission_required(Permission.VIEW)
def churn_case_list(request, org_slug: str) -> HttpResponse:
    tab = request.GET.get("status") or "live"
    if tab not in dict(CASE_TABS):
        tab = "live"
    cases = selectors.churn_case_list(status="" if tab == "all" else tab)
    page = Paginator(cases, 25).get_page(request.GET.get("page"))
    counts = selectors.churn_status_counts()
    labels = services.churn_settings_get(organization=request.tenant.organization).reason_labels
    for case in page.object_list:
        steps = list(case.steps.all())
        case.primary_label = labels.get(case.primary_reason, case.primary_reason)
        case.finished_steps = sum(1 for step in steps if step.is_finished)
        case.failed_steps = sum(1 for step in steps if step.status == StepStatus.FAILED)
        case.percent = round(case.finished_steps * 100 / len(steps)) if steps else 0
    return render(
        request,
        "churn/case_list.html",
        {
            "page": page,
            "tab": tab,
            "tabs": [(value, label, counts.get(value, 0)) for value, label in CASE_TABS],
        },
    )


@tenant_permission_required(Permission.CHURN_WRITE)
def churn_case_create(request, org_slug: str) -> HttpResponse:
    churn_settings = services.churn_settings_get(organization=request.tenant.organization)
    account = None
    if request.GET.get("account", "").isdigit():
        account = Account.objects.filter(pk=request.GET["account"]).first()
        if account is not None and (live := selectors.live_case_for_account(account=account)):
            messages.info(request, f"{account.name} already has a churn case: here it is.")
            return redirect(_case_url(live))
    initial = {"cancel_mode": CancelMode.PERIOD_END}
    if account is not None:
        initial |= {"account": account, "churn_date": account.renewal_date, "arr_lost": account.arr}
    form = ChurnCaseForm(request.POST or None, churn_settings=churn_settings, initial=initial)
    if request.method == "POST" and request.POST.get("account", "").isdigit():
        account = Account.objects.filter(pk=request.POST["account"]).first()
    if request.method == "POST" and form.is_valid():
        try:
            case = services.churn_case_open(
                tenant=request.tenant, account=form.cleaned_data["account"], **form.service_values()
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"Churn case opened for {case.account.name}; its steps are running.")
            return redirect(_case_url(case))
    return render(
        request,
        "churn/case_form.html",
        {"form": form, "account": account, "editing": False},
        status=400 if form.errors else 200,
    )


@tenant_permission_required(Permission.VIEW)
def churn_case_detail(request, org_slug: str, pk: int) -> HttpResponse:
    case = selectors.churn_case_get(pk=pk)
    if case is None:
        raise Http404("No such churn case.")
    steps = list(case.steps.all())
    for step in steps:
        step.waiting_for = "" if step.is_finished else services.churn_step_readiness(step=step)
    finished = sum(1 for step in steps if step.is_finished)
    churn_settings = services.churn_settings_get(organization=request.tenant.organization)
    return render(
        request,
        "churn/case_detail.html",
        {
            "case": case,
            "steps": steps,
            "finished": finished,
            "percent": round(finished * 100 / len(steps)) if steps else 0,
            "reason_labels": churn_settings.reason_labels,
            "learning_url": services.learning_url(case),
            "history": object_history(object_type="churncase", object_id=case.pk),
            "skip_form": StepSkipForm(),
            "dismiss_form": DismissForm(),
            "cancel_now": case.cancel_mode == CancelMode.NOW,
            "today": timezone.localdate(),
        },
    )


@tenant_permission_required(Permission.CHURN_WRITE)
def churn_case_edit(request, org_slug: str, pk: int) -> HttpResponse:
    case = get_object_or_404(ChurnCase, pk=pk)
    churn_settings = services.churn_settings_get(organization=request.tenant.organization)
    initial = {field: getattr(case, field) for field in services.CASE_FIELDS}
    initial["confirm_cancel_now"] = case.cancel_mode == CancelMode.NOW
    form = ChurnCaseForm(request.POST or None, churn_settings=churn_settings, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if case.status == ChurnCaseStatus.SUGGESTED:
                services.churn_case_confirm(tenant=request.tenant, case=case, **form.service_values())
                messages.success(request, "Churn case confirmed; its steps are running.")
            else:
                services.churn_case_update(tenant=request.tenant, case=case, **form.service_values())
                messages.success(request, "Churn case saved.")
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(_case_url(case))
    return render(
        request,
        "churn/case_form.html",
        {"form": form, "case": case, "account": case.account, "editing": True},
        status=400 if form.errors else 200,
    )


def _step_of(case: ChurnCase, request) -> ChurnStep:
    step = ChurnStep.objects.filter(case=case, kind=request.POST.get("step", "")).first()
    if step is None:
        raise Http404("No such step.")
    return step


@require_POST
@tenant_permission_required(Permission.CHURN_WRITE)
def churn_step_run(request, org_slug: str, pk: int) -> HttpResponse:
    case = get_object_or_404(ChurnCase, pk=pk)
    step = _step_of(case, request)
    if step.kind == StepKind.CANCEL_STRIPE and case.cancel_mode == CancelMode.NOW and not request.POST.get("confirm"):
        messages.error(request, "Cancelling now is immediate: confirm it in the dialog.")
        return redirect(_case_url(case))
    try:
        step = services.churn_step_run(tenant=request.tenant, step=step)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if step.status == StepStatus.DONE:
            services.churn_case_advance(tenant=request.tenant, case=case)
            messages.success(request, f"{step.get_kind_display()}: done. {step.result_text}")
        elif step.status == StepStatus.FAILED:
            messages.error(request, f"{step.get_kind_display()} failed: {step.error}")
    return redirect(_case_url(case))


@require_POST
@tenant_permission_required(Permission.CHURN_WRITE)
def churn_step_skip(request, org_slug: str, pk: int) -> HttpResponse:
    case = get_object_or_404(ChurnCase, pk=pk)
    step = _step_of(case, request)
    try:
        services.churn_step_skip(tenant=request.tenant, step=step, reason=request.POST.get("skip_reason", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{step.get_kind_display()}: skipped.")
        services.churn_case_advance(tenant=request.tenant, case=case)
    return redirect(_case_url(case))


@require_POST
@tenant_permission_required(Permission.CHURN_WRITE)
def churn_case_dismiss(request, org_slug: str, pk: int) -> HttpResponse:
    case = get_object_or_404(ChurnCase, pk=pk)
    try:
        services.churn_case_dismiss(tenant=request.tenant, case=case, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Case dismissed.")
    return redirect(_case_url(case))


def _month_param(raw: str | None, fallback: date) -> date:
    try:
        year, month = (int(part) for part in (raw or "").split("-")[:2])
        return date(year, month, 1)
    except (ValueError, TypeError):
        return fallback


@tenant_permission_required(Permission.VIEW)
def churn_report(request, org_slug: str) -> HttpResponse:
    today = timezone.localdate()
    default_start = (today.replace(day=1) - timedelta(days=335)).replace(day=1)
    start = _month_param(request.GET.get("start"), default_start)
    end_month = _month_param(request.GET.get("end"), today.replace(day=1))
    error = ""
    if start > end_month or not 1900 < start.year < 3000 or not 1900 < end_month.year < 3000:
        error = "The period runs from a month to a later one (YYYY-MM). Showing the last 12 months instead."
        start, end_month = default_start, today.replace(day=1)
    end = (end_month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    churn_settings = services.churn_settings_get(organization=request.tenant.organization)
    labels = churn_settings.reason_labels
    report = selectors.churn_analytics(start=start, end=end, reason_labels=labels)
    order = list(labels)
    used_reasons = sorted(
        {code for row in report.months for code in row.by_reason},
        key=lambda code: order.index(code) if code in order else len(order),
    )
    chart = {
        "months": [row.month.strftime("%b %Y") for row in report.months],
        "arr_lost": [float(row.arr_lost) for row in report.months],
        "logos": [row.logos for row in report.months],
        "reasons": [
            {"label": labels.get(code, code), "counts": [row.by_reason.get(code, 0) for row in report.months]}
            for code in used_reasons
        ],
        "cohorts": [row.label for row in report.cohorts],
        "grr": [float(row.grr) if row.grr is not None else None for row in report.cohorts],
    }
    return render(
        request,
        "churn/report.html",
        {
            "report": report,
            "chart": chart,
            "start": start,
            "end_month": end_month,
            "error": error,
            "currency": request.tenant.organization.default_currency,
            "active_report": "churn",
        },
    )


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def churn_settings(request, org_slug: str) -> HttpResponse:
    current = services.churn_settings_get(organization=request.tenant.organization)
    initial = {
        "reasons": "\n".join(label for _, label in current.reasons),
        "learning_questions": "\n".join(current.learning_questions),
        "acknowledgment_intro": current.acknowledgment_intro,
    }
    form = ChurnSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.churn_settings_update(tenant=request.tenant, **form.service_values())
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Churn settings saved.")
            return redirect("churn_settings", org_slug=org_slug)
    return render(
        request,
        "churn/settings.html",
        {"form": form, "has_webhook": bool(current.sales_slack_webhook_url)},
        status=400 if form.errors else 200,
    )


def churn_learning_form(request, token: str) -> HttpResponse:
    """The customer's page: no login, the random token is the key; a wrong token is a plain 404."""
    case = services.churn_case_for_token(token=token)
    if case is None:
        raise Http404("This link is not valid.")
    with tenant_scope(case.organization):
        questions = services.churn_settings_get(organization=case.organization).learning_questions
    answers = [request.POST.get(f"answer_{n}", "") for n in range(len(questions))]
    error = ""
    if request.method == "POST":
        try:
            services.churn_learning_answers_save(case=case, answers=answers)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            return render(request, "churn/learning_thanks.html", {"case": case})
    elif case.learning_answers:
        answers = [pair["answer"] for pair in case.learning_answers]
    return render(
        request,
        "churn/learning_form.html",
        {
            "case": case,
            "questions": list(zip(range(len(questions)), questions, answers + [""] * len(questions), strict=False)),
            "error": error,
        },
        status=400 if error else 200,
    )
