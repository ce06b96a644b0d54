"""core.bulk.bulk_upsert in both PostgreSQL forms (execute_values pages, one json_to_recordset statement; SQLite's
bulk_create elsewhere): rows inserted with their JSON and times, updated on conflict, or left alone."""

from datetime import UTC, datetime

import pytest

from core.bulk import bulk_upsert
from health.models import HealthSignal
from tests.factories import AccountFactory

RAISED = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def rows(account, summary, detail):
    return [
        {"organization_id": account.organization_id, "account_id": account.pk, "kind": "usage_drop", "period": period,
         "summary": summary, "detail": detail, "raised_at": RAISED}
        for period in ("2026-W48", "2026-W49")
    ]  # fmt: skip


@pytest.mark.parametrize("one_statement", [False, True])
def test_inserts_then_updates_or_leaves_alone_on_conflict(scope, one_statement):
    account = AccountFactory(organization=scope)
    unique = ["account_id", "kind", "period"]
    bulk_upsert(HealthSignal, rows(account, "first", {"change": -40.5}), unique_fields=unique, update_fields=[],
                one_statement=one_statement)  # fmt: skip
    stored = list(HealthSignal.objects.order_by("period").values_list("period", "summary", "detail", "raised_at"))
    assert stored == [
        ("2026-W48", "first", {"change": -40.5}, RAISED),
        ("2026-W49", "first", {"change": -40.5}, RAISED),
    ]

    bulk_upsert(HealthSignal, rows(account, "second", {}), unique_fields=unique, update_fields=[],
                one_statement=one_statement)  # fmt: skip
    assert set(HealthSignal.objects.values_list("summary", flat=True)) == {"first"}  # DO NOTHING

    bulk_upsert(HealthSignal, rows(account, "third", {"change": 12}), unique_fields=unique,
                update_fields=["summary", "detail"], one_statement=one_statement)  # fmt: skip
    assert list(HealthSignal.objects.values_list("summary", "detail").distinct()) == [("third", {"change": 12})]
    assert HealthSignal.objects.count() == 2
