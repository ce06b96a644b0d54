"""Writes of the qbr app: the programme's settings, meetings and what happens around them, feature requests.

Every refusal is a ValidationError keyed by the field to fix (the form shows it beside the field, the API answers
400 naming it); every change writes an audit entry. Tasks are lifecycle Tasks, made through lifecycle.services and
tied here by a QbrTaskLink whose unique key makes a rule's task exist once.
"""

import hashlib
import secrets
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Account, Contact
from accounts.selectors import organization_member_users
from core.models import Organization, Role
from core.services import audit_record, field_changes, printable_value
from core.tenancy import Tenant
from qbr import rules
from qbr.models import (
    QBR_GOAL_KEYS,
    ChampionChange,
    CustomerResponse,
    FeatureRequest,
    FeatureRequestAccount,
    FeatureRequestEvent,
    FeatureRequestStatus,
    Meeting,
    MeetingKind,
    MeetingShare,
    MeetingStatus,
    OutreachAttempt,
    OutreachChannel,
    QbrSettings,
    QbrTaskLink,
    UptimeNote,
)


def system_tenant(organization: Organization) -> Tenant:
    """Who acts for the schedule and the 48-hour check: nobody in particular ("System" in the history)."""
    return Tenant(organization=organization, role=Role.ADMIN)


# --- Settings --------------------------------------------------------------------------------------------------


def qbr_settings_get(*, organization: Organization) -> QbrSettings:
    settings_row = QbrSettings.objects.filter(organization=organization).first()
    if settings_row is None:
        settings_row, _ = QbrSettings.objects.get_or_create(organization=organization)
    return settings_row


QBR_SETTING_FIELDS = ("arr_threshold", "share_link_days", "latest_version", "release_notes")


@transaction.atomic
def qbr_settings_update(*, tenant: Tenant, **values: Any) -> QbrSettings:
    settings_row = qbr_settings_get(organization=tenant.organization)
    values = {key: value for key, value in values.items() if key in QBR_SETTING_FIELDS}
    changes = field_changes(settings_row, values, QBR_SETTING_FIELDS)
    for key, value in values.items():
        setattr(settings_row, key, value)
    settings_row.full_clean(exclude=["organization"])
    settings_row.save()
    if changes:
        audit_record(tenant=tenant, action="qbr_settings.updated", obj=settings_row, changes=changes)
    return settings_row


# --- Meetings --------------------------------------------------------------------------------------------------

MEETING_FIELDS = (
    "kind",
    "title",
    "starts_at",
    "duration_minutes",
    "organizer",
    "video_url",
    "agenda_items",
    "period_start",
    "period_end",
    "narrative",
    "notes",
    "goal_outcomes",
    "customer_feedback",
    "features_in_use",
    "findings",
    "customer_response",
)


def _clean_agenda(items: Iterable[str] | None) -> list[str]:
    return [item.strip() for item in (items or []) if item and item.strip()][:30]


def _check_people(tenant: Tenant, account: Account, contacts, members, organizer, errors: dict) -> None:
    member_ids = set(organization_member_users(organization=tenant.organization).values_list("pk", flat=True))
    if organizer is not None and organizer.pk not in member_ids:
        errors["organizer"] = ["Choose a member of this organization."]
    if any(member.pk not in member_ids for member in members or []):
        errors["members"] = ["Everyone on our side must be a member of this organization."]
    strangers = [contact for contact in contacts or [] if contact.account_id != account.pk]
    if strangers:
        errors["contacts"] = [f"{strangers[0]} is not a contact of {account.name}."]


def _default_period(starts_at: datetime) -> tuple[date, date]:
    """A QBR reviews the quarter before it (seed 003: "data on open and closed bugs from the previous quarter")."""
    end = timezone.localdate(starts_at)
    return end - rules.QUARTER, end


def _default_title(kind: str, account: Account) -> str:
    return f"{MeetingKind(kind).label}: {account.name}"


