"""Browser pages of playbooks: the list (with "new from template"), the editor, a playbook's page with its versions,
enrollments and step runs, the dry run, and the outbox of emails sent. Views translate and call services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.selectors import customer_success_member_users, organization_member_users
from core.decorators import tenant_permission_required
from playbooks import definition as pdef
from playbooks import selectors, services
from playbooks.forms import EMPTY_DEFINITION, PlaybookForm, editor_choices, editor_state
from playbooks.library import TEMPLATES, playbook_template_install
from playbooks.models import Enrollment, Playbook, PlaybookStatus, StepRun
from playbooks.permissions import PLAYBOOK_VIEW, PLAYBOOK_WRITE

PAGE_SIZE = 25


def _detail(request, playbook: Playbook) -> str:
    return reverse(
        "playbooks:playbook_detail", kwargs={"org_slug": request.tenant.organization.slug, "pk": playbook.pk}
    )


@tenant_permission_required(PLAYBOOK_VIEW)
def playbook_list(request, org_slug: str) -> HttpResponse:
    page = Paginator(selectors.playbook_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    for playbook in page.object_list:
        version = playbook.current_version
        playbook.trigger_text = pdef.trigger_summary(version.definition["trigger"]) if version else ""
        playbook.step_count = len(version.definition["steps"]) if version else 0
    return render(
        request,
        "playbooks/playbook_list.html",
        {"page": page, "templates": TEMPLATES, "may_write": request.tenant.can(PLAYBOOK_WRITE)},
    )


def _editor(request, *, playbook: Playbook | None) -> HttpResponse:
    organization = request.tenant.organization
    definition = playbook.current_version.definition if playbook else EMPTY_DEFINITION
    initial = {"name": playbook.name, "description": playbook.description} if playbook else {}
    form = PlaybookForm(request.POST or None, initial=initial)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form_valid = form.is_valid()
        posted, errors = PlaybookForm.definition_from(request.POST.get("definition") or "")
        if posted is not None:
            definition = posted
            try:  # checked even when the name is missing, so every problem shows at once
                definition = services.definition_validate(definition=posted, organization=organization)
            except ValidationError as exc:
                errors = exc.message_dict
        if form_valid and not errors:
            try:
                if playbook is None:
                    status = PlaybookStatus.ACTIVE if request.POST.get("switch_on") == "1" else PlaybookStatus.DRAFT
                    playbook = services.playbook_create(
                        tenant=request.tenant, name=form.cleaned_data["name"],
                        description=form.cleaned_data["description"], definition=definition, status=status,
                    )  # fmt: skip
                    messages.success(
                        request,
                        "Playbook created and switched on."
                        if status == PlaybookStatus.ACTIVE
                        else "Playbook saved as a draft. Check the dry run, then switch it on.",
                    )
                else:
                    before = playbook.current_version.number
                    playbook = services.playbook_update(
                        tenant=request.tenant, playbook=playbook, name=form.cleaned_data["name"],
                        description=form.cleaned_data["description"], definition=definition,
                    )  # fmt: skip
                    after = playbook.current_version.number
                    messages.success(
                        request,
                        f"Saved as version {after}. Accounts already running keep version {before}."
                        if after != before
                        else "Saved.",
                    )
                return redirect(_detail(request, playbook))
            except ValidationError as exc:
                errors = exc.message_dict
                for field in ("name", "description"):
                    for message in errors.get(field, []):
                        form.add_error(field, message)
    members = customer_success_member_users(organization=organization)  # the audience's "CSM" choices
    state = editor_state(definition, errors)
    return render(
        request,
        "playbooks/playbook_form.html",
        {
            "form": form,
            "playbook": playbook,
            "state": state,
            "choices": editor_choices(members=members),
            "step_prototypes": [
                {"index": 0, "type": kind, "label": label, "values": {"type": kind}, "errors": {}}
                for kind, label in pdef.STEP_TYPES.items()
            ],
        },
        status=400 if errors or form.errors else 200,
    )


@tenant_permission_required(PLAYBOOK_WRITE)
def playbook_create(request, org_slug: str) -> HttpResponse:
    return _editor(request, playbook=None)


@tenant_permission_required(PLAYBOOK_WRITE)
def playbook_edit(request, org_slug: str, pk: int) -> HttpResponse:
    return _editor(request, playbook=get_object_or_404(Playbook.objects.select_related("current_version"), pk=pk))


@tenant_permission_required(PLAYBOOK_VIEW)
def playbook_detail(request, org_slug: str, pk: int) -> HttpResponse:
    playbook = get_object_or_404(selectors.playbook_list(), pk=pk)
    definition = playbook.current_version.definition
    page = Paginator(selectors.playbook_enrollments(playbook=playbook), PAGE_SIZE).get_page(request.GET.get("page"))
    selectors.enrollments_with_runs(list(page.object_list))
    versions = list(playbook.versions.select_related("created_by").order_by("-number")[:20])
    for version in versions:
        version.trigger_text = pdef.trigger_summary(version.definition["trigger"])
        version.step_lines = [pdef.step_summary(step) for step in version.definition["steps"]]
    return render(
        request,
        "playbooks/playbook_detail.html",
        {
            "playbook": playbook,
            "trigger_text": pdef.trigger_summary(definition["trigger"]),
            "audience_lines": _audience_lines(definition.get("audience") or {}, request.tenant.organization),
            "step_lines": [pdef.step_summary(step) for step in definition["steps"]],
            "versions": versions,
            "page": page,
            "failed_count": selectors.failed_step_count(playbook=playbook),
            "may_write": request.tenant.can(PLAYBOOK_WRITE),
        },
    )


def _audience_lines(audience: dict, organization) -> list[str]:
    from accounts.models import Cohort, LifecycleStage

    lines = []
    if audience.get("cohorts"):
        lines.append("Cohort: " + ", ".join(Cohort(c).label for c in audience["cohorts"]))
    if audience.get("lifecycle_stages"):
        lines.append(
            "Has a contact at stage: " + ", ".join(LifecycleStage(s).label for s in audience["lifecycle_stages"])
        )
    if audience.get("csm_owner_ids"):
        names = organization_member_users(organization=organization).filter(pk__in=audience["csm_owner_ids"])
        lines.append("CSM: " + ", ".join(user.get_full_name() or user.email for user in names))
    if audience.get("min_arr") is not None:
        lines.append(f"ARR at least {audience['min_arr']:,}")
    if audience.get("score_min") is not None or audience.get("score_max") is not None:
        low = audience.get("score_min") if audience.get("score_min") is not None else 0
        high = audience.get("score_max") if audience.get("score_max") is not None else 100
        lines.append(f"Health score from {low} to {high}")
    return lines or ["Every active account"]


@tenant_permission_required(PLAYBOOK_VIEW)
def playbook_dry_run(request, org_slug: str, pk: int) -> HttpResponse:
    playbook = get_object_or_404(Playbook.objects.select_related("current_version"), pk=pk)
    dry_run = selectors.playbook_dry_run(playbook=playbook)
    return render(
        request,
        "playbooks/playbook_dry_run.html",
        {
            "playbook": playbook,
            "dry_run": dry_run,
            "trigger_text": pdef.trigger_summary(playbook.current_version.definition["trigger"]),
        },
    )


def _status_action(request, pk: int, call, success: str) -> HttpResponse:
    playbook = get_object_or_404(Playbook, pk=pk)
    call(playbook)
    messages.success(request, success)
    if request.POST.get("from_list") == "1":
        return redirect(reverse("playbooks:playbook_list", kwargs={"org_slug": request.tenant.organization.slug}))
    return redirect(_detail(request, playbook))


@require_POST
@tenant_permission_required(PLAYBOOK_WRITE)
def playbook_pause(request, org_slug: str, pk: int) -> HttpResponse:
    return _status_action(
        request, pk, lambda p: services.playbook_pause(tenant=request.tenant, playbook=p),
        "Paused: nothing enrolls and no step runs until you resume it.",
    )  # fmt: skip


@require_POST
@tenant_permission_required(PLAYBOOK_WRITE)
def playbook_resume(request, org_slug: str, pk: int) -> HttpResponse:
    return _status_action(
        request, pk, lambda p: services.playbook_resume(tenant=request.tenant, playbook=p),
        "Switched on: steps that became due meanwhile run within a minute.",
    )  # fmt: skip


@require_POST
@tenant_permission_required(PLAYBOOK_WRITE)
def playbook_template_add(request, org_slug: str) -> HttpResponse:
    try:
        playbook = playbook_template_install(tenant=request.tenant, key=request.POST.get("template", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(reverse("playbooks:playbook_list", kwargs={"org_slug": org_slug}))
    messages.success(request, "Template installed as a draft: adjust it, check the dry run, then switch it on.")
    return redirect(_detail(request, playbook))


@require_POST
@tenant_permission_required(PLAYBOOK_WRITE)
def step_run_retry(request, org_slug: str, pk: int) -> HttpResponse:
    step_run = get_object_or_404(StepRun.objects.select_related("enrollment__playbook"), pk=pk)
    try:
        services.step_run_retry(tenant=request.tenant, step_run=step_run)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "The step is due again and runs within a minute.")
    return redirect(_detail(request, step_run.enrollment.playbook) + f"#enrollment-{step_run.enrollment_id}")


@require_POST
@tenant_permission_required(PLAYBOOK_WRITE)
def enrollment_cancel(request, org_slug: str, pk: int) -> HttpResponse:
    enrollment = get_object_or_404(Enrollment.objects.select_related("playbook"), pk=pk)
    services.enrollment_cancel(tenant=request.tenant, enrollment=enrollment)
    messages.success(request, "Enrollment stopped: its remaining steps will not run.")
    return redirect(_detail(request, enrollment.playbook))


@tenant_permission_required(PLAYBOOK_VIEW)
def outbox(request, org_slug: str) -> HttpResponse:
    page = Paginator(selectors.sent_email_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "playbooks/outbox.html", {"page": page})
