"""A demo migration campaign around T-7 for seed_demo: teams told at T-30, customers restarting day by day, and
today's review flagging the important teams with a task for their CSM."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import Account, AccountStatus, Contact
from core.models import Role
from migrations_notify import services
from migrations_notify.models import (
    CampaignEmail,
    CampaignRun,
    CampaignSnapshot,
    EmailKind,
    InstanceStatus,
    MigrationCampaign,
    MigrationInstance,
    MigrationTeam,
    RunKind,
    RunStatus,
)


def seed_migrations(*, organization, members, rng) -> None:
    today = timezone.localdate()
    now = timezone.now()
    deadline = today + timedelta(days=7)
    campaign = MigrationCampaign.objects.create(
        organization=organization,
        name="Move to the eu-west-2 cluster",
        target_server="k8s-eu-west-2",
        deadline=deadline,
        instance_source="csv",
        owner=members[Role.CSM],
        ready_confirmed_at=now - timedelta(days=98),
        ready_confirmed_by=members[Role.ADMIN],
        ready_confirmed_by_label=members[Role.ADMIN].get_full_name(),
    )
    candidates = list(Account.objects.filter(status=AccountStatus.ACTIVE).exclude(domain="").order_by("id"))
    accounts = rng.sample(candidates, min(14, len(candidates)))
    notify_day = campaign.notify_on
    instances = []
    for account in accounts:
        emails = list(Contact.objects.filter(account=account).values_list("email", flat=True)[:2])
        team = MigrationTeam.objects.create(
            organization=organization,
            campaign=campaign,
            external_id=f"team-{account.pk}",
            name=account.name,
            account=account,
            emails=emails,
        )
        for n in range(rng.randint(1, 7)):
            instances.append(
                MigrationInstance(
                    organization=organization,
                    campaign=campaign,
                    team=team,
                    external_id=f"{account.codename}-{n}",
                    name=f"{account.name.split()[0].lower()}-{['line', 'edge', 'dash', 'etl'][n % 4]}-{n + 1}",
                    server="k8s-eu-west-1",
                    listed_at=now - timedelta(days=23),
                )
            )
        body = services._format(campaign.notice_body, campaign, team, [])
        CampaignEmail.objects.create(
            organization=organization,
            campaign=campaign,
            team=team,
            kind=EmailKind.NOTICE,
            to=emails,
            subject=services._format(campaign.notice_subject, campaign, team, []),
            body=body,
            sent_at=now - timedelta(days=23),
        )
    MigrationInstance.objects.bulk_create(instances)
    # Customers restart over the days since the notice: about two thirds have moved.
    saved = list(MigrationInstance.objects.filter(campaign=campaign).order_by("id"))
    moved_on = {i.pk: notify_day + timedelta(days=rng.randint(1, 23)) for i in rng.sample(saved, len(saved) * 2 // 3)}
    day = notify_day
    while day < today:
        CampaignRun.objects.create(
            organization=organization,
            campaign=campaign,
            kind=RunKind.NOTIFY if day == notify_day else RunKind.REFRESH,
            day=day,
            status=RunStatus.DONE,
            started_at=now,
            finished_at=now,
            result={"moved": sum(1 for d in moved_on.values() if d == day)},
        )
        moved = sum(1 for d in moved_on.values() if d <= day)
        CampaignSnapshot.objects.create(
            organization=organization, campaign=campaign, day=day, to_migrate=len(saved) - moved, moved=moved
        )
        day += timedelta(days=1)
    for instance in saved:
        if instance.pk in moved_on:
            instance.status, instance.server = InstanceStatus.MOVED, campaign.target_server
            instance.moved_at = timezone.make_aware(datetime.combine(moved_on[instance.pk], time.min))
    MigrationInstance.objects.bulk_update(saved, ["status", "server", "moved_at"])
    # Today is T-7: the review runs as beat would run it.
    services.campaign_advance(campaign=campaign, today=today)