def _goal_outcomes(raw: dict | None) -> dict[str, str]:
    raw = raw or {}
    unknown = [key for key in raw if key not in QBR_GOAL_KEYS]
    if unknown:
        raise ValidationError({"goal_outcomes": [f"'{unknown[0]}' is not one of the five QBR goals."]})
    return {key: (raw.get(key) or "").strip() for key in QBR_GOAL_KEYS if (raw.get(key) or "").strip()}


@transaction.atomic
def meeting_create(
    *,
    tenant: Tenant,
    account: Account,
    starts_at: datetime,
    kind: str = MeetingKind.QBR,
    title: str = "",
    duration_minutes: int = 60,
    organizer=None,
    contacts: Iterable[Contact] = (),
    members: Iterable = (),
    video_url: str = "",
    agenda_items: Iterable[str] = (),
    period_start: date | None = None,
    period_end: date | None = None,
    status: str = MeetingStatus.SCHEDULED,
    proposal_reason: str = "",
    **values: Any,
) -> Meeting:
    """Schedules a meeting (or records the schedule's proposal). A QBR covers the quarter before it by default."""
    contacts, members = list(contacts or []), list(members or [])
    organizer = organizer or tenant.member or account.csm_owner
    errors: dict[str, list[str]] = {}
    if kind not in MeetingKind.values:
        errors["kind"] = [f"'{kind}' is not a kind of meeting."]
    if starts_at is None:
        errors["starts_at"] = ["When does it start?"]
    _check_people(tenant, account, contacts, members, organizer, errors)
    if errors:
        raise ValidationError(errors)
    if kind == MeetingKind.QBR and (period_start is None or period_end is None):
        default_start, default_end = _default_period(starts_at)
        period_start, period_end = period_start or default_start, period_end or default_end
    if period_start and period_end and period_start > period_end:
        raise ValidationError({"period_start": ["The quarter starts before it ends."]})
    meeting = Meeting(
        organization=tenant.organization,
        account=account,
        kind=kind,
        title=(title or "").strip() or _default_title(kind, account),
        status=status,
        starts_at=starts_at,
        duration_minutes=duration_minutes or 60,
        organizer=organizer,
        video_url=(video_url or "").strip(),
        agenda_items=_clean_agenda(agenda_items),
        period_start=period_start,
        period_end=period_end,
        proposal_reason=proposal_reason[:200],
        created_by=tenant.member,
    )
    for key in ("narrative", "notes", "customer_feedback", "features_in_use", "findings"):
        if key in values:
            setattr(meeting, key, (values[key] or "").strip())
    if values.get("goal_outcomes"):
        meeting.goal_outcomes = _goal_outcomes(values["goal_outcomes"])
    if values.get("customer_response"):
        meeting.customer_response = values["customer_response"]
    meeting.full_clean(exclude=["organization", "account", "organizer", "created_by"])
    if kind == MeetingKind.QBR and status == MeetingStatus.SCHEDULED:
        # The CSM chose a date: the schedule's open proposal for this account is withdrawn, not left to linger.
        for proposal in Meeting.objects.filter(account=account, kind=MeetingKind.QBR, status=MeetingStatus.PROPOSED):
            meeting_status_set(tenant=tenant, meeting=proposal, status=MeetingStatus.CANCELLED)
    try:
        with transaction.atomic():
            meeting.save()
    except IntegrityError as exc:  # a second open proposal (the schedule's constraint)
        raise ValidationError({"status": ["This account already has a proposed QBR: confirm or cancel it."]}) from exc
    meeting.contacts.set(contacts)
    meeting.members.set(members)
    audit_record(
        tenant=tenant,
        action="meeting.proposed" if status == MeetingStatus.PROPOSED else "meeting.scheduled",
        obj=meeting,
        changes={"kind": [None, kind], "starts_at": [None, printable_value(starts_at)]},
        account_id=account.pk,
    )
    return meeting


