"""Writes of the migrations app: campaigns, the instance list, and the dated passes of seed 000's timeline.

`campaign_advance(campaign, today)` is what beat calls every day: it runs whatever pass is due (T-30 notice, the
daily refresh, the T-7 review, the deadline-day restarts), each claimed once per day by compare-and-set on its
`CampaignRun` row, so a second beat, a redelivered task or a click on "Run today's step" changes nothing, and a
pass that failed (the platform was down) is claimed again the next time. A paused campaign runs nothing.
"""

import csv
import io
import logging
import time
import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from accounts.models import Account, Cohort, Contact
from core.errors import ApplicationError
from core.models import Organization, Role
from core.secrets import seal, secret_change, unseal
from core.services import audit_record, field_changes, printable_value
from core.tenancy import Tenant
from migrations_notify.hosting import DOWN_STATES, HostingClient, HostingError
from migrations_notify.models import (
    CampaignEmail,
    CampaignRun,
    CampaignSnapshot,
    CampaignStatus,
    EmailKind,
    InstanceSource,
    InstanceStatus,
    MigrationCampaign,
    MigrationInstance,
    MigrationTeam,
    RunKind,
    RunStatus,
)

logger = logging.getLogger(__name__)

STALE_RUN_AFTER = timedelta(hours=2)
REMAINING_STATUSES = (InstanceStatus.TO_MIGRATE, InstanceStatus.RESTARTING)


def system_tenant(organization: Organization) -> Tenant:
    return Tenant(organization=organization, role=Role.ADMIN)


# --- Campaigns -------------------------------------------------------------------------------------------------

CAMPAIGN_FIELDS = (
    "name",
    "target_server",
    "deadline",
    "instance_source",
    "platform_base_url",
    "owner",
    "notice_subject",
    "notice_body",
    "failure_body",
    "important_arr",
    "important_instance_count",
    "restart_timeout_seconds",
    "restart_poll_seconds",
)
SAMPLE_VALUES = {"team": "Team", "target": "new", "deadline": "1 Jan", "instances": "- a", "ticket": "#1"}


def _validate_campaign(tenant: Tenant, campaign: MigrationCampaign) -> None:
    errors: dict[str, list[str]] = {}
    if not campaign.name.strip():
        errors["name"] = ["Name the campaign, for example “Move to eu-west-2 cluster”."]
    if not campaign.target_server.strip():
        errors["target_server"] = ["Which server or cluster do the instances move to?"]
    if campaign.deadline is None:
        errors["deadline"] = ["Give the migration deadline."]
    for field in ("notice_subject", "notice_body", "failure_body"):
        try:
            getattr(campaign, field).format(**SAMPLE_VALUES)
        except (KeyError, IndexError, ValueError) as exc:
            errors[field] = [
                f"Unknown placeholder {exc}: use {{team}}, {{target}}, {{deadline}}, {{instances}} or {{ticket}}."
            ]
    if campaign.instance_source == InstanceSource.PLATFORM and not campaign.platform_base_url:
        errors["platform_base_url"] = ["The instances come from the hosting platform: give its API address."]
    if campaign.owner_id is not None:
        from accounts.selectors import organization_member_users

        if not organization_member_users(organization=tenant.organization).filter(pk=campaign.owner_id).exists():
            errors["owner"] = ["Choose a member of this organization."]
    try:
        campaign.full_clean(exclude=["organization", "owner"], validate_constraints=False)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def campaign_create(*, tenant: Tenant, platform_token: str = "", **values: Any) -> MigrationCampaign:
    values = {key: value for key, value in values.items() if key in CAMPAIGN_FIELDS}
    values.setdefault("owner", tenant.member)
    campaign = MigrationCampaign(organization=tenant.organization, **values)
    campaign.platform_token_sealed = seal(platform_token) if platform_token else ""
    _validate_campaign(tenant, campaign)
    campaign.save()
    audit_record(
        tenant=tenant,
        action="migration.campaign_created",
        obj=campaign,
        changes={k: [None, printable_value(getattr(campaign, k))] for k in ("name", "target_server", "deadline")},
    )
    return campaign


