"""End to end on a real Celery worker and broker (Redis when REDIS_URL is set, else the filesystem broker): a domain
event enrolls an account in a three-step playbook (Slack, wait two hours, Slack) whose Slack webhook is a
pytest-httpserver on 127.0.0.1; the wait is a due time the minute tick reads, not a Celery ETA."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from core.events import DomainEvent, event_publish
from core.models import Role
from core.tenancy import Tenant, tenant_scope
from playbooks.models import Enrollment, StepRun
from playbooks.services import playbook_create
from playbooks.tasks import playbooks_tick
from tests.factories import AccountFactory, MembershipFactory, OrganizationFactory
from tests.fakes.celery_worker import running_worker, wait_for
from tests.fakes.loopback import loopback_server

pytestmark = pytest.mark.worker

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def worker():
    with running_worker():
        yield


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_a_three_step_playbook_with_a_wait(worker):
    organization = OrganizationFactory()
    admin = MembershipFactory(organization=organization, role=Role.ADMIN).user
    account = AccountFactory(organization=organization, name="Bluefin Labs")
    with loopback_server() as slack, time_machine.travel(START, tick=True) as clock:
        slack.expect_request("/services/T0/B0/x", method="POST").respond_with_data("ok")
        url = slack.url_for("/services/T0/B0/x")
        with tenant_scope(organization):
            playbook = playbook_create(
                tenant=Tenant(organization=organization, role=Role.ADMIN, user=admin), name="E2E", status="active",
                definition={"trigger": {"type": "event", "event": "deal.committed"},
                            "steps": [{"type": "slack", "webhook_url": url, "text": "Kickoff for {{ account.name }}"},
                                      {"type": "wait", "hours": 2},
                                      {"type": "slack", "webhook_url": url, "text": "Later: {{ account.name }}"}]},
            )  # fmt: skip
        with transaction.atomic():  # as deal_commit's audit entry does: published once this commits
            event_publish(
                DomainEvent(organization_id=organization.pk, name="deal.committed", account_id=account.pk,
                            object_type="deal", object_id=1)
            )  # fmt: skip

        def runs():
            with tenant_scope(organization):
                return list(StepRun.objects.filter(enrollment__playbook=playbook).values_list("step_index", "status"))

        assert wait_for(lambda: runs() == [(0, "succeeded"), (1, "pending")]), runs()
        assert [json.loads(entry[0].get_data())["text"] for entry in slack.log] == ["Kickoff for Bluefin Labs"]

        playbooks_tick.delay(organization.pk)  # before the two hours are up: the wait holds
        time.sleep(1.5)
        assert runs() == [(0, "succeeded"), (1, "pending")]

        clock.shift(timedelta(hours=2))
        playbooks_tick.delay(organization.pk)
        assert wait_for(lambda: runs() == [(0, "succeeded"), (1, "succeeded"), (2, "succeeded")]), runs()
        assert [json.loads(entry[0].get_data())["text"] for entry in slack.log] == [
            "Kickoff for Bluefin Labs", "Later: Bluefin Labs",
        ]  # fmt: skip
        with tenant_scope(organization):
            assert Enrollment.objects.get(playbook=playbook).status == "completed"
