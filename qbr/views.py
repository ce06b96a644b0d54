"""Browser pages of the qbr app: the programme, the calendar, an account's QBRs, a meeting, feature requests.

Views translate input, call a service, and present the result; refusals come back as the service's sentence.
"""

from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Account
from accounts.selectors import organization_member_users
from core.decorators import tenant_permission_required
from core.forms import form_add_service_errors
from core.permissions import Permission
from core.tenancy import tenant_scope
from qbr import rules, selectors, services
from qbr.datapack import data_pack
from qbr.forms import (
    ActionItemForm,
    AddAskerForm,
    CaptureRequestForm,
    ChampionChangeForm,
    ConfirmForm,
    FeatureRequestForm,
    FeatureRequestStatusForm,
    MeetingForm,
    NarrativeForm,
    OutcomesForm,
    OutreachForm,
    QbrSettingsForm,
    UptimeNoteForm,
)
from qbr.models import (
    QBR_GOALS,
    CustomerResponse,
    FeatureRequest,
    FeatureRequestStatus,
    Meeting,
    MeetingKind,
    MeetingShare,
    MeetingStatus,
    OutreachChannel,
)


def _back(request, fallback: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return fallback


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _meeting_url(org_slug: str, meeting: Meeting) -> str:
    return reverse("meeting_detail", kwargs={"org_slug": org_slug, "pk": meeting.pk})


# --- The programme and the calendar ----------------------------------------------------------------------------

PROGRAMME_ROW_LIMIT = 500  # one page of rows; the filters narrow it


@tenant_permission_required(Permission.VIEW)
def qbr_programme(request, org_slug: str) -> HttpResponse:
    today = timezone.localdate()
    csm = request.GET.get("csm", "")
    filters = selectors.ProgrammeFilters(
        csm=int(csm) if csm.isdigit() else None,
        overdue_only=request.GET.get("overdue") == "1",
        search=request.GET.get("search", "").strip(),
    )
    rows = selectors.programme_list(today=today, filters=filters, limit=PROGRAMME_ROW_LIMIT)
    settings_row = services.qbr_settings_get(organization=request.tenant.organization)
    return render(
        request,
        "qbr/programme.html",
        {
            "rows": rows,
            "summary": selectors.programme_summary(today=today),
            "threshold": settings_row.arr_threshold,
            "currency": request.tenant.organization.default_currency,
            "members": organization_member_users(organization=request.tenant.organization),
            "filters": filters,
            "is_filtered": bool(filters.csm or filters.overdue_only or filters.search),
            "today": today,
            "row_limit": PROGRAMME_ROW_LIMIT,
        },
    )


@tenant_permission_required(Permission.VIEW)
def meeting_calendar(request, org_slug: str) -> HttpResponse:
    """Upcoming meetings and QBRs per CSM, by day, for the next weeks (default: mine)."""
    today = timezone.localdate()
    who = request.GET.get("organizer", str(request.user.pk))
    weeks = 6
    start = timezone.make_aware(datetime.combine(today, time.min))
    meetings = selectors.upcoming_meetings(
        start=start, end=start + timedelta(weeks=weeks), organizer_id=int(who) if who.isdigit() else None
    )
    days: dict = {}
    for meeting in meetings:
        days.setdefault(timezone.localdate(meeting.starts_at), []).append(meeting)
    return render(
        request,
        "qbr/calendar.html",
        {
            "days": sorted(days.items()),
            "members": organization_member_users(organization=request.tenant.organization),
            "organizer": who,
            "weeks": weeks,
            "today": today,
            "needing_outcomes": selectors.meetings_needing_outcomes(organizer=request.user, now=timezone.now()),
        },
    )


# --- An account's QBRs -----------------------------------------------------------------------------------------


@tenant_permission_required(Permission.VIEW)
def account_qbr(request, org_slug: str, pk: int) -> HttpResponse:
    today = timezone.localdate()
    programme = selectors.programme_accounts(today=today).filter(pk=pk).first()
    account = programme or get_object_or_404(Account.objects.select_related("csm_owner"), pk=pk)
    settings_row = services.qbr_settings_get(organization=request.tenant.organization)
    row = selectors.programme_row(programme, today=today) if programme else None
    proposals = []
    if programme is not None:
        proposals = rules.qbr_schedule_proposals(
            today=today,
            kickoff=programme.kickoff_date,
            renewal=programme.renewal_date,
            last_qbr=row.last_qbr,
            joined=timezone.localdate(programme.created_at),
        )
    return render(
        request,
        "qbr/account_qbr.html",
        {
            "account": account,
            "row": row,
            "threshold": settings_row.arr_threshold,
            "proposals": proposals,
            "meetings": selectors.account_meetings(account_id=account.pk),
            "requests": selectors.account_feature_requests(account_id=account.pk),
            "uptime_form": UptimeNoteForm(initial={"noted_on": today}),
            "today": today,
        },
    )


def _proposal_initial(request) -> dict:
    day = request.GET.get("date", "")
    initial = {"kind": request.GET.get("kind") if request.GET.get("kind") in MeetingKind.values else MeetingKind.QBR}
    try:
        # A naive local time on purpose: the form's datetime-local input shows it as is.
        initial["starts_at"] = datetime.combine(date.fromisoformat(day), time(10, 0))
    except ValueError:
        return initial
    return initial


@tenant_permission_required(Permission.QBR_WRITE)
def account_meeting_create(request, org_slug: str, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    organization = request.tenant.organization
    form = MeetingForm(
        request.POST or None, organization=organization, account=account, initial=_proposal_initial(request)
    )
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_create(tenant=request.tenant, account=account, **form.service_values())
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request, f"{meeting.title} scheduled for {timezone.localtime(meeting.starts_at):%-d %b %Y, %H:%M}."
            )
            return redirect(_meeting_url(org_slug, meeting))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "qbr/meeting_form.html",
        {"form": form, "account": account, "meeting": None, "reason": request.GET.get("reason", "")},
        status=status,
    )