@transaction.atomic
def meeting_update(*, tenant: Tenant, meeting: Meeting, **values: Any) -> Meeting:
    """Edits a meeting. A new time needs a new answer from the customer and a new 48-hour check (seed 004)."""
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    contacts = values.pop("contacts", None)
    members = values.pop("members", None)
    status = values.pop("status", None)
    values = {key: value for key, value in values.items() if key in MEETING_FIELDS}
    if "agenda_items" in values:
        values["agenda_items"] = _clean_agenda(values["agenda_items"])
    if "goal_outcomes" in values:
        values["goal_outcomes"] = _goal_outcomes(values["goal_outcomes"])
    for key in ("title", "video_url", "narrative", "notes", "customer_feedback", "features_in_use", "findings"):
        if key in values:
            values[key] = (values[key] or "").strip()
    if values.get("title") == "":
        values["title"] = _default_title(values.get("kind", meeting.kind), meeting.account)
    errors: dict[str, list[str]] = {}
    _check_people(tenant, meeting.account, contacts, members, values.get("organizer"), errors)
    if errors:
        raise ValidationError(errors)
    changes = field_changes(meeting, values, MEETING_FIELDS)
    had_default_period = (meeting.period_start, meeting.period_end) == _default_period(meeting.starts_at)
    for key, value in values.items():
        setattr(meeting, key, value)
    if meeting.kind == MeetingKind.QBR and (
        meeting.period_start is None
        or meeting.period_end is None
        or (had_default_period and "starts_at" in changes and not {"period_start", "period_end"} & set(values))
    ):
        # A QBR always reviews a quarter: the one before it, unless the CSM chose another.
        meeting.period_start, meeting.period_end = _default_period(meeting.starts_at)
    if "starts_at" in changes:
        meeting.attendance_checked_at = None
        meeting.customer_joined_at = None
        if "customer_response" not in changes:
            meeting.customer_response = CustomerResponse.PENDING
    if meeting.period_start and meeting.period_end and meeting.period_start > meeting.period_end:
        raise ValidationError({"period_start": ["The quarter starts before it ends."]})
    meeting.full_clean(exclude=["organization", "account", "organizer", "created_by"])
    meeting.save()
    if contacts is not None:
        meeting.contacts.set(contacts)
    if members is not None:
        meeting.members.set(members)
    if changes:
        audit_record(
            tenant=tenant, action="meeting.updated", obj=meeting, changes=changes, account_id=meeting.account_id
        )
    if status is not None and status != meeting.status:
        meeting = meeting_status_set(tenant=tenant, meeting=meeting, status=status)
    return meeting


_STATUS_MOVES = {
    MeetingStatus.PROPOSED: {MeetingStatus.SCHEDULED, MeetingStatus.CANCELLED},
    MeetingStatus.SCHEDULED: {MeetingStatus.HELD, MeetingStatus.MISSED, MeetingStatus.CANCELLED},
    MeetingStatus.MISSED: {MeetingStatus.SCHEDULED, MeetingStatus.CANCELLED},
    MeetingStatus.HELD: set(),
    MeetingStatus.CANCELLED: {MeetingStatus.SCHEDULED},
}


@transaction.atomic
def meeting_status_set(*, tenant: Tenant, meeting: Meeting, status: str) -> Meeting:
    """Proposed → scheduled (the CSM confirms), scheduled → held, missed or cancelled. A held meeting stays held."""
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if status == meeting.status:
        return meeting
    if status not in MeetingStatus.values:
        raise ValidationError({"status": [f"'{status}' is not a meeting status."]})
    if status not in _STATUS_MOVES[meeting.status]:
        raise ValidationError(
            {
                "status": [
                    f"A {meeting.get_status_display().lower()} meeting cannot become "
                    f"{MeetingStatus(status).label.lower()}."
                ]
            }
        )
    before = meeting.status
    meeting.status = status
    if status == MeetingStatus.HELD:
        meeting.held_at = timezone.now()
    if status == MeetingStatus.SCHEDULED and before in (MeetingStatus.MISSED, MeetingStatus.CANCELLED):
        meeting.attendance_checked_at = meeting.customer_joined_at = None
    try:
        with transaction.atomic():
            meeting.save()
    except IntegrityError as exc:  # a second open proposal for the account
        raise ValidationError({"status": ["This account already has a proposed QBR: confirm or cancel it."]}) from exc
    audit_record(
        tenant=tenant,
        action=f"meeting.{status}",
        obj=meeting,
        changes={"status": [before, status]},
        account_id=meeting.account_id,
    )
    return meeting


