"""Domain events reach subscribers only when the change commits, and a failing subscriber undoes nothing."""

import pytest
from django.db import transaction

from accounts.models import Account
from core.events import DomainEvent, event_subscribe, event_unsubscribe
from core.services import audit_record
from tests.factories import AccountFactory


def test_an_audited_change_is_published_with_its_changes_after_commit(
    scope, tenant, domain_events, django_capture_on_commit_callbacks
):
    account = AccountFactory(organization=scope)
    with django_capture_on_commit_callbacks(execute=True):
        audit_record(
            tenant=tenant,
            action="account.updated",
            obj=account,
            changes={"cohort": ["trial", "starter"]},
            account_id=account.pk,
        )
        assert domain_events == []  # nothing before the commit
    [event] = domain_events
    assert (event.name, event.account_id, event.object_type, event.object_id) == (
        "account.updated",
        account.pk,
        "account",
        account.pk,
    )
    assert event.changes == {"cohort": ["trial", "starter"]}
    assert DomainEvent.from_message(event.as_message()) == event


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_publishes_nothing(org, domain_events):
    from core.tenancy import Tenant, tenant_scope

    with tenant_scope(org):
        account = AccountFactory(organization=org)
        tenant = Tenant(organization=org, role="admin")

        def change_then_fail():
            with transaction.atomic():
                audit_record(tenant=tenant, action="account.updated", obj=account)
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            change_then_fail()
    assert domain_events == []


def test_a_failing_subscriber_does_not_stop_the_next_one(scope, tenant, django_capture_on_commit_callbacks):
    def broken(event):
        raise ValueError("subscriber bug")

    delivered: list[DomainEvent] = []
    event_subscribe(broken)
    event_subscribe(delivered.append)
    try:
        account = AccountFactory(organization=scope)
        with django_capture_on_commit_callbacks(execute=True):
            audit_record(tenant=tenant, action="note.added", obj=account, account_id=account.pk)
    finally:
        event_unsubscribe(broken)
        event_unsubscribe(delivered.append)
    assert [event.name for event in delivered] == ["note.added"]
    assert Account.objects.filter(pk=account.pk).exists()


def test_muted_changes_publish_nothing(scope, tenant, domain_events, django_capture_on_commit_callbacks):
    from core.events import events_muted

    account = AccountFactory(organization=scope)
    with django_capture_on_commit_callbacks(execute=True), events_muted():
        audit_record(tenant=tenant, action="account.updated", obj=account, account_id=account.pk)
    assert domain_events == []