@require_POST
@tenant_permission_required(Permission.QBR_WRITE)
def account_uptime_note_add(request, org_slug: str, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    form = UptimeNoteForm(request.POST)
    back = _back(request, reverse("account_qbr", kwargs={"org_slug": org_slug, "pk": pk}))
    if not form.is_valid():
        messages.error(request, "The uptime note was not added: give it a day and a text.")
        return redirect(back)
    services.uptime_note_add(tenant=request.tenant, account=account, **form.cleaned_data)
    messages.success(request, "Uptime note added; it shows in the data pack of the QBR covering that day.")
    return redirect(back)


@tenant_permission_required(Permission.QBR_WRITE)
def account_champion_change(request, org_slug: str, pk: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.select_related("csm_owner"), pk=pk)
    form = ChampionChangeForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            change = services.champion_change_record(tenant=request.tenant, account=account, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"{change.new_contact} is the new DRI. The checklist is in My work: introduction, shared "
                "channel, meeting invitations and the first meeting's goals.",
            )
            return redirect("account_qbr", org_slug=org_slug, pk=pk)
    return render(
        request,
        "qbr/champion_form.html",
        {
            "form": form,
            "account": account,
            "steps": [(title.format(name="the new DRI"), text, due) for _, title, text, due in services.CHAMPION_STEPS],
        },
        status=400 if request.method == "POST" else 200,
    )


# --- A meeting -------------------------------------------------------------------------------------------------


def _routine_agenda(meeting: Meeting, organization) -> list[tuple[str, object]]:
    """Seed 003, "Prepare for routine customer meeting": the five items of the CSM's agenda."""
    settings_row = services.qbr_settings_get(organization=organization)
    return [
        ("attendees", None),
        ("release_notes", settings_row),
        ("customer_version", None),
        ("follow_ups", selectors.open_follow_ups(meeting=meeting)),
        ("feature_requests", selectors.account_feature_requests(account_id=meeting.account_id)),
    ]


# Seed 003, "Conduct a health check".
HEALTH_CHECK_STEPS = [
    "Scheduled with the champion for a time their admins and daily users can join; take notes, record if possible.",
    "Ask them to share their screen and walk through their day-to-day use.",
    "Ask about the features they use to understand the why behind them. Try not to give guidance on this call.",
    "Afterwards, review the notes and write down the areas of improvement as findings for the QBR.",
]


def _alternatives(meeting: Meeting) -> list[datetime]:
    """Seed 004: "Suggest two to three options": the same time on the next three working days."""
    local = timezone.localtime(meeting.starts_at)
    days = rules.next_working_days(after=timezone.localdate(), count=3)
    return [timezone.make_aware(datetime.combine(day, local.time().replace(second=0, microsecond=0))) for day in days]


@tenant_permission_required(Permission.VIEW)
def meeting_detail(request, org_slug: str, pk: int) -> HttpResponse:
    try:
        meeting = selectors.meeting_for_page(pk=pk)
    except Meeting.DoesNotExist as exc:
        raise Http404("No such meeting.") from exc
    return render(request, "qbr/meeting_detail.html", _meeting_context(request, meeting))


def _meeting_context(request, meeting: Meeting, **forms) -> dict:
    organization = request.tenant.organization
    now = timezone.now()
    context = {
        "meeting": meeting,
        "account": meeting.account,
        "now": now,
        "goals": [
            (key, label, explanation, meeting.goal_outcomes.get(key, "")) for key, label, explanation in QBR_GOALS
        ],
        "action_items": selectors.meeting_action_items(meeting=meeting),
        "captured": selectors.meeting_requests(meeting=meeting),
        "shares": selectors.meeting_shares(meeting=meeting) if meeting.is_qbr else [],
        "outcomes_form": forms.get("outcomes_form")
        or OutcomesForm(
            kind=meeting.kind,
            initial={
                "notes": meeting.notes,
                "customer_feedback": meeting.customer_feedback,
                "features_in_use": meeting.features_in_use,
                "findings": meeting.findings,
                **{f"goal_{key}": value for key, value in meeting.goal_outcomes.items()},
            },
        ),
        "action_form": forms.get("action_form") or ActionItemForm(organization=organization),
        "capture_form": forms.get("capture_form") or CaptureRequestForm(),
        "outreach_form": OutreachForm(),
        "narrative_form": NarrativeForm(initial={"narrative": meeting.narrative}),
        "confirm_form": ConfirmForm(initial={"starts_at": timezone.localtime(meeting.starts_at).replace(tzinfo=None)}),
        "attendance_check_at": meeting.starts_at - rules.ATTENDANCE_CHECK_BEFORE,
        "missed_call": (
            meeting.status == MeetingStatus.SCHEDULED
            and meeting.customer_joined_at is None
            and now >= meeting.starts_at + rules.MISSED_CALL_AFTER
            and now <= meeting.starts_at + timedelta(minutes=meeting.duration_minutes)
        )
        or meeting.status == MeetingStatus.MISSED,
        "channels": OutreachChannel.choices,
        "tried": {attempt.channel for attempt in meeting.outreach_attempts.all()},
        "responses": CustomerResponse.choices,
        "new_share_url": request.session.pop(f"qbr-share-{meeting.pk}", None),
    }
    if context["missed_call"]:
        first_contact = next(iter(meeting.contacts.all()), None)
        organizer = meeting.organizer
        context["alternatives"] = _alternatives(meeting)
        context["missed_call_message"] = rules.missed_call_message(
            contact_name=first_contact.first_name if first_contact else "",
            organizer_name=(organizer.get_full_name() or organizer.email) if organizer else request.tenant.actor_label,
            starts_at=timezone.localtime(meeting.starts_at),
            alternatives=[timezone.localtime(moment) for moment in context["alternatives"]],
        )
    if meeting.is_qbr:
        context["pack"] = data_pack(
            account=meeting.account, start=meeting.period_start, end=meeting.period_end, now=now
        )
        context["health_check"] = selectors.latest_health_check(account_id=meeting.account_id, before=meeting.starts_at)
    if meeting.kind == MeetingKind.HEALTH_CHECK:
        context["health_check_steps"] = HEALTH_CHECK_STEPS
    if meeting.kind in (MeetingKind.ROUTINE, MeetingKind.DRI_INTRO):
        context["routine_agenda"] = _routine_agenda(meeting, organization)
    return context


@tenant_permission_required(Permission.QBR_WRITE)
def meeting_edit(request, org_slug: str, pk: int) -> HttpResponse:
    meeting = get_object_or_404(Meeting.objects.select_related("account"), pk=pk)
    initial = {
        "kind": meeting.kind,
        "title": meeting.title,
        "starts_at": timezone.localtime(meeting.starts_at).replace(tzinfo=None),
        "duration_minutes": meeting.duration_minutes,
        "organizer": meeting.organizer_id,
        "video_url": meeting.video_url,
        "contacts": list(meeting.contacts.all()),
        "members": list(meeting.members.all()),
        "agenda_text": "\n".join(meeting.agenda_items),
    }
    form = MeetingForm(
        request.POST or None, organization=request.tenant.organization, account=meeting.account, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_update(tenant=request.tenant, meeting=meeting, **form.service_values())
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Meeting saved.")
            return redirect(_meeting_url(org_slug, meeting))
    return render(
        request,
        "qbr/meeting_form.html",
        {"form": form, "account": meeting.account, "meeting": meeting},
        status=400 if request.method == "POST" else 200,
    )


def _post_service(request, org_slug: str, pk: int, call, success: str) -> HttpResponse:
    meeting = get_object_or_404(Meeting, pk=pk)
    try:
        call(meeting)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, success)
    return redirect(_back(request, _meeting_url(org_slug, meeting)))


@require_POST
@tenant_permission_required(Permission.QBR_WRITE)
def meeting_confirm(request, org_slug: str, pk: int) -> HttpResponse:
    form = ConfirmForm(request.POST)
    starts_at = form.cleaned_data["starts_at"] if form.is_valid() else None
    return _post_service(
        request,
        org_slug,
        pk,
        lambda meeting: services.meeting_confirm(tenant=request.tenant, meeting=meeting, starts_at=starts_at),
        "Confirmed: the QBR is scheduled. Download the invite and send it to the customer.",
    )


@require_POST
@tenant_permission_required(Permission.QBR_WRITE)
def meeting_status(request, org_slug: str, pk: int) -> HttpResponse:
    status = request.POST.get("status", "")
    label = MeetingStatus(status).label.lower() if status in MeetingStatus.values else status
    return _post_service(
        request,
        org_slug,
        pk,
        lambda meeting: services.meeting_status_set(tenant=request.tenant, meeting=meeting, status=status),
        f"Meeting marked {label}.",
    )


@require_POST
@tenant_permission_required(Permission.QBR_WRITE)
def meeting_response(request, org_slug: str, pk: int) -> HttpResponse:
    """The customer's answer to the invite, or "they joined" (which ends the missed-call flow)."""
    if request.POST.get("joined"):
        return _post_service(
            request,
            org_slug,
            pk,
            lambda meeting: services.meeting_customer_joined(tenant=request.tenant, meeting=meeting),
            "Noted: the customer joined.",
        )
    response = request.POST.get("customer_response", "")
    return _post_service(
        request,
        org_slug,
        pk,
        lambda meeting: services.meeting_customer_response_set(
            tenant=request.tenant, meeting=meeting, response=response
        ),
        "The customer's answer is noted.",
    )


@require_POST
@tenant_permission_required(Permission.QBR_WRITE)
def meeting_outreach(request, org_slug: str, pk: int) -> HttpResponse:
    form = OutreachForm(request.POST)
    if not form.is_valid():
        meeting = get_object_or_404(Meeting, pk=pk)
        messages.error(request, "Choose what you tried: Slack, email, LinkedIn, phone or alternative times.")
        return redirect(_meeting_url(org_slug, meeting))
    label = OutreachChannel(form.cleaned_data["channel"]).label
    return _post_service(
        request,
        org_slug,
        pk,
        lambda meeting: services.meeting_outreach_record(tenant=request.tenant, meeting=meeting, **form.cleaned_data),
        f"Recorded: {label}.",
    )


@require_POST
@tenant_permission_required(Permission.QBR_WRITE)
def meeting_outcomes(request, org_slug: str, pk: int) -> HttpResponse:
    meeting = get_object_or_404(Meeting, pk=pk)
    form = OutcomesForm(request.POST, kind=meeting.kind)
    if form.is_valid():
        try:
            services.meeting_outcomes_record(tenant=request.tenant, meeting=meeting, **form.service_values())
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Outcomes recorded; the meeting is marked held.")
            return redirect(_meeting_url(org_slug, meeting))
    meeting = selectors.meeting_for_page(pk=pk)
    return render(
        request, "qbr/meeting_detail.html", _meeting_context(request, meeting, outcomes_form=form), status=400
    )


@require_POST
@tenant_permission_required(Permission.QBR_WRITE)
def meeting_narrative(request, org_slug: str, pk: int) -> HttpResponse:
    form = NarrativeForm(request.POST)
    narrative = form.cleaned_data["narrative"] if form.is_valid() else ""
    return _post_service(
        request,
        org_slug,
        pk,
        lambda meeting: services.meeting_update(tenant=request.tenant, meeting=meeting, narrative=narrative),
        "Narrative saved.",
    )


@require_POST
@tenant_permission_required(Permission.QBR_WRITE)
def meeting_action_item(request, org_slug: str, pk: int) -> HttpResponse:
    meeting = get_object_or_404(Meeting, pk=pk)
    form = ActionItemForm(request.POST, organization=request.tenant.organization)
    if form.is_valid():
        try:
            task = services.meeting_action_item_add(tenant=request.tenant, meeting=meeting, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            owner = task.assignee.get_full_name() or task.assignee.email if task.assignee else "nobody"
            messages.success(request, f"Action item added for {owner}: {task.title}. It is in their My work.")
            return redirect(_meeting_url(org_slug, meeting) + "#action-items")
    meeting = selectors.meeting_for_page(pk=pk)
    return render(request, "qbr/meeting_detail.html", _meeting_context(request, meeting, action_form=form), status=400)


@require_POST
@tenant_permission_required(Permission.FEATURE_REQUEST_WRITE)
def meeting_capture_request(request, org_slug: str, pk: int) -> HttpResponse:
    """A request heard in the meeting becomes a tracked request on the account (seed 004, "Customer requests")."""
    meeting = get_object_or_404(Meeting.objects.select_related("account"), pk=pk)
    form = CaptureRequestForm(request.POST)
    if form.is_valid():
        existing = form.cleaned_data["existing"]
        if existing is not None:
            services.feature_request_account_add(
                tenant=request.tenant, feature_request=existing, account=meeting.account, meeting=meeting
            )
            request_title = existing.title
        else:
            created = services.feature_request_create(
                tenant=request.tenant,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                accounts=[meeting.account],
                meeting=meeting,
            )
            request_title = created.title
        messages.success(request, f"Feature request tracked for {meeting.account.name}: {request_title}.")
        return redirect(_meeting_url(org_slug, meeting) + "#requests")
    meeting = selectors.meeting_for_page(pk=pk)
    return render(request, "qbr/meeting_detail.html", _meeting_context(request, meeting, capture_form=form), status=400)


@require_POST
@tenant_permission_required(Permission.QBR_WRITE)
def meeting_share_create(request, org_slug: str, pk: int) -> HttpResponse:
    meeting = get_object_or_404(Meeting, pk=pk)
    try:
        share, token = services.meeting_share_create(tenant=request.tenant, meeting=meeting)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        # Shown once, on the next page: only the token's hash is stored.
        request.session[f"qbr-share-{meeting.pk}"] = request.build_absolute_uri(
            reverse("qbr_shared", kwargs={"token": token})
        )
        messages.success(
            request, f"Share link created; it works until {timezone.localtime(share.expires_at):%-d %b %Y}."
        )
    return redirect(_meeting_url(org_slug, meeting) + "#share")


@require_POST
@tenant_permission_required(Permission.QBR_WRITE)
def meeting_share_revoke(request, org_slug: str, pk: int) -> HttpResponse:
    meeting = get_object_or_404(Meeting, pk=pk)
    share_id = request.POST.get("share", "")
    share = get_object_or_404(MeetingShare, pk=int(share_id) if share_id.isdigit() else 0, meeting=meeting)
    services.meeting_share_revoke(tenant=request.tenant, share=share)
    messages.success(request, "Share link revoked: it now answers 'not found'.")
    return redirect(_meeting_url(org_slug, meeting) + "#share")


@tenant_permission_required(Permission.VIEW)
def meeting_ics(request, org_slug: str, pk: int) -> HttpResponse:
    from qbr.invites import meeting_invite

    meeting = get_object_or_404(
        Meeting.objects.select_related("account", "organizer").prefetch_related("contacts", "members"), pk=pk
    )
    body = meeting_invite(meeting=meeting, page_url=request.build_absolute_uri(_meeting_url(org_slug, meeting)))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8; method=REQUEST")
    response["Content-Disposition"] = f'attachment; filename="meeting-{meeting.pk}.ics"'
    return response


@tenant_permission_required(Permission.VIEW)
def meeting_pdf(request, org_slug: str, pk: int) -> HttpResponse:
    from qbr.pdf import qbr_pdf

    meeting = get_object_or_404(
        Meeting.objects.select_related("account").prefetch_related("contacts", "members"), pk=pk, kind=MeetingKind.QBR
    )
    pack = data_pack(account=meeting.account, start=meeting.period_start, end=meeting.period_end)
    body = qbr_pdf(meeting=meeting, pack=pack, action_items=selectors.meeting_action_items(meeting=meeting))
    response = HttpResponse(body, content_type="application/pdf")
    day = timezone.localtime(meeting.starts_at)
    response["Content-Disposition"] = (
        f'attachment; filename="qbr-{meeting.account.codename}-{day:%Y-%m-%d}.pdf"'.replace(" ", "-")
    )
    return response


@require_GET
def qbr_shared(request, token: str) -> HttpResponse:
    """The customer's read-only page: no sign-in, nothing editable; 404 once expired or revoked."""
    share = selectors.shared_meeting_for_token(token=token)
    if share is None:
        raise Http404("This link has expired or was revoked.")
    organization = share.organization
    with tenant_scope(organization), timezone.override(organization.timezone):
        meeting = selectors.meeting_for_page(pk=share.meeting_id)
        context = {
            "meeting": meeting,
            "account": meeting.account,
            "organization_name": organization.name,
            "goals": [
                (key, label, explanation, meeting.goal_outcomes.get(key, "")) for key, label, explanation in QBR_GOALS
            ],
            "pack": data_pack(account=meeting.account, start=meeting.period_start, end=meeting.period_end),
            "action_items": selectors.meeting_action_items(meeting=meeting),
            "expires_at": share.expires_at,
        }
        response = render(request, "qbr/shared.html", context)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Feature requests ------------------------------------------------------------------------------------------


@tenant_permission_required(Permission.VIEW)
def feature_request_list(request, org_slug: str) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in FeatureRequestStatus.values else ""
    search = request.GET.get("search", "").strip()
    requests = list(selectors.feature_request_list(status=status, search=search).order_by("-updated_at", "-id")[:200])
    return render(
        request,
        "qbr/feature_request_list.html",
        {
            "requests": requests,
            "statuses": FeatureRequestStatus.choices,
            "status": status,
            "search": search,
            "is_filtered": bool(status or search),
        },
    )


@tenant_permission_required(Permission.FEATURE_REQUEST_WRITE)
def feature_request_create(request, org_slug: str) -> HttpResponse:
    form = FeatureRequestForm(request.POST or None)
    asker = AddAskerForm(request.POST or None, prefix="asker")
    if request.method == "POST" and form.is_valid():
        accounts = [asker.cleaned_data["account"]] if asker.is_valid() else []
        try:
            created = services.feature_request_create(tenant=request.tenant, accounts=accounts, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"Request created: {created.title}.")
            return redirect("feature_request_detail", org_slug=org_slug, pk=created.pk)
    return render(
        request,
        "qbr/feature_request_form.html",
        {"form": form, "asker_form": asker, "feature_request": None},
        status=400 if request.method == "POST" else 200,
    )


@tenant_permission_required(Permission.VIEW)
def feature_request_detail(request, org_slug: str, pk: int) -> HttpResponse:
    feature_request = get_object_or_404(selectors.feature_request_list(), pk=pk)
    form = FeatureRequestForm(request.POST or None, instance=feature_request)
    if request.method == "POST":
        if not request.tenant.can(Permission.FEATURE_REQUEST_WRITE):
            raise PermissionDenied("Your role in this organization may not do this.")
        if form.is_valid():
            try:
                services.feature_request_update(
                    tenant=request.tenant, feature_request=feature_request, **form.cleaned_data
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, "Request saved.")
                return redirect("feature_request_detail", org_slug=org_slug, pk=pk)
        feature_request.refresh_from_db()
    return render(
        request,
        "qbr/feature_request_detail.html",
        {
            "feature_request": feature_request,
            "form": form,
            "asker_form": AddAskerForm(),
            "events": list(feature_request.events.order_by("-created_at", "-id")[:100]),
            "follow_ups": [
                link.task
                for link in feature_request.task_links.select_related("task", "task__assignee", "task__account")
            ],
            "statuses": FeatureRequestStatus.choices,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@tenant_permission_required(Permission.FEATURE_REQUEST_WRITE)
def feature_request_status(request, org_slug: str, pk: int) -> HttpResponse:
    feature_request = get_object_or_404(FeatureRequest, pk=pk)
    form = FeatureRequestStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the statuses.")
    else:
        before = set(feature_request.task_links.values_list("pk", flat=True))
        services.feature_request_update(tenant=request.tenant, feature_request=feature_request, **form.cleaned_data)
        made = feature_request.task_links.exclude(pk__in=before).count()
        text = f"Status: {FeatureRequestStatus(form.cleaned_data['status']).label}."
        if made:
            plural = "s" if made != 1 else ""
            text += f" {made} CSM task{plural} to bring it back to the customer{plural}."
        messages.success(request, text)
    return redirect(_back(request, reverse("feature_request_detail", kwargs={"org_slug": org_slug, "pk": pk})))


@require_POST
@tenant_permission_required(Permission.FEATURE_REQUEST_WRITE)
def feature_request_add_account(request, org_slug: str, pk: int) -> HttpResponse:
    feature_request = get_object_or_404(FeatureRequest, pk=pk)
    form = AddAskerForm(request.POST)
    if form.is_valid():
        services.feature_request_account_add(
            tenant=request.tenant, feature_request=feature_request, account=form.cleaned_data["account"]
        )
        messages.success(request, f"{form.cleaned_data['account'].name} asks for it too.")
    else:
        messages.error(request, "Choose an account of this organization.")
    return redirect("feature_request_detail", org_slug=org_slug, pk=pk)


# --- Settings --------------------------------------------------------------------------------------------------


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def qbr_settings(request, org_slug: str) -> HttpResponse:
    settings_row = services.qbr_settings_get(organization=request.tenant.organization)
    form = QbrSettingsForm(request.POST or None, instance=settings_row)
    if request.method == "POST" and form.is_valid():
        try:
            services.qbr_settings_update(tenant=request.tenant, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "QBR settings saved.")
            return redirect("qbr_settings", org_slug=org_slug)
    return render(request, "qbr/settings.html", {"form": form}, status=400 if request.method == "POST" else 200)
