"""The three report pages, read the way a member reads them: the numbers in their tables, cards and messages."""

import zoneinfo
from datetime import date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import LifecycleStage
from accounts.services import account_create, account_update, contact_create
from core.models import Role
from core.tenancy import Tenant, tenant_scope
from lifecycle.services import contact_stage_change, deal_create
from tests.factories import MembershipFactory

S = LifecycleStage
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Picker(HTMLParser):
    """Collects the text (and the table cells) inside the element that has data-testid=`testid`."""

    def __init__(self, testid: str):
        super().__init__()
        self.testid, self.depth, self.found = testid, 0, False
        self.parts: list[str] = []
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in VOID_TAGS:
            return
        if self.depth:
            self.depth += 1
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = []
        elif not self.found and dict(attrs).get("data-testid") == self.testid:
            self.depth, self.found = 1, True

    def handle_endtag(self, tag):
        if tag in VOID_TAGS or not self.depth:
            return
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join(" ".join(self.cell).split()))
            self.cell = None
        self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)
            if self.cell is not None:
                self.cell.append(data)


def _pick(response, testid: str) -> _Picker:
    assert response.status_code == 200
    picker = _Picker(testid)
    picker.feed(response.content.decode())
    assert picker.found, f"nothing with data-testid={testid!r} on the page"
    return picker


def text(response, testid: str) -> str:
    return " ".join(" ".join(_pick(response, testid).parts).split())


def table(response, testid: str) -> list[list[str]]:
    return _pick(response, testid).rows


def has(response, testid: str) -> bool:
    return f'data-testid="{testid}"' in response.content.decode()


@pytest.fixture
def member(org):
    def make(first_name: str, last_name: str, role: str = Role.AE):
        return MembershipFactory(
            organization=org, role=role, user__first_name=first_name, user__last_name=last_name
        ).user

    return make


@pytest.fixture
def admin(org, member) -> Tenant:
    return Tenant(organization=org, role=Role.ADMIN, user=member("Ada", "Admin", Role.ADMIN))


@pytest.fixture
def ana(member):
    return member("Ana", "Lopez")


@pytest.fixture
def ben(member):
    return member("Ben", "Okafor")


def forecast_url(org) -> str:
    return f"/o/{org.slug}/reports/forecast/"


def funnel_url(org) -> str:
    return f"/o/{org.slug}/reports/funnel/"


def cohorts_url(org) -> str:
    return f"/o/{org.slug}/reports/cohorts/"


# --- Forecast --------------------------------------------------------------------------------------------------


def test_forecast_shows_weighted_pipeline_per_month_and_owner(org, admin, ana, ben, client_for):
    with tenant_scope(org):
        account = account_create(tenant=admin, name="Quarry Labs")

        def open_deal(amount: str, close: date | None = None, **values) -> None:
            deal_create(tenant=admin, account=account, amount=Decimal(amount), expected_close_date=close, **values)

        # Opportunity is 10% by default: 20,000 weighs 2,000.
        open_deal("20000", date(2027, 3, 10), owner=ana)
        open_deal("50000", date(2027, 3, 28), owner=ben)
        open_deal("30000", date(2027, 5, 2), owner=ana)
        open_deal("90000", date(2027, 3, 1), currency="EUR")
        open_deal("70000", owner=ben)
    response = client_for(Role.VIEWER).get(forecast_url(org))
    assert table(response, "forecast-table") == [
        ["Close month", "Ana Lopez", "Ben Okafor", "Total"],
        ["Mar 2027", "$2,000", "$5,000", "$7,000"],
        ["May 2027", "$3,000", "—", "$3,000"],
        ["Total", "$5,000", "$5,000", "$10,000"],
    ]
    assert text(response, "weighted-total") == "$10,000"
    assert text(response, "left-out") == "2"
    hint = text(response, "left-out-hint")
    assert "1 open deal in another currency (not converted)" in hint
    assert "1 without an expected close date" in hint
    assert 'data-chart="forecast"' in response.content.decode()

    narrowed = client_for(Role.VIEWER).get(forecast_url(org), {"owner": ana.pk})
    assert table(narrowed, "forecast-table") == [
        ["Close month", "Ana Lopez", "Total"],
        ["Mar 2027", "$2,000", "$2,000"],
        ["May 2027", "$3,000", "$3,000"],
        ["Total", "$5,000", "$5,000"],
    ]
    by_quarter = client_for(Role.VIEWER).get(forecast_url(org), {"close_quarter": "2027-Q2"})
    assert text(by_quarter, "weighted-total") == "$3,000"