@transaction.atomic
def meeting_confirm(*, tenant: Tenant, meeting: Meeting, starts_at: datetime | None = None) -> Meeting:
    """The CSM confirms a proposed date (seed 003: "the schedule proposes dates, the CSM confirms"), maybe moved."""
    if meeting.status != MeetingStatus.PROPOSED:
        raise ValidationError({"status": ["Only a proposed meeting is confirmed; this one is not a proposal."]})
    if starts_at is not None and starts_at != meeting.starts_at:
        meeting = meeting_update(tenant=tenant, meeting=meeting, starts_at=starts_at)
    return meeting_status_set(tenant=tenant, meeting=meeting, status=MeetingStatus.SCHEDULED)


def meeting_delete(*, tenant: Tenant, meeting: Meeting) -> None:
    audit_record(tenant=tenant, action="meeting.deleted", obj=meeting, account_id=meeting.account_id)
    meeting.delete()


@transaction.atomic
def meeting_customer_response_set(*, tenant: Tenant, meeting: Meeting, response: str) -> Meeting:
    if response not in CustomerResponse.values:
        raise ValidationError({"customer_response": [f"'{response}' is not an answer."]})
    return meeting_update(tenant=tenant, meeting=meeting, customer_response=response)


@transaction.atomic
def meeting_customer_joined(*, tenant: Tenant, meeting: Meeting) -> Meeting:
    """The customer is in the call: the missed-call flow is not needed."""
    claimed = Meeting.objects.filter(pk=meeting.pk, customer_joined_at__isnull=True).update(
        customer_joined_at=timezone.now()
    )
    meeting.refresh_from_db()
    if claimed:
        audit_record(tenant=tenant, action="meeting.customer_joined", obj=meeting, account_id=meeting.account_id)
    return meeting


@transaction.atomic
def meeting_outreach_record(*, tenant: Tenant, meeting: Meeting, channel: str, note: str = "") -> OutreachAttempt:
    """Seed 004, "Missed customer call": each channel tried is written down, with what was said."""
    if channel not in OutreachChannel.values:
        raise ValidationError({"channel": [f"'{channel}' is not one of the outreach channels."]})
    if meeting.status not in (MeetingStatus.SCHEDULED, MeetingStatus.MISSED):
        raise ValidationError({"channel": ["Outreach is for a scheduled meeting the customer has not joined."]})
    attempt = OutreachAttempt.objects.create(
        organization=tenant.organization,
        meeting=meeting,
        channel=channel,
        note=(note or "").strip(),
        attempted_by=tenant.member,
        attempted_at=timezone.now(),
    )
    audit_record(
        tenant=tenant,
        action="meeting.outreach_recorded",
        obj=meeting,
        changes={"channel": [None, channel]},
        account_id=meeting.account_id,
    )
    return attempt


@transaction.atomic
def meeting_outcomes_record(
    *,
    tenant: Tenant,
    meeting: Meeting,
    notes: str = "",
    goal_outcomes: dict | None = None,
    customer_feedback: str = "",
    features_in_use: str = "",
    findings: str = "",
    mark_held: bool = True,
) -> Meeting:
    """After the meeting: notes, an outcome per QBR goal (seed 000), feedback; a health check's findings (seed 003)."""
    values: dict[str, Any] = {"notes": notes, "customer_feedback": customer_feedback}
    if meeting.kind == MeetingKind.QBR:
        values["goal_outcomes"] = goal_outcomes or {}
    if meeting.kind == MeetingKind.HEALTH_CHECK:
        values.update(features_in_use=features_in_use, findings=findings)
    meeting = meeting_update(tenant=tenant, meeting=meeting, **values)
    if mark_held and meeting.status in (MeetingStatus.SCHEDULED, MeetingStatus.MISSED):
        if meeting.status == MeetingStatus.MISSED:
            meeting = meeting_status_set(tenant=tenant, meeting=meeting, status=MeetingStatus.SCHEDULED)
        meeting = meeting_status_set(tenant=tenant, meeting=meeting, status=MeetingStatus.HELD)
    return meeting


