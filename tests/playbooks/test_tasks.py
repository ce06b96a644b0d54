"""The Celery side: the minute beat entry, the fan-out to organizations, the event subscriber."""

import pytest
from django.conf import settings
from django.core import mail

from core.events import DomainEvent, event_publish
from cs_platform import celery_app
from playbooks.models import Enrollment
from playbooks.services import enrollment_create
from playbooks.tasks import playbooks_tick_all_organizations
from tests.factories import AccountFactory, ContactFactory

EMAIL = {"type": "email", "to": "contact", "subject": "Tick {{ account.name }}", "body": "x"}


def test_the_minute_beat_names_a_registered_task():
    entry = settings.CELERY_BEAT_SCHEDULE["playbooks-due-steps-every-minute"]
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] == 60.0


def test_the_tick_runs_due_steps_in_every_organization_with_an_active_playbook(
    scope, make_playbook, account, contact, other_org
):
    playbook = make_playbook([EMAIL])
    enrollment_create(playbook=playbook, account=account, key="k", summary="")
    assert playbooks_tick_all_organizations.delay().get() == 1  # the other organization has no playbook
    assert [message.subject for message in mail.outbox] == ["Tick Bluefin Labs"]


@pytest.mark.parametrize(
    ("name", "changes", "expected"),
    [("deal.committed", {}, 1), ("account.updated", {"name": ["a", "b"]}, 0), ("note.added", {}, 0)],
)
def test_the_subscriber_passes_on_only_events_a_trigger_can_use(
    scope, make_playbook, account, django_capture_on_commit_callbacks, name, changes, expected
):
    make_playbook([{"type": "wait", "days": 1}, EMAIL])
    with django_capture_on_commit_callbacks(execute=True):
        event_publish(DomainEvent(organization_id=scope.pk, name=name, account_id=account.pk, changes=changes))
    assert Enrollment.objects.count() == expected


def test_list_endpoint_queries_do_not_grow_with_playbooks(api_for, make_playbook, scope, django_assert_max_num_queries):
    for number in range(8):
        make_playbook([EMAIL], name=f"Playbook {number}")
        ContactFactory(account=AccountFactory(organization=scope))
    api = api_for()
    with django_assert_max_num_queries(8):
        response = api.get("/api/v1/playbooks/")
    assert len(response.json()["results"]) == 8
