"""Reads of the migrations app: campaign lists with counts, one campaign's timeline, teams, emails and chart."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet

from migrations_notify.models import (
    CampaignEmail,
    CampaignRun,
    CampaignSnapshot,
    InstanceStatus,
    MigrationCampaign,
    MigrationInstance,
    MigrationTeam,
    RunKind,
    RunStatus,
)


def _count(status: str | tuple[str, ...]) -> Count:
    statuses = (status,) if isinstance(status, str) else status
    return Count("instances", filter=Q(instances__status__in=statuses), distinct=True)


def campaign_list() -> QuerySet:
    return MigrationCampaign.objects.annotate(
        to_migrate_count=_count((InstanceStatus.TO_MIGRATE, InstanceStatus.RESTARTING)),
        moved_count=_count(InstanceStatus.MOVED),
        restarted_count=_count(InstanceStatus.RESTARTED),
        failed_count=_count(InstanceStatus.FAILED),
        instance_count=Count("instances", distinct=True),
    ).order_by("status", "deadline", "id")


def campaign_counts(*, campaign: MigrationCampaign) -> dict[str, int]:
    by_status = dict(
        MigrationInstance.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {
        "to_migrate": by_status.get(InstanceStatus.TO_MIGRATE, 0) + by_status.get(InstanceStatus.RESTARTING, 0),
        "moved": by_status.get(InstanceStatus.MOVED, 0),
        "restarted": by_status.get(InstanceStatus.RESTARTED, 0),
        "failed": by_status.get(InstanceStatus.FAILED, 0),
        "total": sum(by_status.values()),
    }


@dataclass(frozen=True)
class Milestone:
    key: str
    label: str
    day: date
    state: str  # done, current, failed, todo
    note: str


def campaign_timeline(*, campaign: MigrationCampaign, today: date) -> list[Milestone]:
    """Seed 000's five dates with where the campaign stands on each, for the progress bar."""
    runs = {run.kind: run for run in CampaignRun.objects.filter(campaign=campaign).exclude(kind=RunKind.REFRESH)}
    refreshes = CampaignRun.objects.filter(campaign=campaign, kind=RunKind.REFRESH)
    last_refresh = refreshes.order_by("-day").first()

    def state_of(kind: str, day: date) -> tuple[str, str]:
        run = runs.get(kind)
        if run is not None and run.status == RunStatus.DONE:
            return "done", f"done {run.finished_at:%d %b}" if run.finished_at else "done"
        if run is not None and run.status == RunStatus.FAILED:
            return "failed", run.error[:120]
        return ("current", "due") if today >= day else ("todo", "")

    ready = (
        ("done", f"confirmed by {campaign.ready_confirmed_by_label or 'System'}")
        if campaign.ready_confirmed_at
        else (("failed", "not confirmed yet") if today >= campaign.ready_by else ("todo", "to confirm"))
    )
    daily_state = "todo"
    daily_note = ""
    if last_refresh is not None:
        daily_state = "done" if today >= campaign.deadline else "current"
        daily_note = f"{refreshes.count()} pass(es), last {last_refresh.day:%d %b}"
    return [
        Milestone("ready", "T-90 new server ready", campaign.ready_by, *ready),
        Milestone("notify", "T-30 teams emailed", campaign.notify_on, *state_of(RunKind.NOTIFY, campaign.notify_on)),
        Milestone("refresh", "Daily: moved drop off", campaign.notify_on, daily_state, daily_note),
        Milestone("review", "T-7 review", campaign.review_on, *state_of(RunKind.REVIEW, campaign.review_on)),
        Milestone(
            "deadline", "Deadline: we restart", campaign.deadline, *state_of(RunKind.DEADLINE, campaign.deadline)
        ),
    ]


def campaign_teams(*, campaign: MigrationCampaign) -> QuerySet:
    return (
        MigrationTeam.objects.filter(campaign=campaign)
        .select_related("account")
        .annotate(
            to_migrate_count=Count(
                "instances", filter=Q(instances__status__in=(InstanceStatus.TO_MIGRATE, InstanceStatus.RESTARTING))
            ),
            moved_count=Count("instances", filter=Q(instances__status=InstanceStatus.MOVED)),
            restarted_count=Count("instances", filter=Q(instances__status=InstanceStatus.RESTARTED)),
            failed_count=Count("instances", filter=Q(instances__status=InstanceStatus.FAILED)),
        )
        .order_by("-important", "-failed_count", "-to_migrate_count", "name", "id")
    )


def campaign_emails(*, campaign: MigrationCampaign, team: MigrationTeam | None = None) -> QuerySet:
    emails = CampaignEmail.objects.filter(campaign=campaign).select_related("team")
    return emails.filter(team=team) if team is not None else emails


def campaign_chart(*, campaign: MigrationCampaign) -> dict[str, list]:
    snapshots = list(CampaignSnapshot.objects.filter(campaign=campaign).order_by("day"))
    return {
        "days": [s.day.strftime("%d %b") for s in snapshots],
        "to_migrate": [s.to_migrate for s in snapshots],
        "moved": [s.moved for s in snapshots],
        "restarted": [s.restarted for s in snapshots],
        "failed": [s.failed for s in snapshots],
    }