def _linked_task(
    *,
    tenant: Tenant,
    key: str,
    kind: str,
    account: Account,
    title: str,
    assignee,
    due_date: date | None,
    description: str = "",
    meeting: Meeting | None = None,
    feature_request: FeatureRequest | None = None,
    champion_change: ChampionChange | None = None,
):
    """Makes the task behind `key` once: a second call (a redelivered task, a double click) finds it and stops."""
    from lifecycle.services import task_create

    existing = QbrTaskLink.objects.filter(key=key).select_related("task").first()
    if existing is not None:
        return existing.task, False
    try:
        with transaction.atomic():
            task = task_create(
                tenant=tenant,
                account=account,
                title=title[:200],
                assignee=assignee,
                due_date=due_date,
                description=description,
            )
            QbrTaskLink.objects.create(
                organization=tenant.organization,
                key=key,
                kind=kind,
                task=task,
                meeting=meeting,
                feature_request=feature_request,
                champion_change=champion_change,
            )
    except IntegrityError:  # another worker made it between the look and the insert
        return QbrTaskLink.objects.select_related("task").get(key=key).task, False
    return task, True


@transaction.atomic
def meeting_action_item_add(*, tenant: Tenant, meeting: Meeting, title: str, assignee=None, due_date=None):
    """An action item with an owner and a due date: a task in the owner's "My work"."""
    if not (title or "").strip():
        raise ValidationError({"title": ["Say what needs doing."]})
    assignee = assignee or tenant.member or meeting.organizer
    # Every action item is its own task: the key only has to be unique.
    task, _ = _linked_task(
        tenant=tenant,
        key=f"action:{meeting.pk}:{secrets.token_hex(8)}",
        kind=QbrTaskLink.Kind.ACTION_ITEM,
        account=meeting.account,
        title=title.strip(),
        assignee=assignee,
        due_date=due_date,
        meeting=meeting,
        description=f"From {meeting.title} on {timezone.localtime(meeting.starts_at):%-d %b %Y}.",
    )
    return task


def meeting_attendance_check(*, meeting: Meeting, now: datetime | None = None):
    """Seed 004: 48 hours before, has the customer accepted? If not, the organizer gets a task to confirm attendance.

    Claimed by compare-and-set on `attendance_checked_at`, and the task's key names the meeting's start, so two
    workers, a redelivery or a second beat tick make one task.
    """
    now = now or timezone.now()
    if meeting.status != MeetingStatus.SCHEDULED or not now < meeting.starts_at <= now + rules.ATTENDANCE_CHECK_BEFORE:
        return None
    with transaction.atomic():
        claimed = Meeting.objects.filter(
            pk=meeting.pk, attendance_checked_at__isnull=True, starts_at=meeting.starts_at
        ).update(attendance_checked_at=now)
        if not claimed:
            return None
        if meeting.customer_response == CustomerResponse.ACCEPTED:
            return None
        tenant = system_tenant(meeting.organization)
        local_start = timezone.localtime(meeting.starts_at)
        task, _ = _linked_task(
            tenant=tenant,
            key=f"attendance:{meeting.pk}:{meeting.starts_at:%Y%m%dT%H%M}",
            kind=QbrTaskLink.Kind.CONFIRM_ATTENDANCE,
            account=meeting.account,
            title=f"Confirm attendance: {meeting.title}",
            assignee=meeting.organizer or meeting.account.csm_owner,
            due_date=timezone.localdate(now),
            meeting=meeting,
            description=(
                f"The customer has not accepted the invitation for {local_start:%A %-d %B, %H:%M}. Seed 004: reach "
                "out to confirm attendance (their EA, email, Slack), test the video link, and make sure the agenda "
                "is attached and accessible."
            ),
        )
        return task