@transaction.atomic
def campaign_update(
    *, tenant: Tenant, campaign: MigrationCampaign, platform_token: str | None = None, **values: Any
) -> MigrationCampaign:
    """The deadline moves only until the teams were told: the notice named the date."""
    values = {key: value for key, value in values.items() if key in CAMPAIGN_FIELDS}
    notified = CampaignRun.objects.filter(campaign=campaign, kind=RunKind.NOTIFY, status=RunStatus.DONE).exists()
    if notified and "deadline" in values and values["deadline"] != campaign.deadline:
        raise ValidationError({"deadline": ["The teams were told this deadline; it no longer moves."]})
    changes = field_changes(campaign, values, CAMPAIGN_FIELDS)
    sealed, token_change = secret_change(campaign.platform_token_sealed, platform_token)
    for key, value in values.items():
        setattr(campaign, key, value)
    campaign.platform_token_sealed = sealed
    _validate_campaign(tenant, campaign)
    if token_change:
        changes["platform_token"] = token_change
    if changes:
        campaign.save()
        audit_record(tenant=tenant, action="migration.campaign_updated", obj=campaign, changes=changes)
    return campaign


@transaction.atomic
def campaign_delete(*, tenant: Tenant, campaign: MigrationCampaign) -> None:
    if CampaignEmail.objects.filter(campaign=campaign, sent_at__isnull=False).exists():
        raise ApplicationError("Customers were emailed about this campaign; pause it instead of deleting it.")
    audit_record(tenant=tenant, action="migration.campaign_deleted", obj=campaign)
    campaign.delete()


@transaction.atomic
def campaign_confirm_ready(*, tenant: Tenant, campaign: MigrationCampaign) -> MigrationCampaign:
    """Seed 000, T-90: the new server is ready, so new and restarted instances land on it. Who confirmed it is kept;
    confirming again changes nothing."""
    confirmed = MigrationCampaign.objects.filter(pk=campaign.pk, ready_confirmed_at__isnull=True).update(
        ready_confirmed_at=timezone.now(), ready_confirmed_by=tenant.member, ready_confirmed_by_label=tenant.actor_label
    )
    campaign.refresh_from_db()
    if confirmed:
        audit_record(
            tenant=tenant,
            action="migration.server_ready",
            obj=campaign,
            changes={"ready_confirmed_by": [None, tenant.actor_label]},
        )
    return campaign


def _status_set(tenant: Tenant, campaign: MigrationCampaign, *, from_status: str, to_status: str) -> MigrationCampaign:
    changed = MigrationCampaign.objects.filter(pk=campaign.pk, status=from_status).update(status=to_status)
    campaign.refresh_from_db()
    if changed:
        audit_record(
            tenant=tenant,
            action=f"migration.campaign_{to_status}",
            obj=campaign,
            changes={"status": [from_status, to_status]},
        )
    return campaign


def campaign_pause(*, tenant: Tenant, campaign: MigrationCampaign) -> MigrationCampaign:
    """A paused campaign runs no pass (beat skips it, a click is refused) until it is resumed."""
    return _status_set(tenant, campaign, from_status=CampaignStatus.ACTIVE, to_status=CampaignStatus.PAUSED)


def campaign_resume(*, tenant: Tenant, campaign: MigrationCampaign) -> MigrationCampaign:
    return _status_set(tenant, campaign, from_status=CampaignStatus.PAUSED, to_status=CampaignStatus.ACTIVE)


# --- The instance list -----------------------------------------------------------------------------------------

CSV_COLUMNS = ("team_id", "team_name", "team_email", "instance_id", "instance_name")


def _account_for_emails(emails: list[str]) -> Account | None:
    domains = [email.rpartition("@")[2].lower() for email in emails if "@" in email]
    if not domains:
        return None
    return Account.objects.filter(domain__in=domains).order_by("id").first()


def _team_upsert(campaign: MigrationCampaign, *, external_id: str, name: str, emails: list[str]) -> MigrationTeam:
    team, created = MigrationTeam.objects.get_or_create(
        organization_id=campaign.organization_id,
        campaign=campaign,
        external_id=external_id,
        defaults={"name": name, "emails": emails, "account": _account_for_emails(emails)},
    )
    if not created and (team.name != name or (emails and team.emails != emails)):
        team.name = name
        team.emails = emails or team.emails
        team.account = team.account or _account_for_emails(team.emails)
        team.save(update_fields=["name", "emails", "account"])
    return team


