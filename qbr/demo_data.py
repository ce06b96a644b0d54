"""Demo QBRs and meetings for seed_demo: a programme lived in, some accounts overdue, past QBRs with outcomes,
upcoming meetings (one about to be checked, one the customer has not joined), feature requests, a champion change."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from core.models import Notification, Role
from core.tenancy import Tenant
from qbr import services
from qbr.models import FeatureRequestStatus, MeetingKind
from qbr.selectors import programme_accounts

OUTCOMES = {
    "relationship": "The new plant manager joined; open about the rollout delays at site two.",
    "problem_value": "Manual line checks are gone on site one; site two still exports CSVs by hand.",
    "issue_prevention": "Two P1s in the quarter came from one misconfigured gateway: we agreed a config review.",
    "feature_adoption": "They pay for team collaboration but work alone; a training session is booked.",
    "data_collection": "Asked for SSO with their identity provider and a Parquet export.",
}
REQUESTS = [
    ("Single sign-on with Okta and Azure AD", FeatureRequestStatus.PLANNED),
    ("Export dashboards to Parquet", FeatureRequestStatus.UNDER_REVIEW),
    ("Audit log export for compliance", FeatureRequestStatus.SHIPPED),
    ("Dark mode for the control room", FeatureRequestStatus.NEW),
    ("Offline buffering on edge devices", FeatureRequestStatus.PLANNED),
    ("Custom roles with per-project permissions", FeatureRequestStatus.DECLINED),
]


def _at(day, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def seed_qbrs(*, organization, members: dict, rng, now: datetime | None = None) -> None:
    """Runs inside the organization's scope, after the accounts, contacts and onboarding plans exist."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    csm = members[Role.CSM]
    tenant = Tenant(organization=organization, role=Role.CSM, user=csm)
    services.qbr_settings_update(
        tenant=Tenant(organization=organization, role=Role.ADMIN, user=members[Role.ADMIN]),
        latest_version="3.4",
        release_notes="Faster dashboards on large instances; device groups; the audit log export.",
    )
    accounts = list(programme_accounts(today=today).order_by("name")[:80])
    for index, account in enumerate(accounts):
        roll = rng.random()
        contacts = list(account.contacts.all()[:2])
        members_of_account = [account.csm_owner] if account.csm_owner_id else []
        if roll < 0.6:
            # On time: a QBR held in the last quarter, with outcomes and an action item.
            held = _at(today - timedelta(days=rng.randint(15, 80)), rng.choice([10, 14, 15]))
            qbr = services.meeting_create(
                tenant=tenant,
                account=account,
                starts_at=held,
                organizer=account.csm_owner or csm,
                contacts=contacts,
                members=members_of_account,
                video_url="https://meet.example/qbr",
                narrative="Adoption grew on site one; site two is the next step.",
            )
            services.meeting_outcomes_record(
                tenant=tenant,
                meeting=qbr,
                notes="Good conversation with the plant managers.",
                goal_outcomes=OUTCOMES,
                customer_feedback="Happy with support response times.",
            )
            services.meeting_action_item_add(
                tenant=tenant,
                meeting=qbr,
                title="Send the collaboration training invite",
                assignee=account.csm_owner,
                due_date=today + timedelta(days=rng.randint(-3, 10)),
            )
            if rng.random() < 0.4:
                upcoming = _at(today + timedelta(days=rng.randint(3, 30)), rng.choice([9, 11, 15]))
                services.meeting_create(
                    tenant=tenant,
                    account=account,
                    kind=MeetingKind.ROUTINE,
                    starts_at=upcoming,
                    organizer=account.csm_owner or csm,
                    contacts=contacts,
                    duration_minutes=30,
                    video_url="https://meet.example/weekly",
                )
        elif roll < 0.8:
            # Overdue: the last QBR is more than a quarter ago.
            held = _at(today - timedelta(days=rng.randint(100, 220)), 10)
            qbr = services.meeting_create(
                tenant=tenant, account=account, starts_at=held, organizer=account.csm_owner or csm, contacts=contacts
            )
            services.meeting_outcomes_record(tenant=tenant, meeting=qbr, notes="Quiet quarter.", goal_outcomes={})
        if index % 9 == 0 and contacts:
            # A health check before the next QBR (seed 003).
            check = services.meeting_create(
                tenant=tenant,
                account=account,
                kind=MeetingKind.HEALTH_CHECK,
                starts_at=_at(today - timedelta(days=rng.randint(3, 12)), 11),
                organizer=account.csm_owner or csm,
                contacts=contacts,
            )
            services.meeting_outcomes_record(
                tenant=tenant,
                meeting=check,
                features_in_use="Dashboards daily to watch the lines; alerts by email.",
                findings="They do not use device groups yet: 40 devices configured one by one.",
            )
    # The schedule proposes the next QBR of everyone without one.
    services.qbr_proposals_create(organization=organization, today=today)
    mine = [account for account in accounts if account.csm_owner_id == csm.pk and account.contacts.exists()]
    if len(mine) >= 2:
        # Inside 48 hours, not accepted yet: the check makes a task. And one the customer has not joined.
        soon = services.meeting_create(
            tenant=tenant,
            account=mine[0],
            kind=MeetingKind.ROUTINE,
            starts_at=now + timedelta(hours=30),
            contacts=list(mine[0].contacts.all()[:1]),
            video_url="https://meet.example/sync",
        )
        services.meeting_attendance_check(meeting=soon, now=now)
        late = services.meeting_create(
            tenant=tenant,
            account=mine[1],
            kind=MeetingKind.ROUTINE,
            title=f"Weekly call: {mine[1].name}",
            starts_at=now - timedelta(minutes=5),
            contacts=list(mine[1].contacts.all()[:1]),
            video_url="https://meet.example/weekly",
            customer_response="accepted",
        )
        services.meeting_outreach_record(
            tenant=tenant, meeting=late, channel="slack", note="Posted in the shared channel."
        )
        champion = list(mine[0].contacts.all()[:2])
        if len(champion) == 2:
            services.champion_change_record(
                tenant=tenant,
                account=mine[0],
                new_contact=champion[1],
                previous_contact=champion[0],
                note="Their automation lead moved to another plant.",
            )
    for title, status in REQUESTS:
        asking = rng.sample(accounts, min(len(accounts), rng.randint(1, 4)))
        request = services.feature_request_create(
            tenant=tenant,
            title=title,
            accounts=asking,
            tracker_url=f"https://github.com/example/product/issues/{rng.randint(100, 999)}",
        )
        if status != FeatureRequestStatus.NEW:
            if status == FeatureRequestStatus.SHIPPED:
                services.feature_request_update(
                    tenant=tenant, feature_request=request, status=FeatureRequestStatus.PLANNED
                )
            services.feature_request_update(tenant=tenant, feature_request=request, status=status)
    for account in accounts[:12]:
        services.uptime_note_add(
            tenant=tenant,
            account=account,
            noted_on=today - timedelta(days=rng.randint(5, 60)),
            body=rng.choice(
                [
                    "99.98% uptime; one alarm on the EU cluster, no customer impact.",
                    "Planned maintenance of 20 minutes, announced a week before.",
                    "99.95%: a 25-minute outage of the ingest API, postmortem shared.",
                ]
            ),
        )
    # As seed_demo does for its own: demo notifications are never emailed (see demo_notifications_not_emailed).
    Notification.objects.filter(emailed_at__isnull=True).update(emailed_at=now)