def test_forecast_leaves_out_closed_deals_and_explains_a_bad_filter(org, admin, ana, client_for):
    with tenant_scope(org):
        account = account_create(tenant=admin, name="Quarry Labs")
        deal_create(
            tenant=admin,
            account=account,
            amount=Decimal("40000"),
            expected_close_date=date(2027, 1, 5),
            stage="closed_lost",
            lost_reason="Price",
        )
    client = client_for(Role.CSM)
    response = client.get(forecast_url(org))
    assert "No open deals" in text(response, "empty")
    assert not has(response, "forecast-table")
    invalid = client.get(forecast_url(org), {"close_quarter": "next spring"})
    assert "Write the quarter as YYYY-Qn" in text(invalid, "filter-errors")
    assert "No open deals match these filters" in text(invalid, "empty")
    assert "Owner: Enter a number." in text(client.get(forecast_url(org), {"owner": "Ana"}), "filter-errors")


# --- Funnel ----------------------------------------------------------------------------------------------------


@pytest.fixture
def funnel_scenario(org, admin, ana, ben):
    """Ana: two Subscribers, one of whom became a Lead the next day. Ben: a Lead who became an MQL."""
    start = timezone.now() - timedelta(days=10)
    with tenant_scope(org):
        with time_machine.travel(start, tick=False):
            first = contact_create(tenant=admin, email="first@quarry.example", lifecycle_stage=S.SUBSCRIBER, owner=ana)
            contact_create(tenant=admin, email="second@quarry.example", lifecycle_stage=S.SUBSCRIBER, owner=ana)
            lead = contact_create(tenant=admin, email="lead@bluefin.example", lifecycle_stage=S.LEAD, owner=ben)
        with time_machine.travel(start + timedelta(days=1), tick=False):
            contact_stage_change(tenant=admin, contact=first, to_stage=S.LEAD)
            contact_stage_change(tenant=admin, contact=lead, to_stage=S.MARKETING_QUALIFIED_LEAD)


def test_funnel_shows_entered_counts_and_conversion_per_owner(org, funnel_scenario, ben, client_for):
    client = client_for(Role.VIEWER)
    response = client.get(funnel_url(org))
    header, everyone, ana_row, ben_row = table(response, "funnel-table")
    assert header == ["Owner", "Subscriber", "Lead", "Marketing Qualified Lead", "Product Qualified Lead",
                      "Sales Qualified Lead", "Opportunity", "Customer"]  # fmt: skip
    assert everyone == ["Everyone", "2 50.0%", "2 50.0%", "1 0.0%", "0 —", "0 —", "0 —", "0"]
    assert ana_row == ["Ana Lopez", "2 50.0%", "1 0.0%", "0 —", "0 —", "0 —", "0 —", "0"]
    assert ben_row == ["Ben Okafor", "0 —", "1 100.0%", "1 0.0%", "0 —", "0 —", "0 —", "0"]
    assert "the share that has moved to the next stage since" in response.content.decode()
    assert 'data-chart="funnel"' in response.content.decode()

    only_ben = client.get(funnel_url(org), {"owner": ben.pk})
    assert table(only_ben, "funnel-table")[1:] == [ben_row]


def test_funnel_period_is_whole_days_in_the_organizations_zone(org, admin, ana, client_for):
    berlin = zoneinfo.ZoneInfo(org.timezone)
    late_evening = datetime(2026, 6, 30, 23, 30, tzinfo=berlin)  # already 1 July in UTC
    with tenant_scope(org), time_machine.travel(late_evening, tick=False):
        contact_create(tenant=admin, email="late@quarry.example", lifecycle_stage=S.LEAD, owner=ana)
    client = client_for(Role.CSM)
    june = client.get(funnel_url(org), {"start": "2026-06-01", "end": "2026-06-30"})
    assert table(june, "funnel-table")[1] == ["Ana Lopez", "0 —", "1 0.0%", "0 —", "0 —", "0 —", "0 —", "0"]
    july = client.get(funnel_url(org), {"start": "2026-07-01", "end": "2026-07-31"})
    assert "No stage changes in this period" in text(july, "empty")


def test_funnel_says_when_the_period_is_wrong_and_falls_back_to_the_last_90_days(org, funnel_scenario, client_for):
    client = client_for(Role.CSM)
    response = client.get(funnel_url(org), {"start": "not-a-date"})
    assert "“not-a-date” is not a date: write it as YYYY-MM-DD" in text(response, "period-errors")
    assert "last 90 days" in text(response, "period-errors")
    assert table(response, "funnel-table")[1][:2] == ["Everyone", "2 50.0%"]
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(org.timezone))
    assert f'value="{today - timedelta(days=89):%Y-%m-%d}"' in response.content.decode()

    far_off = client.get(funnel_url(org), {"start": "2026-01-01", "end": "9999-12-31"})
    assert "“9999-12-31” is not a date" in text(far_off, "period-errors")

    reversed_period = client.get(funnel_url(org), {"start": "2026-05-01", "end": "2026-04-01"})
    assert "is after the end date" in text(reversed_period, "period-errors")


def test_funnel_empty_state(org, client_for):
    response = client_for(Role.CSM).get(funnel_url(org))
    assert "No stage changes in this period" in text(response, "empty")
    assert not has(response, "period-errors")