def _instances_merge(campaign: MigrationCampaign, listed: dict[str, tuple[MigrationTeam, str, str]]) -> dict[str, int]:
    """{instance id: (team, name, server)} as the platform or the CSV lists it now, merged into the campaign's list.

    Before the notice the list is built; after it, an instance no longer listed on the old server moved (the
    customer restarted it, so it landed on the new server): it drops off the list.
    """
    now = timezone.now()
    counts = {"added": 0, "moved": 0}
    known = {i.external_id: i for i in MigrationInstance.objects.filter(campaign=campaign)}
    for external_id, (team, name, server) in listed.items():
        instance = known.get(external_id)
        on_target = server == campaign.target_server
        if instance is None:
            if on_target:
                continue  # already on the new server: nothing to migrate
            MigrationInstance.objects.create(
                organization_id=campaign.organization_id,
                campaign=campaign,
                team=team,
                external_id=external_id,
                name=name,
                server=server,
                listed_at=now,
            )
            counts["added"] += 1
        elif on_target and instance.status == InstanceStatus.TO_MIGRATE:
            counts["moved"] += _mark_moved(instance, server=server, now=now)
    return counts


def _mark_moved(instance: MigrationInstance, *, server: str, now) -> int:
    return MigrationInstance.objects.filter(pk=instance.pk, status=InstanceStatus.TO_MIGRATE).update(
        status=InstanceStatus.MOVED, moved_at=now, server=server
    )