def _share_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def meeting_share_create(*, tenant: Tenant, meeting: Meeting) -> tuple[MeetingShare, str]:
    """A read-only link for the customer (seed 003: "share it with your customer"); the token is shown once."""
    if meeting.kind != MeetingKind.QBR:
        raise ValidationError({"meeting": ["Only a QBR is shared with the customer."]})
    days = qbr_settings_get(organization=tenant.organization).share_link_days
    token = secrets.token_urlsafe(32)
    share = MeetingShare.objects.create(
        organization=tenant.organization,
        meeting=meeting,
        token_hash=_share_token_hash(token),
        expires_at=timezone.now() + timedelta(days=days),
        created_by=tenant.member,
    )
    audit_record(
        tenant=tenant,
        action="meeting.shared",
        obj=meeting,
        changes={"expires_at": [None, printable_value(share.expires_at)]},
        account_id=meeting.account_id,
    )
    return share, token


@transaction.atomic
def meeting_share_revoke(*, tenant: Tenant, share: MeetingShare) -> MeetingShare:
    if share.revoked_at is None:
        share.revoked_at = timezone.now()
        share.save(update_fields=["revoked_at"])
        audit_record(
            tenant=tenant, action="meeting.share_revoked", obj=share.meeting, account_id=share.meeting.account_id
        )
    return share


# --- The schedule ----------------------------------------------------------------------------------------------


def qbr_proposals_create(*, organization: Organization, today: date | None = None) -> list[Meeting]:
    """Proposes the next QBR of every programme account that has none proposed or scheduled (seeds 000 and 003).

    One open proposal per account (a unique constraint), so running it again, or twice at once, adds nothing.
    """
    from qbr.selectors import programme_accounts

    today = today or timezone.localdate()
    tenant = system_tenant(organization)
    created = []
    for account in programme_accounts(today=today).filter(next_qbr_at__isnull=True).select_related("csm_owner"):
        proposals = rules.qbr_schedule_proposals(
            today=today,
            kickoff=account.kickoff_date,
            renewal=account.renewal_date,
            last_qbr=timezone.localdate(account.last_qbr_at) if account.last_qbr_at else None,
            joined=timezone.localdate(account.created_at),
        )
        first = proposals[0]
        starts_at = timezone.make_aware(datetime.combine(first.day, time(10, 0)))
        try:
            with transaction.atomic():
                created.append(
                    meeting_create(
                        tenant=tenant,
                        account=account,
                        starts_at=starts_at,
                        kind=MeetingKind.QBR,
                        organizer=account.csm_owner,
                        status=MeetingStatus.PROPOSED,
                        proposal_reason=first.reason,
                    )
                )
        except (IntegrityError, ValidationError):
            continue  # proposed meanwhile by another run (the one-open-proposal constraint)
    return created


# --- Feature requests ------------------------------------------------------------------------------------------

FEATURE_REQUEST_FIELDS = ("title", "description", "status", "tracker_url")


def _log(tenant: Tenant, request: FeatureRequest, text: str, *, from_status: str = "", to_status: str = "") -> None:
    FeatureRequestEvent.objects.create(
        organization=tenant.organization,
        request=request,
        text=text[:500],
        from_status=from_status,
        to_status=to_status,
        actor_label=tenant.actor_label,
        created_at=timezone.now(),
    )


