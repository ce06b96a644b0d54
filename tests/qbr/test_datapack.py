"""The data pack: each part with its source and as-of time, with data and without (seed 003's QBR data)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from core.models import Role
from qbr import datapack
from qbr.datapack import PackPart, data_pack
from qbr.models import FeatureRequestStatus
from qbr.services import feature_request_create, uptime_note_add
from tests.factories import AccountFactory, ContactFactory
from tests.qbr.test_meetings import _pdf_text
from tickets.models import Escalation, Priority, Ticket

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
START, END = date(2026, 9, 2), date(2026, 12, 1)


@pytest.fixture
def account(scope):
    return AccountFactory(
        organization=scope, name="Bluefin", arr=Decimal("24000"), mrr=Decimal("2000"), renewal_date=date(2027, 3, 1)
    )


def parts(account) -> dict[str, PackPart]:
    return {part.key: part for part in data_pack(account=account, start=START, end=END, now=NOW)}


def test_without_data_every_part_says_so_honestly(account):
    pack = parts(account)
    assert list(pack) == [
        "usage", "health", "tickets", "incidents", "escalations", "feature_requests", "uptime", "revenue",
    ]  # fmt: skip
    assert pack["health"].available is False
    assert pack["health"].empty_message == "No data yet: health scores are not set up."
    assert pack["usage"].available is False
    assert pack["usage"].empty_message.startswith("No data yet: product usage")
    assert pack["tickets"].empty_message == "No tickets this quarter."
    assert pack["incidents"].empty_message == "No P0 or P1 incidents this quarter."
    assert pack["escalations"].empty_message == "No bugs escalated or open this quarter."
    assert pack["feature_requests"].empty_message == "No feature requests from this customer yet."
    assert pack["uptime"].empty_message.startswith("No uptime notes for this quarter.")
    for part in pack.values():
        assert part.source, part.key
    assert pack["tickets"].as_of == NOW
    assert pack["revenue"].data["arr"] == Decimal("24000")
    assert pack["revenue"].data["days_to_renewal"] == 90


def test_with_data_each_part_has_it(scope, account, tenant):
    requester = ContactFactory(account=account)

    def ticket(number, priority, created, closed=None, subject="Dashboards slow"):
        row = Ticket.objects.create(
            organization=scope, number=number, subject=subject, requester=requester, account=account,
            priority=priority, closed_at=closed, status="closed" if closed else "open",
        )  # fmt: skip
        Ticket.objects.filter(pk=row.pk).update(created_at=created)
        return row

    in_quarter = NOW - timedelta(days=30)
    outage = ticket(1, Priority.P0, in_quarter, closed=in_quarter + timedelta(hours=5), subject="Everything down")
    from tickets.models import Message

    Message.objects.create(organization=scope, ticket=outage, kind=Message.Kind.CUSTOMER, body_text="Since 9:00.")
    ticket(2, Priority.P2, in_quarter)
    ticket(3, Priority.P1, NOW - timedelta(days=200))  # before the quarter
    with time_machine.travel(in_quarter, tick=False):  # escalated in the quarter, whatever the wall clock says
        Escalation.objects.create(
            organization=scope, ticket=outage, repository="acme/app", issue_number=7, issue_url="https://gh.example/7"
        )
    shipped = feature_request_create(
        tenant=tenant, title="SSO", accounts=[account], status=FeatureRequestStatus.SHIPPED
    )
    feature_request_create(tenant=tenant, title="Dark mode", accounts=[account])
    with time_machine.travel(NOW, tick=False):
        uptime_note_add(tenant=tenant, account=account, body="99.98%; one alarm on 3 Nov.", noted_on=date(2026, 11, 5))
    pack = parts(account)
    assert (pack["tickets"].data["opened"], pack["tickets"].data["closed"]) == (2, 1)
    assert pack["tickets"].data["by_priority"]["p0"] == 1
    assert sum(opened for _, opened, _ in pack["tickets"].data["weekly"]) == 2
    (incident,) = pack["incidents"].data["incidents"]
    assert (incident["number"], incident["summary"]) == (1, "Since 9:00.")
    (bug,) = pack["escalations"].data["escalations"]
    assert (bug["issue"], bug["state"]) == ("acme/app#7", "open")
    assert [r.title for r in pack["feature_requests"].data["delivered"]] == [shipped.title]
    assert [r.title for r in pack["feature_requests"].data["open"]] == ["Dark mode"]
    assert [n.body for n in pack["uptime"].data["notes"]] == ["99.98%; one alarm on 3 Nov."]
    assert pack["uptime"].as_of == NOW
    assert pack["uptime"].source == "Entered by the team"


def test_a_health_source_plugs_in(account):
    def health(*, account, start, end):
        return PackPart(key="health", title="Health score", source="Health app", as_of=NOW, available=True,
                        data={"score": 72})  # fmt: skip

    registered = datapack._SOURCES.get("health")  # the health app's own, put back after the test
    datapack.register_source("health", health)
    try:
        part = parts(account)["health"]
        datapack.unregister_source("health")
        assert parts(account)["health"].available is False
    finally:
        if registered is not None:
            datapack.register_source("health", registered)
    assert part.available
    assert part.data == {"score": 72}
    assert part.source == "Health app"


def test_the_qbr_page_shows_the_pack_with_its_sources(org, client_for, scope, account):
    from tests.qbr.factories import MeetingFactory

    meeting = MeetingFactory(account=account)
    page = client_for(Role.VIEWER).get(f"/o/{org.slug}/meetings/{meeting.pk}/").content.decode()
    assert "No data yet: health scores are not set up." in page
    assert "Source: Support inbox" in page
    assert "Source: Account record" in page


def test_the_customer_reads_the_facts_without_the_teams_advice(account):
    pack = parts(account)
    assert pack["uptime"].customer_message == "No uptime notes for this quarter."
    assert pack["usage"].customer_message == "No data yet: product usage is not set up."
    assert pack["health"].customer_message == "No data yet: health scores are not set up."


def test_with_a_stripe_ledger_the_revenue_part_tells_the_quarters_mrr(scope, account, client_for):
    from django.urls import reverse

    from revenue.models import MovementKind, RevenueMovement
    from tests.qbr.factories import MeetingFactory

    def movement(on, kind, before, after):
        RevenueMovement.objects.create(
            organization=scope, account=account, occurred_at=on, kind=kind, currency="USD",
            mrr_before=Decimal(before), mrr_after=Decimal(after), cohort=account.cohort,
        )  # fmt: skip

    movement(datetime(2026, 5, 1, tzinfo=UTC), MovementKind.NEW, "0", "1500")  # before the quarter
    movement(datetime(2026, 10, 3, tzinfo=UTC), MovementKind.EXPANSION, "1500", "2200")
    movement(datetime(2026, 11, 20, tzinfo=UTC), MovementKind.CONTRACTION, "2200", "2000")
    movement(datetime(2026, 12, 5, tzinfo=UTC), MovementKind.EXPANSION, "2000", "2600")  # after it
    revenue = parts(account)["revenue"]
    assert revenue.source == "Stripe revenue ledger and the account record"
    assert (revenue.data["mrr_start"], revenue.data["mrr_end"]) == (Decimal("1500"), Decimal("2000"))
    assert [(row["kind"], row["change"]) for row in revenue.data["movements"]] == [
        ("Expansion", Decimal("700")),
        ("Contraction", Decimal("-200")),
    ]
    assert revenue.as_of == datetime(2026, 11, 20, tzinfo=UTC)
    meeting = MeetingFactory(
        account=account, starts_at=datetime(2026, 12, 1, 15, tzinfo=UTC), period_start=START, period_end=END
    )
    page = client_for(Role.CSM).get(reverse("meeting_detail", args=[scope.slug, meeting.pk])).content.decode()
    assert "MRR this quarter: $1,500 → <strong>$2,000</strong>" in page
    assert "Contraction -$200" in page
    pdf = client_for(Role.CSM).get(reverse("meeting_pdf", args=[scope.slug, meeting.pk]))
    text = _pdf_text(pdf.content)
    assert "MRR this quarter: USD 1,500.00 to USD 2,000.00" in text
    assert "Contraction USD -200.00" in text
