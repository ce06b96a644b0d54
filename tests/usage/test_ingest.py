"""POST /api/v1/usage/: the product's database reports daily metrics and feature events (issue 6)."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Role
from core.tenancy import tenant_scope
from tests.factories import AccountFactory
from usage.models import AccountExternalId, DailyUsage, FeatureAdoption, FeatureEvent

URL = "/api/v1/usage/"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def account(org):
    return AccountFactory(organization=org, name="Bluefin", domain="bluefin.example")


def metric(account_key: dict, day: str = "2026-11-30", **counts) -> dict:
    return {**account_key, "date": day, "users": 5, "instances": 2, "devices": 7, "applications": 3, **counts}


def event(account_key: dict, event_id: str, feature: str = "snapshot_created", at: str = "2026-11-30T10:00:00Z"):
    return {**account_key, "event_id": event_id, "feature": feature, "occurred_at": at}


def stored(org, model, **filters):
    with tenant_scope(org):
        return list(model.objects.filter(**filters).order_by("pk"))


def test_matches_the_account_by_id_domain_and_external_id(org, account, api_for):
    api = api_for(Role.CSM)
    response = api.post(
        URL,
        {
            "metrics": [
                metric({"account": account.pk}, "2026-11-28"),
                # An external id seen beside the domain is linked to that account...
                metric({"account_domain": "BlueFin.example", "account_external_id": "team-42"}, "2026-11-29"),
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == {"metrics": 2, "events": 0}
    assert response.json()["external_ids_linked"] == 1
    # ...so later reports may send it alone.
    again = api.post(URL, {"metrics": [metric({"account_external_id": "team-42"}, "2026-11-30")]}, format="json")
    assert again.json()["accepted"]["metrics"] == 1
    assert again.json()["rejected"] == []
    days = [row.day for row in stored(org, DailyUsage, account=account)]
    assert days == [date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 30)]
    assert [link.account_id for link in stored(org, AccountExternalId, external_id="team-42")] == [account.pk]


def test_a_mixed_batch_stores_the_good_rows_and_names_each_bad_one(org, account, api_for):
    AccountFactory(organization=org, domain="shared.example")
    AccountFactory(organization=org, domain="shared.example")
    other = AccountFactory(organization=org, domain="other.example")
    key = {"account": account.pk}
    response = api_for(Role.ADMIN).post(
        URL,
        {
            "metrics": [
                metric(key, "2026-11-30"),  # 0: good
                metric({"account": 999999}),  # 1
                metric(key, "2026-11-31"),  # 2
                metric(key, "2026-11-29", devices=-1),  # 3
                metric(key, "2026-11-30"),  # 4: same account and day as row 0
                {**metric(key, "2026-11-27"), "colour": "blue"},  # 5
                metric({"account_domain": "shared.example"}),  # 6
                metric({"account": account.pk, "account_domain": "other.example"}),  # 7
                metric(key, "2026-11-26", users="many"),  # 8
                {"account": account.pk, "date": "2026-11-25", "users": 1},  # 9
                "not a row",  # 10
                metric(key, "2026-12-05"),  # 11: in the future
                metric({}, "2026-11-24"),  # 12: no account named
                metric(key, "2026-11-28"),  # 13: good
            ],
            "events": [
                event(key, "e-1"),  # 0: good
                event(key, "e-1"),  # 1: same id again in the batch
                event(key, "e-2", feature="Snapshot Created!"),  # 2
                event(key, "e-3", at="yesterday"),  # 3
                event(key, ""),  # 4
                event({"account_external_id": "never-seen"}, "e-5"),  # 5
                event({"account": other.pk}, "e-6", feature="pipeline_used"),  # 6: good
            ],
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == {"metrics": 2, "events": 2}
    reasons = {(row["section"], row["index"]): row["reason"] for row in body["rejected"]}
    assert reasons == {
        ("metrics", 1): "unknown_account",
        ("metrics", 2): "bad_date",
        ("metrics", 3): "negative_count",
        ("metrics", 4): "duplicate_in_batch",
        ("metrics", 5): "unknown_field",
        ("metrics", 6): "ambiguous_account",
        ("metrics", 7): "conflicting_account",
        ("metrics", 8): "bad_count",
        ("metrics", 9): "missing_field",
        ("metrics", 10): "not_an_object",
        ("metrics", 11): "bad_date",
        ("metrics", 12): "missing_field",
        ("events", 1): "duplicate_in_batch",
        ("events", 2): "bad_feature",
        ("events", 3): "bad_date",
        ("events", 4): "bad_event_id",
        ("events", 5): "unknown_account",
    }
    messages = {(row["section"], row["index"]): row["message"] for row in body["rejected"]}
    assert messages["metrics", 5] == "Unknown field: colour."
    assert messages["metrics", 3] == "`devices` cannot be negative (-1)."
    assert messages["metrics", 9] == "Missing: instances, devices, applications."
    assert "Row 0 already" in messages["metrics", 4]
    assert [row.day for row in stored(org, DailyUsage)] == [date(2026, 11, 30), date(2026, 11, 28)]
    assert sorted(row.event_id for row in stored(org, FeatureEvent)) == ["e-1", "e-6"]


def test_sending_the_same_event_id_twice_changes_nothing(org, account, api_for):
    api = api_for(Role.CSM)
    batch = {"events": [event({"account": account.pk}, "evt-1"), event({"account": account.pk}, "evt-2")]}
    first = api.post(URL, batch, format="json").json()
    assert first["accepted"]["events"] == 2
    assert first["duplicates"] == []
    # The same ids again, even with another time: reported as duplicates, not errors, and nothing moves.
    batch["events"][1]["occurred_at"] = "2026-11-01T10:00:00Z"
    second = api.post(URL, batch, format="json").json()
    assert second["accepted"]["events"] == 0
    assert second["rejected"] == []
    assert second["duplicates"] == [{"index": 0, "event_id": "evt-1"}, {"index": 1, "event_id": "evt-2"}]
    assert len(stored(org, FeatureEvent)) == 2
    (adoption,) = stored(org, FeatureAdoption)
    assert adoption.event_count == 2
    assert adoption.first_used_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_a_batch_over_1000_rows_is_refused_whole(org, account, api_for):
    key = {"account": account.pk}
    body = {
        "metrics": [metric(key, f"2026-0{1 + i % 9}-{1 + i % 28:02d}") for i in range(600)],
        "events": [event(key, f"e-{i}") for i in range(401)],
    }
    response = api_for(Role.CSM).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("A batch holds at most 1,000 rows (metrics and events together)")
    assert "1,001" in response.json()["detail"]
    assert stored(org, DailyUsage) == []
    assert stored(org, FeatureEvent) == []


def test_the_body_must_be_metrics_and_events(account, api_for):
    api = api_for(Role.CSM)
    assert api.post(URL, {"metric": []}, format="json").json() == {
        "metric": ["Unknown field; send `metrics` and `events`."]
    }
    assert api.post(URL, {"metrics": "x"}, format="json").status_code == 400
    assert api.post(URL, [1, 2], format="json").status_code == 400


def test_a_later_report_for_the_same_day_replaces_the_values(org, account, api_for):
    api = api_for(Role.CSM)
    key = {"account": account.pk}
    api.post(URL, {"metrics": [metric(key, "2026-11-30", users=5)]}, format="json")
    response = api.post(URL, {"metrics": [metric(key, "2026-11-30", users=9, devices=0)]}, format="json")
    assert response.json()["accepted"]["metrics"] == 1
    (row,) = stored(org, DailyUsage)
    assert (row.users, row.instances, row.devices, row.applications) == (9, 2, 0, 3)


def test_adoption_keeps_the_first_use_even_when_an_older_event_arrives_late(org, account, api_for):
    api = api_for(Role.CSM)
    key = {"account": account.pk}
    api.post(
        URL,
        {
            "events": [
                event(key, "a", "snapshot_created", "2026-11-20T09:00:00Z"),
                event(key, "b", "snapshot_created", "2026-11-25T09:00:00Z"),
                event(key, "c", "device_agent_installed", "2026-11-22T09:00:00+02:00"),
            ]
        },
        format="json",
    )
    api.post(URL, {"events": [event(key, "d", "snapshot_created", "2026-10-02T08:30:00")]}, format="json")
    adoption = {row.feature: row for row in stored(org, FeatureAdoption, account=account)}
    assert set(adoption) == {"snapshot_created", "device_agent_installed"}
    snapshots = adoption["snapshot_created"]
    assert snapshots.first_used_at == datetime(2026, 10, 2, 8, 30, tzinfo=UTC)  # no offset: UTC
    assert snapshots.last_used_at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert snapshots.event_count == 3
    assert adoption["device_agent_installed"].first_used_at == datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    assert adoption["device_agent_installed"].event_count == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SUPPORT, Role.AE])
def test_only_admin_and_csm_keys_may_report_usage(org, account, api_for, role):
    api = api_for(role)
    response = api.post(URL, {"metrics": [metric({"account": account.pk})]}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Your role may not do this."}
    assert stored(org, DailyUsage) == []
    assert api.get(URL).status_code == 200  # reading usage is `view`


def test_an_account_of_another_organization_is_unknown_and_never_written(org, other_org, api_for):
    theirs = AccountFactory(organization=other_org, domain="theirs.example")
    with tenant_scope(other_org):
        AccountExternalId.objects.create(organization=other_org, account=theirs, external_id="their-team")
    response = api_for(Role.ADMIN).post(
        URL,
        {
            "metrics": [metric({"account": theirs.pk}), metric({"account_domain": "theirs.example"})],
            "events": [event({"account_external_id": "their-team"}, "x-1")],
        },
        format="json",
    )
    body = response.json()
    assert body["accepted"] == {"metrics": 0, "events": 0}
    assert [row["reason"] for row in body["rejected"]] == ["unknown_account"] * 3
    assert body["rejected"][0]["message"] == f"No account with id {theirs.pk}."
    assert stored(other_org, DailyUsage) == []
    assert stored(other_org, FeatureEvent) == []
    assert stored(org, DailyUsage) == []


def _batch(accounts, size: int) -> dict:
    """`size` rows, half metrics and half events, over the accounts, by all three identifiers."""
    metrics, events = [], []
    for i in range(size // 2):
        account = accounts[i % len(accounts)]
        key = [{"account": account.pk}, {"account_domain": account.domain}, {"account_external_id": f"t-{account.pk}"}]
        metrics.append(metric(key[i % 3], f"2026-{1 + i // 28 % 11:02d}-{1 + i % 28:02d}"))
        events.append(event(key[(i + 1) % 3], f"e-{size}-{i}", ("snapshot_created", "pipeline_used")[i // 40 % 2]))
    return {"metrics": metrics, "events": events}


def test_a_batch_costs_the_same_queries_for_10_and_1000_rows(org, api_for):
    accounts = [AccountFactory(organization=org, domain=f"a{i}.example") for i in range(40)]
    with tenant_scope(org):
        AccountExternalId.objects.bulk_create(
            [
                AccountExternalId(organization=org, account=account, external_id=f"t-{account.pk}")
                for account in accounts
            ]
        )
    api = api_for(Role.CSM)
    api.post(URL, {}, format="json")  # the key's first use is recorded once; not part of what a batch costs
    counts = []
    for size in (10, 1000):
        with CaptureQueriesContext(connection) as queries:
            response = api.post(URL, _batch(accounts, size), format="json")
        assert response.json()["rejected"] == []
        assert response.json()["accepted"] == {"metrics": size // 2, "events": size // 2}
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[1] <= 16
    with tenant_scope(org):
        assert DailyUsage.objects.count() == 500  # the small batch's days were reported again
        assert FeatureAdoption.objects.count() == 80