# --- Cohorts ---------------------------------------------------------------------------------------------------


def test_cohort_report_counts_moves_and_the_days_each_step_took(org, admin, client_for):
    start = timezone.now() - timedelta(days=100)
    with tenant_scope(org):
        with time_machine.travel(start, tick=False):
            account = account_create(tenant=admin, name="Bluefin", cohort="trial")
        with time_machine.travel(start + timedelta(days=30), tick=False):
            account_update(tenant=admin, account=account, cohort="starter")
    response = client_for(Role.VIEWER).get(cohorts_url(org))
    assert table(response, "cohort-table") == [
        ["Step", "Moves", "Average days"],
        ["Trial → Starter", "1", "30.0"],
        ["Starter → Premium", "0", "—"],
        ["Premium → Enterprise", "0", "—"],
    ]
    assert (text(response, "upgrades"), text(response, "downgrades"), text(response, "skipped")) == ("1", "0", "0")
    assert "moving customers down the cohort table" in response.content.decode()
    assert 'data-chart="cohort-moves"' in response.content.decode()

    before = client_for(Role.VIEWER).get(cohorts_url(org), {"start": "2000-01-01", "end": "2000-12-31"})
    assert "No cohort moves in this period" in text(before, "empty")


def test_cohort_report_empty_state_and_bad_dates(org, client_for):
    response = client_for(Role.CSM).get(cohorts_url(org), {"end": "31/12/2026"})
    assert "No cohort moves in this period" in text(response, "empty")
    assert "last 365 days" in text(response, "period-errors")


# --- Access and cost -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [forecast_url, funnel_url, cohorts_url])
def test_viewers_see_the_reports_outsiders_get_404(org, other_org, client_for, url):
    response = client_for(Role.VIEWER).get(url(org))
    assert response.status_code == 200
    assert 'class="tabs"' in response.content.decode()
    assert 'aria-current="page"' in response.content.decode()
    assert client_for(Role.ADMIN, organization=other_org).get(url(org)).status_code == 404


def _queries(client, url: str) -> int:
    client.get(url)  # the first visit writes the active organization to the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_forecast_queries_do_not_grow_with_deals(org, admin, member, client_for):
    client = client_for(Role.CSM)
    owners = [member(f"Owner{index}", "Seller") for index in range(5)]

    def add_deals(count: int) -> None:
        with tenant_scope(org):
            account = account_create(tenant=admin, name=f"Account with {count}")
            for index in range(count):
                deal_create(
                    tenant=admin,
                    account=account,
                    amount=Decimal("1000") + index,
                    expected_close_date=date(2027, 1 + index % 12, 1),
                    owner=owners[index % len(owners)],
                    currency="EUR" if index % 7 == 0 else "USD",
                )

    add_deals(3)
    few = _queries(client, forecast_url(org))
    add_deals(30)
    assert _queries(client, forecast_url(org)) == few


def test_funnel_queries_do_not_grow_with_stage_changes(org, admin, member, client_for):
    client = client_for(Role.CSM)
    owners = [member(f"Owner{index}", "Seller") for index in range(5)]

    def add_contacts(count: int, prefix: str) -> None:
        with tenant_scope(org):
            for index in range(count):
                contact = contact_create(
                    tenant=admin,
                    email=f"{prefix}{index}@quarry.example",
                    lifecycle_stage=S.SUBSCRIBER,
                    owner=owners[index % len(owners)],
                )
                if index % 2:
                    contact_stage_change(tenant=admin, contact=contact, to_stage=S.LEAD)

    add_contacts(3, "few")
    few = _queries(client, funnel_url(org))
    add_contacts(30, "many")
    assert _queries(client, funnel_url(org)) == few


def test_cohort_report_queries_do_not_grow_with_moves(org, admin, client_for):
    client = client_for(Role.CSM)

    def add_moves(count: int) -> None:
        with tenant_scope(org):
            for index in range(count):
                account = account_create(tenant=admin, name=f"Mover {count}-{index}", cohort="trial")
                account_update(tenant=admin, account=account, cohort="starter")
                if index % 2:
                    account_update(tenant=admin, account=account, cohort="enterprise")

    add_moves(3)
    few = _queries(client, cohorts_url(org))
    add_moves(30)
    assert _queries(client, cohorts_url(org)) == few


def test_a_member_name_cannot_break_out_of_the_chart_data(org, client_for):
    from decimal import Decimal

    from tests.factories import AccountFactory, DealFactory, MembershipFactory

    owner = MembershipFactory(organization=org, role=Role.AE, user__first_name="</script><script>alert(1)//").user
    DealFactory(
        account=AccountFactory(organization=org), owner=owner, amount=Decimal("1000"), expected_close_date="2027-03-01"
    )
    html = client_for(Role.VIEWER).get(f"/o/{org.slug}/reports/forecast/").content.decode()
    assert "<script>alert(1)" not in html
    assert "\\u003C/script\\u003E" in html  # escaped inside the JSON the chart reads
