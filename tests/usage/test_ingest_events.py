"""What a usage batch tells the rest of the product once it commits: one "usage.reported" per account it touched,
naming the features of its newly stored events (health rescores that account; playbooks' usage triggers match)."""

import pytest

from core.events import DomainEvent, event_subscribe, event_unsubscribe
from core.models import Role
from core.tenancy import Tenant
from tests.factories import AccountFactory
from usage.services import usage_ingest

DAY = "2026-11-30"


@pytest.fixture
def received():
    events: list[DomainEvent] = []
    event_subscribe(events.append)
    yield events
    event_unsubscribe(events.append)


def metrics(account):
    return {"account": account.pk, "date": DAY, "users": 3, "instances": 1, "devices": 0, "applications": 1}


def event(account, event_id, feature="snapshot_created"):
    return {"account": account.pk, "event_id": event_id, "feature": feature, "occurred_at": f"{DAY}T10:00:00Z"}


def test_each_touched_account_gets_one_event_with_its_new_features(scope, received, django_capture_on_commit_callbacks):
    tenant = Tenant(organization=scope, role=Role.CSM)
    quiet, busy = AccountFactory(organization=scope), AccountFactory(organization=scope)
    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(
            tenant=tenant,
            metrics=[metrics(quiet), metrics(busy)],
            events=[event(busy, "e-1"), event(busy, "e-2", "pipeline_used"), event(busy, "e-3")],
        )
    by_account = {e.account_id: e.payload for e in received if e.name == "usage.reported"}
    assert by_account == {quiet.pk: {"features": []}, busy.pk: {"features": ["pipeline_used", "snapshot_created"]}}

    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(tenant=tenant, events=[event(busy, "e-1")])  # sent again: a duplicate is not news
    assert received == []
