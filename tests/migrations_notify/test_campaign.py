"""Seed 000's downtime notices, walked through their dates with a frozen clock against the hosting fake on
127.0.0.1: T-90 readiness, the T-30 notice, daily refreshes as customers restart on their own, the T-7 review, and
deadline day with instances that do not come back (tickets opened, emails recorded)."""

import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from core.models import Role
from core.tenancy import Tenant, tenant_scope
from lifecycle.models import Task
from migrations_notify import services
from migrations_notify.models import (
    CampaignEmail,
    CampaignRun,
    CampaignSnapshot,
    CampaignStatus,
    EmailKind,
    InstanceSource,
    InstanceStatus,
    MigrationInstance,
    MigrationTeam,
    RunKind,
    RunStatus,
)
from migrations_notify.tasks import advance_campaigns_for_all_organizations
from tests.factories import AccountFactory, MembershipFactory
from tests.migrations_notify.conftest import NEW_SERVER
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

DEADLINE = date(2027, 3, 31)


def at(day: date, hour: int = 6):
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC), tick=True)


def quick_sleep(_seconds: float) -> None:
    time.sleep(0.02)


@pytest.fixture
def csm(org):
    return MembershipFactory(organization=org, role=Role.CSM).user


@pytest.fixture
def owner_tenant(org):
    owner = MembershipFactory(organization=org, role=Role.CSM).user
    return Tenant(organization=org, role=Role.CSM, user=owner)


@pytest.fixture
def customers(org, csm, hosting):
    """Three teams: an enterprise customer (one instance will crash), a starter customer that restarts on its own,
    and a premium customer with many instances (one will hang)."""
    AccountFactory(
        organization=org,
        name="Bigco",
        domain="bigco.example",
        cohort="enterprise",
        csm_owner=csm,
        arr=Decimal("120000"),
    )
    AccountFactory(organization=org, name="Smallco", domain="smallco.example", cohort="starter", arr=Decimal("3000"))
    AccountFactory(organization=org, name="Midco", domain="midco.example", cohort="premium", arr=Decimal("20000"))
    hosting.add_team("t-big", "Bigco Ops", ["ops@bigco.example"])
    hosting.add_team("t-small", "Smallco", ["dev@smallco.example"])
    hosting.add_team("t-mid", "Midco Factory", ["admin@midco.example"])
    hosting.add_instance("i1", "big-line-1", "t-big")
    hosting.add_instance("i2", "big-line-2", "t-big", fails=True)
    hosting.add_instance("i3", "small-a", "t-small")
    hosting.add_instance("i4", "small-b", "t-small")
    for n in range(5, 10):
        hosting.add_instance(f"i{n}", f"mid-{n}", "t-mid", hang=(n == 9))
    return hosting


def new_campaign(tenant, hosting, **values):
    values = {
        "name": "Move to eu-2",
        "target_server": NEW_SERVER,
        "deadline": DEADLINE,
        "instance_source": InstanceSource.PLATFORM,
        "platform_base_url": hosting.base_url,
        "restart_timeout_seconds": 1,
        "restart_poll_seconds": 0,
        **values,
    }
    with tenant_scope(tenant.organization):
        return services.campaign_create(tenant=tenant, platform_token=hosting.token, **values)


def advance(org, campaign):
    with tenant_scope(org):
        return services.campaign_advance(campaign=campaign, sleep=quick_sleep)


def statuses(org, campaign) -> dict[str, str]:
    with tenant_scope(org):
        return dict(MigrationInstance.objects.filter(campaign=campaign).values_list("external_id", "status"))