@transaction.atomic
def feature_request_create(
    *,
    tenant: Tenant,
    title: str,
    description: str = "",
    status: str = FeatureRequestStatus.NEW,
    tracker_url: str = "",
    accounts: Iterable[Account] = (),
    meeting: Meeting | None = None,
) -> FeatureRequest:
    """Seed 004, "Customer requests": one request, however many accounts ask for it."""
    request = FeatureRequest(
        organization=tenant.organization,
        title=(title or "").strip(),
        description=(description or "").strip(),
        status=FeatureRequestStatus.NEW,
        tracker_url=(tracker_url or "").strip(),
        created_by=tenant.member,
    )
    if not request.title:
        raise ValidationError({"title": ["Give the request a title the product team will recognise."]})
    request.full_clean(exclude=["organization", "created_by"])
    request.save()
    audit_record(tenant=tenant, action="feature_request.created", obj=request, changes={"title": [None, request.title]})
    _log(tenant, request, "Request created", to_status=FeatureRequestStatus.NEW)
    for account in accounts or []:
        feature_request_account_add(tenant=tenant, feature_request=request, account=account, meeting=meeting)
    if status != FeatureRequestStatus.NEW:
        request = feature_request_update(tenant=tenant, feature_request=request, status=status)
    return request


@transaction.atomic
def feature_request_update(*, tenant: Tenant, feature_request: FeatureRequest, **values: Any) -> FeatureRequest:
    """Edits a request; a status change is logged, and shipping it asks each asking account's CSM to bring it back."""
    request = FeatureRequest.objects.select_for_update().get(pk=feature_request.pk)
    accounts = values.pop("accounts", None)
    values = {key: value for key, value in values.items() if key in FEATURE_REQUEST_FIELDS}
    for key in ("title", "description", "tracker_url"):
        if key in values:
            values[key] = (values[key] or "").strip()
    if values.get("title") == "":
        raise ValidationError({"title": ["Give the request a title the product team will recognise."]})
    if "status" in values and values["status"] not in FeatureRequestStatus.values:
        raise ValidationError({"status": [f"'{values['status']}' is not a request status."]})
    changes = field_changes(request, values, FEATURE_REQUEST_FIELDS)
    before = request.status
    for key, value in values.items():
        setattr(request, key, value)
    if request.status == FeatureRequestStatus.SHIPPED and request.shipped_at is None:
        request.shipped_at = timezone.now()
    request.full_clean(exclude=["organization", "created_by"])
    request.save()
    if changes:
        audit_record(tenant=tenant, action="feature_request.updated", obj=request, changes=changes)
    if "status" in changes:
        _log(
            tenant,
            request,
            f"Status: {FeatureRequestStatus(before).label} → {request.get_status_display()}",
            from_status=before,
            to_status=request.status,
        )
    if accounts is not None:
        for account in accounts:
            feature_request_account_add(tenant=tenant, feature_request=request, account=account)
    if request.status == FeatureRequestStatus.SHIPPED:
        feature_request_shipped_follow_ups(tenant=tenant, feature_request=request)
    return request


@transaction.atomic
def feature_request_account_add(
    *, tenant: Tenant, feature_request: FeatureRequest, account: Account, meeting: Meeting | None = None
) -> FeatureRequestAccount:
    """Another account asks for the same thing: it joins the request (once) and the log says so."""
    asker, created = FeatureRequestAccount.objects.get_or_create(
        organization=tenant.organization,
        request=feature_request,
        account=account,
        defaults={"meeting": meeting, "added_at": timezone.now()},
    )
    if created:
        _log(tenant, feature_request, f"{account.name} asks for it" + (f" (in {meeting.title})" if meeting else ""))
        audit_record(
            tenant=tenant,
            action="feature_request.account_added",
            obj=feature_request,
            changes={"account": [None, account.name]},
            account_id=account.pk,
        )
        # The caller's copy may be older than a status change: ask the database.
        shipped = FeatureRequest.objects.filter(pk=feature_request.pk, status=FeatureRequestStatus.SHIPPED).exists()
        if shipped:
            feature_request_shipped_follow_ups(tenant=tenant, feature_request=feature_request)
    return asker


