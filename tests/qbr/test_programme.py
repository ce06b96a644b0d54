"""Who is in the QBR programme (seed 000), when QBRs are proposed (seed 003), and when one is overdue."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, AccountStatus
from core.models import Role
from lifecycle.models import OnboardingPlan
from qbr import rules
from qbr.models import Meeting, MeetingKind, MeetingStatus, QbrSettings
from qbr.selectors import ProgrammeFilters, programme_accounts, programme_list
from qbr.services import qbr_proposals_create
from tests.factories import AccountFactory, DealFactory, MembershipFactory, TaskFactory
from tests.qbr.factories import MeetingFactory

TODAY = date(2026, 12, 1)


def at(day: date, hour: int = 12):
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def held_qbr(account, day: date):
    return MeetingFactory(account=account, status=MeetingStatus.HELD, starts_at=at(day, 10))


# --- Membership ------------------------------------------------------------------------------------------------


def test_the_programme_is_arr_over_the_threshold_or_a_nomination(scope):
    org = scope
    over = AccountFactory(organization=org, arr=Decimal("10000.01"))
    at_threshold = AccountFactory(organization=org, arr=Decimal("10000.00"))
    nominated = AccountFactory(
        organization=org, arr=Decimal("2000"), qbr_nominated=True, qbr_nomination_reason="Growth potential"
    )
    churned = AccountFactory(organization=org, arr=Decimal("90000"), status=AccountStatus.CHURNED)
    members = set(programme_accounts(today=TODAY).values_list("pk", flat=True))
    # Seed 000: "over $10k ARR, or manually nominated"; a churned customer is offered nothing.
    assert members == {over.pk, nominated.pk}
    assert at_threshold.pk not in members
    assert churned.pk not in members


def test_an_organization_sets_its_own_threshold(scope, other_org):
    QbrSettings.objects.create(organization=scope, arr_threshold=Decimal("50000"))
    mid = AccountFactory(organization=scope, arr=Decimal("20000"))
    big = AccountFactory(organization=scope, arr=Decimal("60000"))
    assert set(programme_accounts(today=TODAY).values_list("pk", flat=True)) == {big.pk}
    assert mid.pk not in set(programme_accounts(today=TODAY).values_list("pk", flat=True))


def test_the_account_list_filters_on_the_programme(org, client_for):
    client = client_for(Role.CSM)
    AccountFactory(organization=org, name="Big Co", arr=Decimal("25000"))
    AccountFactory(organization=org, name="Small Co", arr=Decimal("500"))
    AccountFactory(organization=org, name="Promising Co", arr=Decimal("500"), qbr_nominated=True)
    inside = client.get(f"/o/{org.slug}/accounts/", {"qbr_programme": "true"}).content.decode()
    assert "Big Co" in inside
    assert "Promising Co" in inside
    assert "Small Co" not in inside
    outside = client.get(f"/o/{org.slug}/accounts/", {"qbr_programme": "false"}).content.decode()
    assert "Small Co" in outside
    assert "Big Co" not in outside


def test_the_programme_filter_keeps_the_account_list_query_count(org, client_for):
    client = client_for(Role.CSM)

    def count(params) -> int:
        client.get(f"/o/{org.slug}/accounts/", params)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/o/{org.slug}/accounts/", params).status_code == 200
        return len(queries)

    AccountFactory.create_batch(3, organization=org)
    plain, filtered = count({}), count({"qbr_programme": "true"})
    AccountFactory.create_batch(30, organization=org)
    assert count({"qbr_programme": "true"}) == filtered == plain


def test_the_api_filters_on_the_programme_too(org, api_for):
    AccountFactory(organization=org, name="Big Co", arr=Decimal("25000"))
    AccountFactory(organization=org, name="Small Co", arr=Decimal("500"))
    names = [row["name"] for row in api_for(Role.VIEWER).get("/api/v1/accounts/?qbr_programme=true").json()["results"]]
    assert names == ["Big Co"]


# --- Proposals (pure rules) ------------------------------------------------------------------------------------


def test_first_qbr_is_proposed_90_days_after_kickoff():
    proposals = rules.qbr_schedule_proposals(
        today=date(2026, 9, 1), kickoff=date(2026, 9, 1), renewal=None, last_qbr=None, joined=date(2026, 8, 1)
    )
    assert [(p.day, p.reason) for p in proposals] == [(date(2026, 11, 30), "90 days after kickoff on 1 Sep 2026")]


def test_one_qbr_is_proposed_90_days_before_renewal_besides_the_quarterly_one():
    proposals = rules.qbr_schedule_proposals(
        today=date(2026, 12, 1), kickoff=None, renewal=date(2027, 9, 1), last_qbr=date(2026, 11, 1),
        joined=date(2025, 1, 1),
    )  # fmt: skip
    assert [p.day for p in proposals] == [date(2027, 1, 30), date(2027, 6, 3)]
    assert proposals[0].reason == "a quarter after the last QBR on 1 Nov 2026"
    assert proposals[1].reason == "90 days before renewal on 1 Sep 2027"


def test_a_renewal_proposal_close_to_the_quarterly_one_is_one_meeting():
    proposals = rules.qbr_schedule_proposals(
        today=date(2026, 12, 1), kickoff=None, renewal=date(2027, 5, 10), last_qbr=date(2026, 11, 20),
        joined=date(2025, 1, 1),
    )  # fmt: skip
    assert len(proposals) == 1
    assert proposals[0].day == date(2027, 2, 9)  # renewal minus 90 days, the earlier of the two
    assert "90 days before renewal" in proposals[0].reason
    assert "a quarter after the last QBR" in proposals[0].reason


def test_a_date_that_has_passed_becomes_as_soon_as_possible():
    proposals = rules.qbr_schedule_proposals(
        today=date(2026, 12, 1), kickoff=date(2026, 1, 5), renewal=None, last_qbr=None, joined=date(2026, 1, 1)
    )
    assert proposals[0].day == date(2026, 12, 8)
    assert proposals[0].reason.endswith("which has passed: as soon as possible")


def test_quarterly_means_every_90_days():
    assert rules.qbr_due_date(last_qbr=date(2026, 3, 1), kickoff=None, joined=date(2025, 1, 1)) == date(2026, 5, 30)


# --- Overdue, with a frozen clock ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_qbr_days_ago", "overdue"),
    [(None, True), (200, True), (91, True), (90, False), (30, False)],
)
def test_a_programme_account_without_a_qbr_in_the_last_quarter_is_overdue(scope, last_qbr_days_ago, overdue):
    with time_machine.travel(at(TODAY), tick=False):
        account = AccountFactory(organization=scope, arr=Decimal("20000"))
        Account.objects.filter(pk=account.pk).update(created_at=at(TODAY - timedelta(days=400)))
        if last_qbr_days_ago is not None:
            held_qbr(account, TODAY - timedelta(days=last_qbr_days_ago))
        rows = programme_list(today=TODAY, filters=ProgrammeFilters())
        assert [row.overdue for row in rows] == [overdue]
        in_sql = programme_list(today=TODAY, filters=ProgrammeFilters(overdue_only=True))
        assert [row.account.pk for row in in_sql] == ([account.pk] if overdue else [])


def test_a_new_customer_is_not_overdue_before_a_quarter_after_kickoff(scope):
    csm = MembershipFactory(organization=scope, role=Role.CSM).user
    with time_machine.travel(at(TODAY), tick=False):
        account = AccountFactory(organization=scope, arr=Decimal("20000"), csm_owner=csm)
        Account.objects.filter(pk=account.pk).update(created_at=at(TODAY - timedelta(days=300)))
        deal = DealFactory(account=account)
        plan = OnboardingPlan.objects.create(organization=scope, account=account, deal=deal, csm=csm)
        TaskFactory(account=account, onboarding_plan=plan, title="Kickoff call", position=0,
                    due_date=TODAY - timedelta(days=40))  # fmt: skip
        row = programme_list(today=TODAY, filters=ProgrammeFilters())[0]
        assert row.account.kickoff_date == TODAY - timedelta(days=40)
        assert not row.overdue
        assert row.due == TODAY + timedelta(days=50)
    with time_machine.travel(at(TODAY + timedelta(days=51)), tick=False):
        assert programme_list(today=TODAY + timedelta(days=51), filters=ProgrammeFilters())[0].overdue


def test_overdue_accounts_show_on_the_programme_page_and_the_csms_my_work(org, client_for):
    client = client_for(Role.CSM)
    with time_machine.travel(at(TODAY), tick=False):
        overdue = AccountFactory(organization=org, name="Overdue Co", arr=Decimal("20000"), csm_owner=client.user)
        fresh = AccountFactory(organization=org, name="Fresh Co", arr=Decimal("20000"), csm_owner=client.user)
        Account.objects.with_scopes_disabled().filter(pk__in=[overdue.pk, fresh.pk]).update(
            created_at=at(TODAY - timedelta(days=400))
        )
        with_scope_held = MeetingFactory(
            account=fresh, status=MeetingStatus.HELD, starts_at=at(TODAY - timedelta(days=20))
        )
        assert with_scope_held.pk
        page = client.get(f"/o/{org.slug}/qbrs/").content.decode()
        assert 'data-testid="overdue-count">1<' in page
        assert f'data-testid="programme-row-{overdue.pk}"' in page
        assert f'data-testid="programme-row-{fresh.pk}"' in page
        work = client.get(f"/o/{org.slug}/my-work/").content.decode()
        assert f'data-testid="qbr-overdue-{overdue.pk}"' in work
        assert f'data-testid="qbr-overdue-{fresh.pk}"' not in work


def test_the_programme_page_runs_a_constant_number_of_queries(org, client_for):
    client = client_for(Role.CSM)

    def count() -> int:
        client.get(f"/o/{org.slug}/qbrs/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/o/{org.slug}/qbrs/").status_code == 200
        return len(queries)

    def add(n):
        for _ in range(n):
            account = AccountFactory(organization=org, arr=Decimal("30000"), csm_owner=client.user)
            MeetingFactory(account=account, status=MeetingStatus.HELD, starts_at=timezone.now() - timedelta(days=200))
            MeetingFactory(account=account)

    add(2)
    few = count()
    add(15)
    assert count() == few


def test_the_schedule_proposes_once_per_account(scope):
    with time_machine.travel(at(TODAY), tick=False):
        account = AccountFactory(organization=scope, arr=Decimal("20000"), renewal_date=date(2027, 9, 1))
        Account.objects.filter(pk=account.pk).update(created_at=at(TODAY - timedelta(days=400)))
        small = AccountFactory(organization=scope, arr=Decimal("100"))
        first = qbr_proposals_create(organization=scope, today=TODAY)
        again = qbr_proposals_create(organization=scope, today=TODAY)
    assert [meeting.account_id for meeting in first] == [account.pk]
    assert again == []
    proposal = Meeting.objects.get(account=account)
    assert (proposal.kind, proposal.status) == (MeetingKind.QBR, MeetingStatus.PROPOSED)
    assert proposal.starts_at.date() == TODAY + timedelta(days=7)
    assert not Meeting.objects.filter(account=small).exists()


def test_the_csm_confirms_a_proposal(org, client_for):
    client = client_for(Role.CSM)
    with tenant_scope_of(org):
        account = AccountFactory(organization=org, arr=Decimal("20000"))
        (proposal,) = qbr_proposals_create(organization=org)
    response = client.post(f"/o/{org.slug}/meetings/{proposal.pk}/confirm/", {"starts_at": "2027-01-12T14:30"})
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == MeetingStatus.SCHEDULED
    # Entered in the organization's zone (Europe/Berlin), stored in UTC.
    assert (
        timezone.localtime(proposal.starts_at, ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%d %H:%M")
        == "2027-01-12 14:30"
    )
    assert account.pk == proposal.account_id


def tenant_scope_of(org):
    from core.tenancy import tenant_scope

    return tenant_scope(org)


def test_scheduling_a_qbr_withdraws_the_open_proposal(scope, tenant):
    from qbr.services import meeting_create

    account = AccountFactory(organization=scope, arr=Decimal("20000"))
    (proposal,) = qbr_proposals_create(organization=scope)
    routine = meeting_create(
        tenant=tenant, account=account, kind=MeetingKind.ROUTINE, starts_at=timezone.now() + timedelta(days=2)
    )
    proposal.refresh_from_db()
    assert proposal.status == MeetingStatus.PROPOSED  # another kind of meeting leaves it alone
    meeting_create(tenant=tenant, account=account, starts_at=timezone.now() + timedelta(days=20))
    proposal.refresh_from_db()
    assert proposal.status == MeetingStatus.CANCELLED
    assert routine.status == MeetingStatus.SCHEDULED