def test_a_campaign_walked_through_all_its_dates(org, owner_tenant, customers, django_capture_on_commit_callbacks):
    hosting = customers
    with at(date(2026, 12, 1)):
        campaign = new_campaign(owner_tenant, hosting)
        assert advance(org, campaign) == []  # months before T-30: nothing happens
    with at(date(2027, 1, 1)):  # T-90: the new server is ready
        with tenant_scope(org):
            services.campaign_confirm_ready(tenant=owner_tenant, campaign=campaign)
            campaign.refresh_from_db()
        assert campaign.ready_confirmed_by_label == owner_tenant.actor_label
        assert campaign.ready_confirmed_at.date() == date(2027, 1, 1)

    with at(date(2027, 3, 1)):  # T-30: the list, and one email per team
        with tenant_scope(org), django_capture_on_commit_callbacks(execute=True):
            assert advance_campaigns_for_all_organizations.delay().get() == 1  # beat's daily task
        with tenant_scope(org):
            notify = CampaignRun.objects.get(campaign=campaign, kind=RunKind.NOTIFY)
            assert notify.status == RunStatus.DONE, notify.error
            assert notify.result["instances"] == 9
            assert MigrationTeam.objects.filter(campaign=campaign).count() == 3
            assert MigrationTeam.objects.get(external_id="t-big").account.name == "Bigco"
        assert len(mail.outbox) == 3
        big_notice = next(m for m in mail.outbox if m.to == ["ops@bigco.example"])
        assert "big-line-1 (i1)" in big_notice.body
        assert "big-line-2 (i2)" in big_notice.body
        assert "Wednesday 31 March 2027" in big_notice.body
        assert NEW_SERVER in big_notice.subject
        assert "small-a" not in big_notice.body
        assert advance(org, campaign) == []  # again the same day: nothing more
        assert len(mail.outbox) == 3

    with at(date(2027, 3, 2)):  # the next day: Smallco restarted one instance itself
        hosting.customer_restarts("i3")
        [refresh] = advance(org, campaign)
        assert (refresh.kind, refresh.status, refresh.result["moved"]) == (RunKind.REFRESH, RunStatus.DONE, 1)
        assert advance(org, campaign) == []
    with at(date(2027, 3, 12)):
        hosting.customer_restarts("i4")
        advance(org, campaign)
    assert statuses(org, campaign)["i4"] == InstanceStatus.MOVED

    with at(date(2027, 3, 24)):  # T-7: review what remains
        runs = advance(org, campaign)
        assert [run.kind for run in runs] == [RunKind.REFRESH, RunKind.REVIEW]
        review = runs[1]
        assert sorted(review.result["important"]) == ["Bigco Ops", "Midco Factory"]
        with tenant_scope(org):
            tasks = list(Task.objects.filter(title__startswith="Offer help with the server migration"))
            assert len(tasks) == 2
            big_task = next(t for t in tasks if t.account.name == "Bigco")
            assert big_task.assignee.memberships.get().role == Role.CSM
            assert big_task.due_date == date(2027, 3, 30)
            mid_task = next(t for t in tasks if t.account.name == "Midco")
            assert mid_task.assignee == owner_tenant.user  # no CSM on Midco: the campaign's owner
            assert MigrationTeam.objects.get(external_id="t-mid").important_because == "5 instances left"
            assert MigrationTeam.objects.get(external_id="t-big").important_because == "enterprise, ARR 120,000"
        advance(org, campaign)
        with tenant_scope(org):
            assert Task.objects.filter(title__startswith="Offer help").count() == 2  # once per team

    with at(DEADLINE):  # deadline day: restart the rest, check each
        runs = advance(org, campaign)
        deadline_run = runs[-1]
        assert deadline_run.kind == RunKind.DEADLINE
        assert deadline_run.status == RunStatus.DONE, deadline_run.error
    final = statuses(org, campaign)
    assert final == {
        "i1": "restarted",
        "i2": "failed",
        "i3": "moved",
        "i4": "moved",
        "i5": "restarted",
        "i6": "restarted",
        "i7": "restarted",
        "i8": "restarted",
        "i9": "failed",
    }
    assert deadline_run.result["tickets_opened"] == 2
    with tenant_scope(org):
        failed = {i.external_id: i for i in MigrationInstance.objects.filter(status=InstanceStatus.FAILED)}
        assert "crashed" in failed["i2"].failure
        assert "within 1 s" in failed["i9"].failure
        tickets = {t.pk: t for t in Ticket.objects.all()}
        assert len(tickets) == 2
        big_ticket = tickets[failed["i2"].ticket_id]
        assert big_ticket.requester.email == "ops@bigco.example"
        assert "big-line-2" in big_ticket.messages.first().body_text
        failure_emails = CampaignEmail.objects.filter(campaign=campaign, kind=EmailKind.FAILURE)
        assert failure_emails.count() == 2
        assert all(email.sent_at for email in failure_emails)
        assert CampaignEmail.objects.filter(campaign=campaign).count() == 5  # every email is recorded
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.COMPLETED
        snapshot = CampaignSnapshot.objects.get(campaign=campaign, day=DEADLINE)
        assert (snapshot.to_migrate, snapshot.moved, snapshot.restarted, snapshot.failed) == (0, 2, 5, 2)
        assert CampaignSnapshot.objects.filter(campaign=campaign).count() >= 5
    failure_to_big = [m for m in mail.outbox if m.to == ["ops@bigco.example"] and "did not restart" in m.subject]
    assert len(failure_to_big) == 1
    assert f"#{big_ticket.number}" in failure_to_big[0].body
    restarts = sum(n for key, n in hosting.requests.items() if key.endswith("/restart"))
    assert restarts == 7
    with at(DEADLINE, hour=9):
        assert advance(org, campaign) == []  # completed: a second beat restarts nothing
    assert sum(n for key, n in hosting.requests.items() if key.endswith("/restart")) == 7


def test_the_notice_waits_for_the_server_to_be_confirmed_ready(org, owner_tenant, customers):
    with at(date(2027, 3, 1)):
        campaign = new_campaign(owner_tenant, customers)
        [notify] = advance(org, campaign)
        assert notify.status == RunStatus.FAILED
        assert "not confirmed ready" in notify.error
        assert mail.outbox == []
        with tenant_scope(org):
            services.campaign_confirm_ready(tenant=owner_tenant, campaign=campaign)
    with at(date(2027, 3, 2)):
        runs = advance(org, campaign)
        assert runs[0].kind == RunKind.NOTIFY
        assert (runs[0].status, runs[0].attempts) == (RunStatus.DONE, 2)
    assert len(mail.outbox) == 3