def feature_request_shipped_follow_ups(*, tenant: Tenant, feature_request: FeatureRequest) -> list:
    """Seed 003, "Communicate feedback on prioritized customer requests": after release the CSM brings the
    improvement to the customer for feedback. One task per asking account, ever (the link's key), for its CSM
    (or, with no CSM on the account, whoever shipped it)."""
    tasks = []
    for asker in feature_request.askers.select_related("account", "account__csm_owner"):
        account = asker.account
        task, created = _linked_task(
            tenant=tenant,
            key=f"shipped:{feature_request.pk}:{account.pk}",
            kind=QbrTaskLink.Kind.REQUEST_SHIPPED,
            account=account,
            title=f"Bring the shipped request back to {account.name}: {feature_request.title}",
            assignee=account.csm_owner or tenant.member,
            due_date=timezone.localdate() + timedelta(days=7),
            feature_request=feature_request,
            description=(
                "Seed 003: show the released improvement to the customer and ask for feedback. If it meets their "
                "needs, close the request with a comment; if something is missing, add their feedback (a snippet, a "
                "Slack thread or meeting notes) to the request."
                + (f"\n{feature_request.tracker_url}" if feature_request.tracker_url else "")
            ),
        )
        if created:
            tasks.append(task)
    return tasks


def feature_request_delete(*, tenant: Tenant, feature_request: FeatureRequest) -> None:
    audit_record(tenant=tenant, action="feature_request.deleted", obj=feature_request)
    feature_request.delete()


# --- Uptime notes and champion changes -------------------------------------------------------------------------


@transaction.atomic
def uptime_note_add(*, tenant: Tenant, account: Account, body: str, noted_on: date | None = None) -> UptimeNote:
    if not (body or "").strip():
        raise ValidationError({"body": ["Write what happened: uptime, outages, alarms."]})
    note = UptimeNote.objects.create(
        organization=tenant.organization,
        account=account,
        body=body.strip(),
        noted_on=noted_on or timezone.localdate(),
        author=tenant.member,
    )
    audit_record(tenant=tenant, action="uptime_note.added", obj=note, account_id=account.pk)
    return note


# Seed 003, "Invite new customer DRI".
CHAMPION_STEPS = [
    ("introduction", "Get an introduction to {name}", "Names, roles and contact information of the new DRIs.", 3),
    ("channel", "Add {name} to the shared Slack channel", "Make sure they are in the customer's channel.", 5),
    ("meetings", "Invite {name} to the success meetings", "QBRs, health checks and routine calls.", 7),
    (
        "first_meeting",
        "First meeting with {name}: proficiency, meeting time, visibility, training",
        "Understand their proficiency with the product; check the meeting time still suits their team; understand "
        "their needs and goals for visibility; offer training to get them up to speed. A white-glove experience.",
        14,
    ),
]


@transaction.atomic
def champion_change_record(
    *, tenant: Tenant, account: Account, new_contact: Contact, previous_contact: Contact | None = None, note: str = ""
) -> ChampionChange:
    """The champion changed: record the new DRI and give the CSM seed 003's checklist as tasks."""
    errors = {}
    if new_contact.account_id != account.pk:
        errors["new_contact"] = [f"{new_contact} is not a contact of {account.name}."]
    if previous_contact is not None and previous_contact.account_id != account.pk:
        errors["previous_contact"] = [f"{previous_contact} is not a contact of {account.name}."]
    if previous_contact is not None and previous_contact.pk == new_contact.pk:
        errors["new_contact"] = ["The new DRI is someone else than the previous one."]
    if errors:
        raise ValidationError(errors)
    change = ChampionChange.objects.create(
        organization=tenant.organization,
        account=account,
        new_contact=new_contact,
        previous_contact=previous_contact,
        note=(note or "").strip(),
        created_by=tenant.member,
    )
    audit_record(
        tenant=tenant,
        action="account.champion_changed",
        obj=change,
        changes={"champion": [printable_value(previous_contact), printable_value(new_contact)]},
        account_id=account.pk,
    )
    today = timezone.localdate()
    for key, title, description, days in CHAMPION_STEPS:
        _linked_task(
            tenant=tenant,
            key=f"champion:{change.pk}:{key}",
            kind=QbrTaskLink.Kind.CHAMPION_STEP,
            account=account,
            title=title.format(name=new_contact),
            description=description,
            assignee=account.csm_owner or tenant.member,
            due_date=today + timedelta(days=days),
            champion_change=change,
        )
    return change
