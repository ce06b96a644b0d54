"""Each kind of step, run by the engine as the minute pass runs it: what the customer or the CSM would see."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail

from lifecycle.models import Task
from playbooks.models import OutboundCall, SentEmail, StepRunStatus
from playbooks.services import enrollment_create, step_runs_due_run
from tests.fakes.loopback import loopback_server

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def enroll_and_run(playbook, account, contact=None):
    enrollment = enrollment_create(playbook=playbook, account=account, contact=contact, key="test", summary="test")
    step_runs_due_run(organization=playbook.organization)
    enrollment.refresh_from_db()
    return enrollment


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_email_goes_through_the_email_backend_with_merged_fields(scope, make_playbook, account, contact):
    playbook = make_playbook(
        [{"type": "email", "to": "contact", "subject": "Hello {{ account.name }}",
          "body": "Hi {{ contact.first_name }}, I am {{ csm.name }}. Cohort: {{ account.cohort }}."}]
    )  # fmt: skip
    enrollment = enroll_and_run(playbook, account, contact)

    sent = [message for message in mail.outbox if message.subject == "Hello Bluefin Labs"]
    assert len(sent) == 1
    assert sent[0].to == ["ada@bluefin.example"]
    assert sent[0].body == "Hi Ada, I am Casey Moss. Cohort: Premium."
    assert SentEmail.objects.get().subject == "Hello Bluefin Labs"
    assert enrollment.status == "completed"
    run = enrollment.step_runs.get()
    assert (run.status, run.result["to"]) == (StepRunStatus.SUCCEEDED, "ada@bluefin.example")


def test_email_to_a_missing_contact_is_skipped_and_the_playbook_goes_on(scope, make_playbook, account):
    playbook = make_playbook(
        [{"type": "email", "to": "contact", "subject": "Hi", "body": "Hi"},
         {"type": "task", "assignee": "csm", "title": "Call {{ account.name }}"}]
    )  # fmt: skip
    enrollment = enroll_and_run(playbook, account)
    runs = list(enrollment.step_runs.all())
    assert [run.status for run in runs] == ["skipped", "succeeded"]
    assert "no contact" in runs[0].result["skipped"]
    assert not SentEmail.objects.exists()


def test_task_is_created_for_the_accounts_csm(scope, make_playbook, account, csm):
    playbook = make_playbook(
        [{"type": "task", "assignee": "csm", "title": "Kickoff with {{ account.name }}", "due_in_days": 2}]
    )
    enroll_and_run(playbook, account)
    task = Task.objects.get(account=account)
    assert task.title == "Kickoff with Bluefin Labs"
    assert task.assignee == csm
    assert task.due_date.isoformat() == "2026-12-03"


def test_set_field_adds_an_ffc_actions_tag_once(scope, make_playbook, account, contact):
    contact.ffc_actions = ["invited-team"]
    contact.save()
    playbook = make_playbook([{"type": "set_field", "field": "ffc_actions", "value": "snapshot-nudge-sent"}])
    enroll_and_run(playbook, account)
    contact.refresh_from_db()
    assert contact.ffc_actions == ["invited-team", "snapshot-nudge-sent"]

    other = make_playbook([{"type": "set_field", "field": "ffc_actions", "value": "snapshot-nudge-sent"}], name="b")
    enroll_and_run(other, account)
    contact.refresh_from_db()
    assert contact.ffc_actions == ["invited-team", "snapshot-nudge-sent"]


def test_slack_post_is_sent_and_its_answer_recorded(scope, make_playbook, account):
    with loopback_server() as server:
        server.expect_oneshot_request("/hooks/T1", method="POST").respond_with_data("ok", status=200)
        playbook = make_playbook(
            [{"type": "slack", "webhook_url": server.url_for("/hooks/T1"), "text": "{{ account.name }} committed"}]
        )
        enrollment = enroll_and_run(playbook, account)
        assert json.loads(server.log[0][0].get_data()) == {"text": "Bluefin Labs committed"}
    run = enrollment.step_runs.get()
    assert run.status == "succeeded"
    call = OutboundCall.objects.get(step_run=run)
    assert (call.target_host, call.status_code, call.response_excerpt) == ("127.0.0.1", 200, "ok")


def test_webhook_is_signed_with_the_playbooks_secret(scope, make_playbook, account, contact):
    with loopback_server() as server:
        server.expect_oneshot_request("/in", method="POST").respond_with_json({"received": True}, status=202)
        playbook = make_playbook([{"type": "webhook", "url": server.url_for("/in")}])
        enrollment = enroll_and_run(playbook, account)
        request = server.log[0][0]
    body = request.get_data()
    expected = hmac.new(
        playbook.webhook_secret.encode(), request.headers["X-Playbook-Timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert request.headers["X-Playbook-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["account"]["name"] == "Bluefin Labs"
    assert payload["contact"]["email"] == "ada@bluefin.example"
    run = enrollment.step_runs.get()
    assert (run.status, run.result["status"]) == ("succeeded", 202)
    assert '"received": true' in OutboundCall.objects.get().response_excerpt


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254"])
def test_private_targets_are_refused_when_not_allowed(scope, make_playbook, account, settings, address):
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    playbook = make_playbook([{"type": "webhook", "url": f"http://{address}/latest/meta-data/"}])
    enrollment = enroll_and_run(playbook, account)
    run = enrollment.step_runs.get()
    # Refused before anything is sent, and not retried: a retry cannot make the address public.
    assert (run.status, run.attempts) == ("failed", 1)
    assert "private or reserved address" in run.error
    assert OutboundCall.objects.get().status_code is None
    assert enrollment.status == "failed"