def test_a_paused_campaign_runs_no_step(org, owner_tenant, customers):
    campaign = new_campaign(owner_tenant, customers)
    with tenant_scope(org):
        services.campaign_confirm_ready(tenant=owner_tenant, campaign=campaign)
        services.campaign_pause(tenant=owner_tenant, campaign=campaign)
    with at(date(2027, 3, 1)):
        assert advance(org, campaign) == []
        with tenant_scope(org), pytest.raises(services.ApplicationError):
            services.campaign_run_now(tenant=owner_tenant, campaign=campaign)
    with at(DEADLINE):
        assert advance(org, campaign) == []
    assert mail.outbox == []
    assert not any(key.endswith("/restart") for key in customers.requests)
    with tenant_scope(org):
        services.campaign_resume(tenant=owner_tenant, campaign=campaign)
    with at(date(2027, 3, 1)):
        assert [run.kind for run in advance(org, campaign)] == [RunKind.NOTIFY]


def test_the_platform_down_fails_the_pass_and_the_next_pass_retries(org, owner_tenant, customers):
    campaign = new_campaign(owner_tenant, customers)
    with tenant_scope(org):
        services.campaign_confirm_ready(tenant=owner_tenant, campaign=campaign)
    customers.down = True
    with at(date(2027, 3, 1)):
        [notify] = advance(org, campaign)
    assert notify.status == RunStatus.FAILED
    assert "503" in notify.error
    customers.down = False
    with at(date(2027, 3, 1), hour=10):
        [notify] = advance(org, campaign)
    assert notify.status == RunStatus.DONE
    assert len(mail.outbox) == 3


def test_a_csv_campaign_imports_then_drops_what_customers_restarted(org, owner_tenant):
    campaign = new_campaign(
        owner_tenant, type("NoPlatform", (), {"base_url": "", "token": ""})(), instance_source=InstanceSource.CSV
    )
    header = "team_id,team_name,team_email,instance_id,instance_name\n"
    rows = (
        "t1,Team One,one@one.example,a1,alpha\nt1,Team One,one@one.example,a2,beta\nt2,Two,two@two.example,b1,gamma\n"
    )
    with tenant_scope(org):
        services.campaign_confirm_ready(tenant=owner_tenant, campaign=campaign)
        with pytest.raises(services.ValidationError):
            services.instances_import_csv(tenant=owner_tenant, campaign=campaign, csv_text="team,instance\nx,y\n")
        counts = services.instances_import_csv(tenant=owner_tenant, campaign=campaign, csv_text=header + rows)
    assert counts["added"] == 3
    with at(date(2027, 3, 1)):
        [notify] = advance(org, campaign)
    assert notify.status == RunStatus.DONE, notify.error
    assert sorted(m.to[0] for m in mail.outbox) == ["one@one.example", "two@two.example"]
    with at(date(2027, 3, 5)), tenant_scope(org):
        # The day's export no longer lists beta: the customer restarted it.
        counts = services.instances_import_csv(
            tenant=owner_tenant,
            campaign=campaign,
            csv_text=header + "t1,Team One,one@one.example,a1,alpha\nt2,Two,two@two.example,b1,gamma\n",
        )
    assert counts["moved"] == 1
    assert statuses(org, campaign) == {"a1": "to_migrate", "a2": "moved", "b1": "to_migrate"}


def test_a_deadline_pass_left_running_by_a_dead_worker_is_resumed(org, owner_tenant, customers):
    """The worker died after restarting i1: the pass is taken again later, i1 is checked (not restarted twice),
    and the rest are restarted."""
    campaign = new_campaign(owner_tenant, customers)
    with tenant_scope(org):
        services.campaign_confirm_ready(tenant=owner_tenant, campaign=campaign)
    with at(date(2027, 3, 1)):
        advance(org, campaign)
    with at(DEADLINE, hour=6), tenant_scope(org):
        CampaignRun.objects.create(
            organization=org,
            campaign=campaign,
            kind=RunKind.DEADLINE,
            day=DEADLINE,
            started_at=datetime(2027, 3, 31, 6, tzinfo=UTC),
        )
        MigrationInstance.objects.filter(external_id="i1").update(status=InstanceStatus.RESTARTING)
        customers.instances["i1"].server = NEW_SERVER  # its restart went through before the worker died
        ran = [run.kind for run in advance(org, campaign)]
        assert ran == [RunKind.REFRESH, RunKind.REVIEW]  # a late review runs; the deadline pass is held
    with at(DEADLINE, hour=9):
        runs = advance(org, campaign)
    deadline_run = runs[-1]
    assert (deadline_run.kind, deadline_run.status, deadline_run.attempts) == (RunKind.DEADLINE, RunStatus.DONE, 2)
    assert customers.requests["POST /api/v1/instances/i1/restart"] == 0
    assert customers.requests["POST /api/v1/instances/i5/restart"] == 1
    assert statuses(org, campaign)["i1"] == InstanceStatus.RESTARTED