@transaction.atomic
def instances_import_csv(*, tenant: Tenant, campaign: MigrationCampaign, csv_text: str) -> dict[str, int]:
    """The instances still on the old server, from the platform's export: team_id, team_name, team_email,
    instance_id, instance_name (more emails separated by ";"). After the notice, a re-import drops the instances
    that are no longer in it: the customer restarted them."""
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    missing = [column for column in CSV_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(
            {"csv_file": [f"The CSV needs the columns {', '.join(CSV_COLUMNS)}; missing: {', '.join(missing)}."]}
        )
    rows = list(reader)
    errors = [
        f"line {n}: no instance_id or team_id"
        for n, row in enumerate(rows, start=2)
        if not (row.get("instance_id") or "").strip() or not (row.get("team_id") or "").strip()
    ]
    if errors:
        raise ValidationError({"csv_file": errors[:5]})
    teams: dict[str, MigrationTeam] = {}
    listed: dict[str, tuple[MigrationTeam, str, str]] = {}
    for row in rows:
        team_id = row["team_id"].strip()
        if team_id not in teams:
            emails = [e.strip().lower() for e in (row.get("team_email") or "").split(";") if "@" in e]
            teams[team_id] = _team_upsert(
                campaign, external_id=team_id, name=(row.get("team_name") or team_id).strip(), emails=emails
            )
        listed[row["instance_id"].strip()] = (teams[team_id], (row.get("instance_name") or "").strip(), "old")
    counts = _instances_merge(campaign, listed)
    notified = CampaignRun.objects.filter(campaign=campaign, kind=RunKind.NOTIFY, status=RunStatus.DONE).exists()
    if notified:
        now = timezone.now()
        gone = MigrationInstance.objects.filter(campaign=campaign, status=InstanceStatus.TO_MIGRATE).exclude(
            external_id__in=list(listed)
        )
        counts["moved"] += gone.update(status=InstanceStatus.MOVED, moved_at=now)
    counts["rows"] = len(rows)
    audit_record(tenant=tenant, action="migration.instances_imported", obj=campaign, changes={"csv": [None, counts]})
    _snapshot(campaign, timezone.localdate())
    return counts


def _platform(campaign: MigrationCampaign) -> HostingClient:
    return HostingClient(base_url=campaign.platform_base_url, token=unseal(campaign.platform_token_sealed))


def _fetch_from_platform(campaign: MigrationCampaign) -> dict[str, int]:
    client = _platform(campaign)
    listed: dict[str, tuple[MigrationTeam, str, str]] = {}
    for hosted in client.teams():
        team = _team_upsert(campaign, external_id=hosted.id, name=hosted.name, emails=list(hosted.emails))
        for instance in client.instances(hosted.id):
            listed[instance.id] = (team, instance.name, instance.server)
    return _instances_merge(campaign, listed)


# --- The dated passes ------------------------------------------------------------------------------------------


def organization_today(organization: Organization) -> date:
    """The day in the organization's own zone: a deadline is a day where the customers are, not in UTC."""
    try:
        zone = zoneinfo.ZoneInfo(organization.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return timezone.localtime(timezone.now(), zone).date()


def _claim(campaign: MigrationCampaign, kind: str, day: date) -> CampaignRun | None:
    """The pass of that kind and day, claimed: created running, or a failed (or stale running) one taken again.
    None when it is done, or another worker runs it right now."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return CampaignRun.objects.create(
                organization_id=campaign.organization_id, campaign=campaign, kind=kind, day=day, started_at=now
            )
    except IntegrityError:
        pass
    taken = CampaignRun.objects.filter(
        Q(status=RunStatus.FAILED) | Q(status=RunStatus.RUNNING, started_at__lt=now - STALE_RUN_AFTER),
        campaign=campaign,
        kind=kind,
        day=day,
    ).update(status=RunStatus.RUNNING, started_at=now, attempts=F("attempts") + 1, error="")
    return CampaignRun.objects.get(campaign=campaign, kind=kind, day=day) if taken else None


def _finish(run: CampaignRun, *, result: dict[str, Any] | None = None, error: str = "") -> CampaignRun:
    run.status = RunStatus.FAILED if error else RunStatus.DONE
    run.result, run.error, run.finished_at = result or {}, error, timezone.now()
    run.save(update_fields=["status", "result", "error", "finished_at"])
    return run


def _done(campaign: MigrationCampaign, kind: str) -> bool:
    return CampaignRun.objects.filter(campaign=campaign, kind=kind, status=RunStatus.DONE).exists()


def campaign_advance(
    *, campaign: MigrationCampaign, today: date | None = None, sleep: Callable[[float], None] = time.sleep
) -> list[CampaignRun]:
    """Runs the passes due today, in the seed's order. Each is claimed once (per day for the refresh)."""
    campaign = MigrationCampaign.objects.get(pk=campaign.pk)
    if campaign.status != CampaignStatus.ACTIVE:
        return []
    today = today or organization_today(campaign.organization)
    ran: list[CampaignRun] = []
    if today < campaign.notify_on:
        return ran
    if not _done(campaign, RunKind.NOTIFY):
        run = _claim(campaign, RunKind.NOTIFY, campaign.notify_on)
        if run is not None:
            ran.append(_pass(run, _notify, campaign))
        if not _done(campaign, RunKind.NOTIFY):
            _snapshot(campaign, today)
            return ran  # nothing after the notice happens before it
    if today > campaign.notify_on:
        run = _claim(campaign, RunKind.REFRESH, today)
        if run is not None:
            ran.append(_pass(run, _refresh, campaign))
    if today >= campaign.review_on and not _done(campaign, RunKind.REVIEW):
        run = _claim(campaign, RunKind.REVIEW, campaign.review_on)
        if run is not None:
            ran.append(_pass(run, _review, campaign))
    if today >= campaign.deadline and not _done(campaign, RunKind.DEADLINE):
        run = _claim(campaign, RunKind.DEADLINE, campaign.deadline)
        if run is not None:
            ran.append(_pass(run, lambda c: _deadline(c, sleep=sleep), campaign))
    _snapshot(campaign, today)
    return ran


def _pass(run: CampaignRun, body: Callable[[MigrationCampaign], dict[str, Any]], campaign) -> CampaignRun:
    try:
        result = body(campaign)
    except (HostingError, ApplicationError) as exc:
        return _finish(run, error=str(getattr(exc, "message", exc)))
    except Exception as exc:  # a bug or an outage: the pass is failed and visible, and claimed again next time
        logger.exception("Migration pass %s of campaign %s failed", run.kind, campaign.pk)
        return _finish(run, error=f"{exc.__class__.__name__}: {exc}"[:500])
    return _finish(run, result=result)


def _instance_lines(instances) -> str:
    return "\n".join(f"  - {instance.name} ({instance.external_id})" for instance in instances)


def _team_recipients(team: MigrationTeam) -> list[str]:
    if team.emails:
        return list(team.emails)
    if team.account_id:
        return list(
            Contact.objects.filter(account_id=team.account_id)
            .exclude(email="")
            .order_by("id")
            .values_list("email", flat=True)[:5]
        )
    return []


def _send(
    campaign: MigrationCampaign,
    team: MigrationTeam,
    *,
    kind: str,
    subject: str,
    body: str,
    instances: list[MigrationInstance],
) -> CampaignEmail | None:
    """One email per team and kind, recorded; a retry finds it sent and sends nothing."""
    email, _ = CampaignEmail.objects.get_or_create(
        organization_id=campaign.organization_id,
        campaign=campaign,
        team=team,
        kind=kind,
        defaults={
            "subject": subject[:300],
            "body": body,
            "to": _team_recipients(team),
            "instance_names": [i.name for i in instances],
        },
    )
    if email.sent_at is not None:
        return email
    if not email.to:
        email.error = "No email address for this team: add one on the platform or a contact on its account."
        email.save(update_fields=["error"])
        return email
    try:
        EmailMessage(subject=email.subject, body=email.body, to=email.to).send(fail_silently=False)
    except Exception as exc:
        email.error = f"{exc.__class__.__name__}: {exc}"[:500]
        email.save(update_fields=["error"])
        return email
    email.sent_at, email.error = timezone.now(), ""
    email.save(update_fields=["sent_at", "error"])
    return email


def _format(template: str, campaign: MigrationCampaign, team: MigrationTeam, instances, ticket: str = "") -> str:
    return template.format(
        team=team.name,
        target=campaign.target_server,
        deadline=f"{campaign.deadline:%A} {campaign.deadline.day} {campaign.deadline:%B %Y}",
        instances=_instance_lines(instances),
        ticket=ticket,
    )


def _notify(campaign: MigrationCampaign) -> dict[str, Any]:
    """T-30: the list of instances still to migrate, grouped by team, and one clear email per team."""
    if campaign.ready_confirmed_at is None:
        raise ApplicationError(
            "The new server is not confirmed ready (seed 000: at least 90 days before the deadline). Confirm it on "
            "the campaign page; the notice goes out on the next pass."
        )
    counts = _fetch_from_platform(campaign) if campaign.instance_source == InstanceSource.PLATFORM else {}
    remaining = MigrationInstance.objects.filter(campaign=campaign, status=InstanceStatus.TO_MIGRATE)
    if campaign.instance_source == InstanceSource.CSV and not remaining.exists():
        raise ApplicationError("No instances imported yet: import the platform's CSV export first.")
    by_team: dict[int, list[MigrationInstance]] = defaultdict(list)
    for instance in remaining.select_related("team"):
        by_team[instance.team_id].append(instance)
    sent, unsent = 0, []
    for team in MigrationTeam.objects.filter(pk__in=list(by_team)):
        instances = by_team[team.pk]
        email = _send(
            campaign,
            team,
            kind=EmailKind.NOTICE,
            subject=_format(campaign.notice_subject, campaign, team, instances),
            body=_format(campaign.notice_body, campaign, team, instances),
            instances=instances,
        )
        if email is not None and email.sent_at:
            sent += 1
        else:
            unsent.append(team.name)
    if unsent and sent == 0:
        raise ApplicationError(f"No notice could be sent ({', '.join(unsent[:5])}): see the emails below.")
    return {**counts, "teams_emailed": sent, "teams_not_emailed": unsent, "instances": remaining.count()}


def _refresh(campaign: MigrationCampaign) -> dict[str, Any]:
    """Every day after the notice: the instances customers restarted are on the new server and drop off the list.
    A CSV campaign is refreshed by importing the day's export (nothing to fetch here). Unsent notices are retried."""
    counts = {"moved": 0}
    if campaign.instance_source == InstanceSource.PLATFORM:
        counts = _fetch_from_platform(campaign)
    retried = 0
    for email in CampaignEmail.objects.filter(campaign=campaign, kind=EmailKind.NOTICE, sent_at__isnull=True):
        instances = list(email.team.instances.filter(status=InstanceStatus.TO_MIGRATE))
        if (
            instances
            and _send(
                campaign, email.team, kind=EmailKind.NOTICE, subject=email.subject, body=email.body, instances=instances
            ).sent_at
        ):
            retried += 1
    return {"moved": counts.get("moved", 0), "notices_retried": retried, "remaining": _remaining(campaign)}


def _remaining(campaign: MigrationCampaign) -> int:
    return MigrationInstance.objects.filter(campaign=campaign, status__in=REMAINING_STATUSES).count()


def _review(campaign: MigrationCampaign) -> dict[str, Any]:
    """T-7: what remains, with the important teams (enterprise cohort, high ARR, or many instances left) flagged and
    a task for their CSM to offer personal help (seed 000). A task is created once per team."""
    from lifecycle.services import task_create

    tenant = system_tenant(campaign.organization)
    left = dict(
        MigrationInstance.objects.filter(campaign=campaign, status=InstanceStatus.TO_MIGRATE)
        .values_list("team_id")
        .annotate(n=Count("id"))
        .values_list("team_id", "n")
    )
    flagged, tasks = [], 0
    for team in MigrationTeam.objects.filter(pk__in=list(left)).select_related("account", "account__csm_owner"):
        reasons = []
        account = team.account
        if account is not None and account.cohort == Cohort.ENTERPRISE:
            reasons.append("enterprise")
        if account is not None and account.arr >= campaign.important_arr:
            reasons.append(f"ARR {account.arr:,.0f}")
        if left[team.pk] >= campaign.important_instance_count:
            reasons.append(f"{left[team.pk]} instances left")
        if not reasons:
            continue
        team.important, team.important_because = True, ", ".join(reasons)[:200]
        if account is not None and team.review_task_id is None:
            task = task_create(
                tenant=tenant,
                account=account,
                assignee=account.csm_owner or campaign.owner,
                title=f"Offer help with the server migration: {left[team.pk]} instance(s) left",
                description=f"Campaign “{campaign.name}”: {team.name} still has {left[team.pk]} instance(s) on the old "
                f"server ({team.important_because}). Deadline {campaign.deadline:%d %b %Y}: offer to walk them "
                "through the restart (seed 000, T-7).",
                due_date=campaign.deadline - timedelta(days=1),
            )
            team.review_task_id = task.pk
            tasks += 1
        team.save(update_fields=["important", "important_because", "review_task_id"])
        flagged.append(team.name)
    return {"teams_left": len(left), "important": flagged, "tasks_created": tasks, "remaining": _remaining(campaign)}


def _deadline(campaign: MigrationCampaign, *, sleep: Callable[[float], None]) -> dict[str, Any]:
    """Deadline day: a last refresh, then every remaining instance restarted through the platform and checked until
    it reports running on the new server or the timeout passes. Each team with a failure gets the instructions by
    email and a support ticket. Resumable: an instance already restarting (a worker died) is checked, not restarted
    again."""
    client = _platform(campaign)
    if campaign.instance_source == InstanceSource.PLATFORM:
        _fetch_from_platform(campaign)
    now = timezone.now()
    requested = 0
    for instance in MigrationInstance.objects.filter(campaign=campaign, status=InstanceStatus.TO_MIGRATE):
        claimed = MigrationInstance.objects.filter(pk=instance.pk, status=InstanceStatus.TO_MIGRATE).update(
            status=InstanceStatus.RESTARTING, restart_requested_at=now
        )
        if not claimed:
            continue
        try:
            client.restart(instance.external_id)
            requested += 1
        except HostingError as exc:
            _fail(instance, str(exc))
    deadline_at = time.monotonic() + campaign.restart_timeout_seconds
    while True:
        waiting = list(MigrationInstance.objects.filter(campaign=campaign, status=InstanceStatus.RESTARTING))
        for instance in waiting:
            try:
                hosted = client.instance(instance.external_id)
            except HostingError as exc:
                instance.platform_state = "unknown"
                instance.failure = str(exc)[:300]
                instance.save(update_fields=["platform_state", "failure"])
                continue
            if hosted.state == "running" and hosted.server == campaign.target_server:
                MigrationInstance.objects.filter(pk=instance.pk, status=InstanceStatus.RESTARTING).update(
                    status=InstanceStatus.RESTARTED,
                    restarted_at=timezone.now(),
                    server=hosted.server,
                    platform_state=hosted.state,
                    failure="",
                )
            elif hosted.state in DOWN_STATES:
                _fail(instance, f"The platform reports it {hosted.state} after the restart.", state=hosted.state)
            else:
                MigrationInstance.objects.filter(pk=instance.pk).update(platform_state=hosted.state)
        still = MigrationInstance.objects.filter(campaign=campaign, status=InstanceStatus.RESTARTING)
        if not still.exists():
            break
        if time.monotonic() >= deadline_at:
            for instance in still:
                _fail(instance, f"Did not report running within {campaign.restart_timeout_seconds} s of the restart.")
            break
        sleep(campaign.restart_poll_seconds)
    tickets = _failures_follow_up(campaign)
    counts = dict(
        MigrationInstance.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    MigrationCampaign.objects.filter(pk=campaign.pk, status=CampaignStatus.ACTIVE).update(
        status=CampaignStatus.COMPLETED
    )
    return {"restart_requested": requested, "tickets_opened": tickets, "counts": counts}


def _fail(instance: MigrationInstance, reason: str, *, state: str = "") -> None:
    MigrationInstance.objects.filter(pk=instance.pk, status=InstanceStatus.RESTARTING).update(
        status=InstanceStatus.FAILED, failed_at=timezone.now(), failure=reason[:300], platform_state=state
    )


def _failures_follow_up(campaign: MigrationCampaign) -> int:
    """For each team with instances that did not come back: a ticket (once) and the instructions by email (once)."""
    from tickets.models import Priority, Topic
    from tickets.services import ticket_create

    tenant = system_tenant(campaign.organization)
    opened = 0
    failed = MigrationInstance.objects.filter(campaign=campaign, status=InstanceStatus.FAILED).select_related("team")
    by_team: dict[int, list[MigrationInstance]] = defaultdict(list)
    for instance in failed:
        by_team[instance.team_id].append(instance)
    for team in MigrationTeam.objects.filter(pk__in=list(by_team)):
        instances = by_team[team.pk]
        ticket_id = next((i.ticket_id for i in instances if i.ticket_id), None)
        recipients = _team_recipients(team)
        if ticket_id is None and recipients:
            with transaction.atomic():
                ticket = ticket_create(
                    tenant=tenant,
                    subject=f"{len(instances)} instance(s) not back after the move to {campaign.target_server}",
                    body="Restarted on the migration deadline and not running afterwards:\n"
                    + "\n".join(f"- {i.name} ({i.external_id}): {i.failure}" for i in instances),
                    requester_email=recipients[0],
                    requester_name=team.name,
                    topic=Topic.RUNTIME,
                    priority=Priority.P1,
                    tags=["migration"],
                )
                MigrationInstance.objects.filter(pk__in=[i.pk for i in instances]).update(ticket_id=ticket.pk)
            ticket_id = ticket.pk
            opened += 1
        from tickets.models import Ticket

        number = Ticket.objects.filter(pk=ticket_id).values_list("number", flat=True).first() if ticket_id else None
        _send(
            campaign,
            team,
            kind=EmailKind.FAILURE,
            subject=f"Action needed: {len(instances)} instance(s) did not restart on {campaign.target_server}",
            body=_format(campaign.failure_body, campaign, team, instances, ticket=f"#{number}" if number else ""),
            instances=instances,
        )
    return opened


def _snapshot(campaign: MigrationCampaign, day: date) -> None:
    counts = dict(
        MigrationInstance.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    CampaignSnapshot.objects.update_or_create(
        organization_id=campaign.organization_id,
        campaign=campaign,
        day=day,
        defaults={
            "to_migrate": counts.get(InstanceStatus.TO_MIGRATE, 0) + counts.get(InstanceStatus.RESTARTING, 0),
            "moved": counts.get(InstanceStatus.MOVED, 0),
            "restarted": counts.get(InstanceStatus.RESTARTED, 0),
            "failed": counts.get(InstanceStatus.FAILED, 0),
        },
    )


def campaign_run_now(*, tenant: Tenant, campaign: MigrationCampaign) -> list[CampaignRun]:
    """A member's "Run today's step": the same passes beat runs, refused for a paused campaign."""
    if campaign.status == CampaignStatus.PAUSED:
        raise ApplicationError("The campaign is paused: resume it first.")
    if campaign.status == CampaignStatus.COMPLETED:
        raise ApplicationError("The campaign is completed.")
    ran = campaign_advance(campaign=campaign)
    audit_record(
        tenant=tenant,
        action="migration.campaign_run",
        obj=campaign,
        changes={"runs": [None, [f"{run.kind}:{run.status}" for run in ran]]},
    )
    return ran
