"""What a usage batch tells the rest of the product once it commits: one "usage.reported" per account it touched,
naming the features of its newly stored events (health rescores that account; playbooks' usage triggers match)."""

from core.models import Role
from core.tenancy import Tenant
from tests.factories import AccountFactory
from usage.services import usage_ingest

DAY = "2026-11-30"


def metrics(account):
    return {"account": account.pk, "date": DAY, "users": 3, "instances": 1, "devices": 0, "applications": 1}


def event(account, event_id, feature="snapshot_created"):
    return {"account": account.pk, "event_id": event_id, "feature": feature, "occurred_at": f"{DAY}T10:00:00Z"}


def test_each_touched_account_gets_one_event_with_its_new_features(
    scope, domain_events, django_capture_on_commit_callbacks
):
    tenant = Tenant(organization=scope, role=Role.CSM)
    quiet, busy = AccountFactory(organization=scope), AccountFactory(organization=scope)
    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(
            tenant=tenant,
            metrics=[metrics(quiet), metrics(busy)],
            events=[event(busy, "e-1"), event(busy, "e-2", "pipeline_used"), event(busy, "e-3")],
        )
    by_account = {e.account_id: e.payload for e in domain_events if e.name == "usage.reported"}
    assert by_account == {quiet.pk: {"features": []}, busy.pk: {"features": ["pipeline_used", "snapshot_created"]}}

    domain_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(tenant=tenant, events=[event(busy, "e-1")])  # sent again: a duplicate is not news
    assert domain_events == []
