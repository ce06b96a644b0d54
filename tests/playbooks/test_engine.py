"""The engine: waits as due times, retries with backoff, the retry button, pause and resume, versions, dry run."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError

from playbooks.models import Enrollment, SentEmail, StepRun
from playbooks.selectors import playbook_dry_run
from playbooks.services import (
    MAX_ATTEMPTS,
    STALE_AFTER,
    enrollment_create,
    playbook_pause,
    playbook_resume,
    playbook_update,
    step_run_claim,
    step_run_retry,
    step_runs_due_run,
    step_runs_stale_fail,
)
from tests.fakes.loopback import loopback_server

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EMAIL = {"type": "email", "to": "contact", "subject": "Step {{ account.name }}", "body": "Hello"}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def run(org):
    return step_runs_due_run(organization=org)


def test_a_wait_step_is_a_due_time_and_the_next_step_runs_after_it(scope, clock, make_playbook, account, contact):
    playbook = make_playbook([EMAIL, {"type": "wait", "days": 2}, {**EMAIL, "subject": "Second"}])
    enrollment = enrollment_create(playbook=playbook, account=account, key="k", summary="")
    run(scope)
    wait = StepRun.objects.get(enrollment=enrollment, step_index=1)
    assert (wait.status, wait.due_at) == ("pending", NOW + timedelta(days=2))

    clock.move_to(NOW + timedelta(days=1, hours=23))
    assert run(scope) == 0
    clock.move_to(NOW + timedelta(days=2))
    assert run(scope) == 2  # the wait ends and the step after it runs in the same pass
    assert [m.subject for m in mail.outbox] == ["Step Bluefin Labs", "Second"]
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"


def test_a_failing_step_is_retried_with_backoff_then_failed(scope, clock, make_playbook, account, tenant):
    with loopback_server() as server:
        server.expect_request("/hook").respond_with_data("upstream down", status=503)
        playbook = make_playbook([{"type": "webhook", "url": server.url_for("/hook")}])
        enrollment = enrollment_create(playbook=playbook, account=account, key="k", summary="")
        run(scope)
        step = StepRun.objects.get(enrollment=enrollment)
        assert (step.status, step.attempts) == ("pending", 1)
        assert step.due_at == NOW + timedelta(minutes=1)
        assert "answered 503: upstream down" in step.error

        delays = []
        moment = NOW
        for _ in range(MAX_ATTEMPTS - 1):
            step.refresh_from_db()
            delays.append(step.due_at - moment)
            moment = step.due_at
            clock.move_to(moment)
            run(scope)
        step.refresh_from_db()
        assert delays == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=25)]
        assert (step.status, step.attempts) == ("failed", MAX_ATTEMPTS)
        assert len(server.log) == MAX_ATTEMPTS
        assert step.outbound_calls.count() == MAX_ATTEMPTS
        enrollment.refresh_from_db()
        assert enrollment.status == "failed"

        # The retry button: due now with fresh attempts; this time the receiver answers.
        server.clear()
        server.expect_request("/hook").respond_with_data("ok")
        step_run_retry(tenant=tenant, step_run=step)
        run(scope)
    step.refresh_from_db()
    enrollment.refresh_from_db()
    assert (step.status, step.attempts, enrollment.status) == ("succeeded", 1, "completed")


def test_only_a_failed_step_can_be_retried(scope, clock, make_playbook, account, tenant):
    playbook = make_playbook([EMAIL])
    enrollment = enrollment_create(playbook=playbook, account=account, key="k", summary="")
    with pytest.raises(ValidationError, match="Only a failed step"):
        step_run_retry(tenant=tenant, step_run=enrollment.step_runs.get())


def test_a_paused_playbook_runs_nothing_until_resumed(scope, clock, make_playbook, account, contact, tenant):
    playbook = make_playbook([EMAIL])
    enrollment_create(playbook=playbook, account=account, key="k", summary="")
    playbook_pause(tenant=tenant, playbook=playbook)
    assert run(scope) == 0
    assert not mail.outbox
    playbook_resume(tenant=tenant, playbook=playbook)
    assert run(scope) == 1
    assert len(mail.outbox) == 1


def test_editing_makes_a_version_and_a_running_enrollment_keeps_its_own(
    scope, clock, make_playbook, account, contact, tenant
):
    playbook = make_playbook([{"type": "wait", "hours": 1}, {**EMAIL, "subject": "Version one"}])
    enrollment = enrollment_create(playbook=playbook, account=account, key="k", summary="")
    playbook_update(
        tenant=tenant, playbook=playbook,
        definition={"trigger": {"type": "event", "event": "deal.committed"},
                    "steps": [{"type": "wait", "hours": 1}, {**EMAIL, "subject": "Version two"}]},
    )  # fmt: skip
    playbook.refresh_from_db()
    assert playbook.current_version.number == 2
    assert list(playbook.versions.values_list("number", flat=True)) == [2, 1]

    clock.move_to(NOW + timedelta(hours=1))
    run(scope)
    assert [m.subject for m in mail.outbox] == ["Version one"]
    later = enrollment_create(playbook=playbook, account=account, key="k2", summary="")
    assert later.version.number == 2
    enrollment.refresh_from_db()
    assert enrollment.version.number == 1


def test_saving_the_same_definition_makes_no_new_version(scope, make_playbook, tenant):
    playbook = make_playbook([EMAIL])
    playbook_update(tenant=tenant, playbook=playbook, definition=dict(playbook.current_version.definition))
    assert playbook.versions.count() == 1


def test_an_account_runs_through_a_playbook_once_at_a_time_and_each_occurrence_once(scope, make_playbook, account):
    playbook = make_playbook([{"type": "wait", "days": 1}, EMAIL])
    assert enrollment_create(playbook=playbook, account=account, key="event-1", summary="")
    assert enrollment_create(playbook=playbook, account=account, key="event-1", summary="") is None
    assert enrollment_create(playbook=playbook, account=account, key="event-2", summary="") is None
    assert Enrollment.objects.count() == 1


def test_a_claim_is_taken_once(scope, clock, make_playbook, account):
    playbook = make_playbook([EMAIL])
    step = enrollment_create(playbook=playbook, account=account, key="k", summary="").step_runs.get()
    assert step_run_claim(step_run_id=step.pk, now=NOW)
    assert not step_run_claim(step_run_id=step.pk, now=NOW)


def test_a_claim_whose_worker_died_is_failed_for_a_person_to_retry(scope, clock, make_playbook, account):
    playbook = make_playbook([EMAIL])
    enrollment = enrollment_create(playbook=playbook, account=account, key="k", summary="")
    step = enrollment.step_runs.get()
    step_run_claim(step_run_id=step.pk, now=NOW)  # and the worker is killed here
    clock.move_to(NOW + STALE_AFTER - timedelta(seconds=1))
    assert step_runs_stale_fail() == 0
    clock.move_to(NOW + STALE_AFTER + timedelta(seconds=1))
    assert step_runs_stale_fail() == 1
    step.refresh_from_db()
    assert step.status == "failed"
    assert "may or may not have happened" in step.error
    assert not mail.outbox


def test_dry_run_lists_the_accounts_and_what_would_be_sent_without_sending(
    scope, clock, make_playbook, account, contact
):
    playbook = make_playbook(
        [EMAIL, {"type": "task", "assignee": "csm", "title": "Call {{ contact.first_name }}"},
         {"type": "slack", "webhook_url": "http://127.0.0.1:9/never", "text": "{{ account.name }}"}],
        audience={"cohorts": ["premium"]},
    )  # fmt: skip
    from tests.factories import AccountFactory

    AccountFactory(organization=scope, cohort="starter", name="Not in audience")
    dry = playbook_dry_run(playbook=playbook)
    assert dry.total == 1
    row = dry.accounts[0]
    assert row["account"] == account
    assert row["steps"][0]["preview"] == {"to": "ada@bluefin.example", "subject": "Step Bluefin Labs", "body": "Hello"}
    assert row["steps"][1]["preview"]["title"] == "Call Ada"
    assert row["steps"][2]["preview"]["text"] == "Bluefin Labs"
    assert not mail.outbox
    assert not SentEmail.objects.exists()
    assert not Enrollment.objects.exists()
    from lifecycle.models import Task

    assert not Task.objects.exists()


def test_an_organization_with_playbooks_and_history_can_be_deleted(scope, make_playbook, account, tenant):
    playbook = make_playbook([EMAIL, {"type": "wait", "days": 1}])
    enrollment_create(playbook=playbook, account=account, key="k", summary="")
    playbook_update(
        tenant=tenant, playbook=playbook,
        definition={"trigger": {"type": "event", "event": "deal.committed"}, "steps": [EMAIL]},
    )  # fmt: skip
    scope.delete()
    assert not StepRun.objects.with_scopes_disabled().exists()
