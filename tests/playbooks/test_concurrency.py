"""Two due-step passes at the same moment (two workers, or a task and its redelivery) run each step once.

Runs on SQLite locally and on PostgreSQL in CI (DATABASE_URL), where the claim's UPDATE ... WHERE status='pending'
makes the second worker wait for the first and then find the row taken."""

import threading

import pytest
from django.core import mail
from django.db import connection

from core.models import Role
from core.tenancy import Tenant, tenant_scope
from playbooks.models import SentEmail, StepRun
from playbooks.services import enrollment_create, playbook_create, step_runs_due_run
from tests.factories import AccountFactory, ContactFactory, MembershipFactory, OrganizationFactory


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the in-memory SQLite test database refuses a second writing connection (table locked) instead of "
    "waiting; run with DATABASE_URL=postgres://... as CI does",
)
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_passes_run_each_step_once():
    organization = OrganizationFactory()
    admin = MembershipFactory(organization=organization, role=Role.ADMIN).user
    tenant = Tenant(organization=organization, role=Role.ADMIN, user=admin)
    with tenant_scope(organization):
        playbook = playbook_create(
            tenant=tenant, name="Race", status="active",
            definition={"trigger": {"type": "event", "event": "deal.committed"},
                        "steps": [{"type": "email", "to": "contact", "subject": "Once {{ account.name }}", "body": "x"},
                                  {"type": "email", "to": "contact", "subject": "Twice?", "body": "y"}]},
        )  # fmt: skip
        for number in range(12):
            account = AccountFactory(organization=organization, name=f"Racer {number:02d}")
            ContactFactory(account=account)
            enrollment_create(playbook=playbook, account=account, key=f"k{number}", summary="")

    barrier = threading.Barrier(2)
    ran, failures = [], []

    def worker():
        try:
            with tenant_scope(organization):
                barrier.wait(timeout=10)
                ran.append(step_runs_due_run(organization=organization))
        except Exception as exc:  # surfaced below: a thread's exception is otherwise lost
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert sum(ran) == 24
    with tenant_scope(organization):
        assert SentEmail.objects.count() == 24
        assert StepRun.objects.filter(status="succeeded", attempts=1).count() == 24
    subjects = sorted(message.subject for message in mail.outbox if message.subject.startswith("Once"))
    assert subjects == sorted(f"Once Racer {number:02d}" for number in range(12))
