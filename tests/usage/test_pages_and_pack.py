"""The account page's "Product usage" card, GET /api/v1/usage/, and the QBR data pack's usage part."""

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Role
from core.tenancy import Tenant, tenant_scope
from qbr.datapack import data_pack
from tests.factories import AccountFactory
from tests.qbr.factories import MeetingFactory
from usage.services import usage_ingest

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def account(org):
    return AccountFactory(organization=org, name="Bluefin Logistics", domain="bluefin.example")


def report(org, account, *, days=30, events=(), start_users=10):
    metrics = [
        {
            "account": account.pk,
            "date": (TODAY - timedelta(days=offset)).isoformat(),
            "users": start_users + (days - offset),
            "instances": 3,
            "devices": 20 - offset % 3,
            "applications": 4,
        }
        for offset in range(days - 1, -1, -1)
    ]
    rows = [
        {"account": account.pk, "event_id": f"{account.pk}-{i}", "feature": feature, "occurred_at": at}
        for i, (feature, at) in enumerate(events)
    ]
    with tenant_scope(org):
        result = usage_ingest(tenant=Tenant(organization=org, role=Role.CSM), metrics=metrics, events=rows)
    assert result.rejected == []


def page(client, org, account) -> str:
    response = client.get(f"/o/{org.slug}/accounts/{account.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def card(html: str) -> str:
    return html[html.index('data-testid="account-usage"') :].split('data-testid="account-deals"')[0]


def test_without_usage_the_card_says_how_to_report_it(org, account, client_for):
    html = card(page(client_for(Role.VIEWER), org, account))
    assert "No usage reported yet: POST /api/v1/usage/" in html
    assert f"with the account id ({account.pk}), its domain (bluefin.example)" in html
    assert "<canvas" not in html
    assert "usage-data" not in html


def test_the_card_charts_90_days_and_lists_adopted_features_with_first_use(org, account, client_for):
    report(
        org, account, days=30,
        events=[
            ("snapshot_created", "2026-11-03T09:00:00Z"), ("snapshot_created", "2026-11-20T09:00:00Z"),
            ("device_agent_installed", "2026-10-14T09:00:00Z"), ("my_new_feature", "2026-11-30T09:00:00Z"),
        ],
    )  # fmt: skip
    html = card(page(client_for(Role.VIEWER), org, account))
    assert "No usage reported yet" not in html
    assert html.count("<canvas data-usage-chart=") == 4
    chart = json.loads(re.search(r'<script id="usage-data" type="application/json">(.*?)</script>', html).group(1))
    assert len(chart["labels"]) == 90
    assert chart["labels"][0] == (TODAY - timedelta(days=89)).isoformat()
    assert chart["labels"][-1] == TODAY.isoformat()
    assert chart["series"]["users"][:60] == [None] * 60  # not reported: a gap, not a zero
    assert chart["series"]["users"][-1] == 40
    assert "vendor/chartjs/chart.umd.min.js" in html
    features = html[html.index('data-testid="usage-features"') :]
    rows = re.findall(
        r"<tr><td>(.*?) <code.*?</code></td><td class=\"num\">(.*?)</td>.*?<td class=\"num\">(\d+)</td></tr>", features
    )
    assert rows == [
        ("Device agent installed", "14 Oct 2026", "1"),
        ("Snapshot created", "3 Nov 2026", "2"),
        ("My new feature", "30 Nov 2026", "1"),
    ]


def test_the_account_page_costs_the_same_queries_with_little_or_much_usage(org, client_for):
    client = client_for(Role.CSM)
    small, large = AccountFactory(organization=org), AccountFactory(organization=org)
    report(org, small, days=2, events=[("snapshot_created", "2026-11-30T09:00:00Z")])
    report(org, large, days=90, events=[(f"feature_{i}", "2026-11-30T09:00:00Z") for i in range(30)])

    def count(account) -> int:
        page(client, org, account)
        with CaptureQueriesContext(connection) as queries:
            page(client, org, account)
        return len(queries)

    assert count(small) == count(large)


def test_the_api_lists_an_accounts_days_newest_first_and_pages(org, account, api_for):
    report(org, account, days=30)
    other = AccountFactory(organization=org)
    report(org, other, days=3)
    api = api_for(Role.VIEWER)
    body = api.get("/api/v1/usage/", {"account": account.pk, "page_size": 10}).json()
    assert [row["date"] for row in body["results"]] == [(TODAY - timedelta(days=i)).isoformat() for i in range(10)]
    assert body["results"][0] == {
        "id": body["results"][0]["id"], "account": account.pk, "date": TODAY.isoformat(), "users": 40,
        "instances": 3, "devices": 20, "applications": 4, "reported_at": "2026-12-01T12:00:00Z",
    }  # fmt: skip
    assert body["next"]
    second = api.get(body["next"]).json()
    assert second["results"][0]["date"] == (TODAY - timedelta(days=10)).isoformat()
    window = api.get("/api/v1/usage/", {"since": "2026-11-30"}).json()["results"]
    assert sorted({row["account"] for row in window}) == sorted([account.pk, other.pk])
    assert len(window) == 4


def test_the_api_list_costs_the_same_queries_for_few_and_many_rows(org, account, api_for):
    api = api_for(Role.VIEWER)
    report(org, account, days=2)
    api.get("/api/v1/usage/")  # the key's first use is recorded once
    with CaptureQueriesContext(connection) as few:
        api.get("/api/v1/usage/")
    report(org, AccountFactory(organization=org), days=60)
    with CaptureQueriesContext(connection) as many:
        api.get("/api/v1/usage/")
    assert len(few) == len(many) <= 2  # the key, the page


def test_the_qbr_pack_shows_the_quarters_trend_and_features_with_source_and_as_of(org, account, client_for):
    report(
        org, account, days=90, start_users=10,
        events=[("snapshot_created", "2026-05-03T09:00:00Z"), ("pipeline_used", "2026-11-02T09:00:00Z"),
                ("blueprint_applied", "2026-12-01T10:00:00Z")],  # the last one after the quarter
    )  # fmt: skip
    start, end = TODAY - timedelta(days=89), TODAY - timedelta(days=1)
    with tenant_scope(org):
        (usage,) = [part for part in data_pack(account=account, start=start, end=end, now=NOW) if part.key == "usage"]
    assert usage.available is True
    assert usage.title == "Usage and feature adoption"
    assert usage.source == "Product usage reported by the product's database (POST /api/v1/usage/)"
    assert usage.as_of == NOW
    assert usage.data["first_day"] == start
    assert usage.data["last_day"] == end
    users = usage.data["trend"][0]
    assert (users["metric"], users["start"], users["end"], users["change"]) == ("users", 11, 99, 88)
    assert [(f["feature"], f["first_used_at"].date(), f["new_this_quarter"]) for f in usage.data["features"]] == [
        ("snapshot_created", date(2026, 5, 3), False),
        ("pipeline_used", date(2026, 11, 2), True),
    ]

    client = client_for(Role.CSM)
    meeting = MeetingFactory(account=account, period_start=start, period_end=end, starts_at=NOW + timedelta(days=3))
    html = client.get(f"/o/{org.slug}/meetings/{meeting.pk}/").content.decode()
    part = html[html.index('data-testid="pack-usage"') :].split("</section>")[0]
    assert "No data yet" not in part
    assert "Users <strong>99</strong>" in part
    assert "DevOps pipeline used" in part
    assert "new this quarter" in part
    assert "Source: Product usage reported by the product&#x27;s database" in part
    api = client.get(f"/api/v1/qbrs/{meeting.pk}/data-pack/", HTTP_X_ORGANIZATION=org.slug).json()
    (usage_json,) = [part for part in api["parts"] if part["key"] == "usage"]
    assert usage_json["data"]["features"][1]["first_used_at"] == "2026-11-02T09:00:00+00:00"
    pdf = client.get(f"/o/{org.slug}/meetings/{meeting.pk}/qbr.pdf")
    assert pdf.status_code == 200


def test_the_qbr_pack_without_usage_still_says_no_data_yet(org, account):
    def usage_part():
        with tenant_scope(org):
            pack = data_pack(account=account, start=date(2026, 9, 2), end=TODAY, now=NOW)
        return next(part for part in pack if part.key == "usage")

    assert usage_part().available is False
    assert usage_part().customer_message == "No data yet: product usage is not set up."
    report(org, AccountFactory(organization=org), days=3)  # another account reports: now it is set up
    assert usage_part().available is False
    assert usage_part().empty_message.startswith("No data yet: no product usage was reported for this account")
