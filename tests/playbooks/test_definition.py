"""Definitions: what the schema and the rules refuse, each refusal at the path of the field to fix."""

import pytest
from django.core.exceptions import ValidationError

from playbooks.definition import definition_errors, merge_field_problem
from playbooks.library import TEMPLATES, playbook_template_install
from playbooks.models import Playbook

EVENT = {"type": "event", "event": "deal.committed"}


def errors(steps=None, trigger=None, audience=None):
    definition = {"trigger": trigger or EVENT, "steps": steps if steps is not None else [{"type": "wait", "days": 1}]}
    if audience is not None:
        definition["audience"] = audience
    return definition_errors(definition)


def test_a_valid_definition_has_no_errors():
    assert errors([{"type": "email", "to": "contact", "subject": "Hi {{ contact.first_name }}", "body": "Hello"}]) == {}


def test_schema_errors_name_the_path_of_the_field():
    found = errors(
        [{"type": "task", "assignee": "csm", "title": "ok"}, {"type": "email", "to": "contact", "subject": "Hi"},
         {"type": "wait", "days": -1}, {"type": "launch_rocket"}]
    )  # fmt: skip
    assert found["steps.1.body"] == ["This field is required."]
    assert "steps.2.days" in found
    assert found["steps.3.type"] == ["'launch_rocket' is not one of the choices."]


def test_trigger_errors_and_unknown_fields():
    assert errors(trigger={"type": "event", "event": "deal.exploded"})["trigger.event"]
    assert errors(trigger={"type": "schedule"})["trigger.cron"] == ["This field is required."]
    assert errors(trigger={"type": "inaction", "feature": "snapshot_created", "within_hours": 24, "colour": "red"})[
        "trigger.colour"
    ]
    assert errors(trigger={"type": "schedule", "cron": "61 * * * *"})["trigger.cron"] == [
        "The minute field '61' is not valid."
    ]
    assert "five fields" in errors(trigger={"type": "schedule", "cron": "every monday"})["trigger.cron"][0]


def test_rules_the_schema_cannot_say():
    assert errors([{"type": "wait"}])["steps"]  # only waiting does nothing
    assert errors([{"type": "wait"}, {"type": "task", "assignee": "csm", "title": "x"}])["steps.0.days"]
    assert errors(audience={"score_min": 80, "score_max": 20})["audience.score_max"]
    assert errors([])["steps"] == ["Add at least one step."]


def test_unknown_merge_fields_are_refused_at_save_time():
    found = errors([{"type": "email", "to": "csm", "subject": "Hi {{ account.nmae }}", "body": "x"}])
    assert found["steps.0.subject"][0].startswith("Unknown merge field {{ account.nmae }}. Use one of: account.name")


@pytest.mark.parametrize(
    "text",
    ["{% debug %}", "{{ account.delete }}", "{{ settings.SECRET_KEY }}", "{{ account.name|safe }}", "{{ account }}",
     "{% load static %}", "{{ account.name"],
)  # fmt: skip
def test_merge_fields_are_plain_values_only(text):
    assert merge_field_problem(text)


def test_every_template_installs_and_validates(scope, tenant):
    for template in TEMPLATES:
        assert definition_errors(template.definition) == {}, template.key
        playbook = playbook_template_install(tenant=tenant, key=template.key)
        assert playbook.status == "draft"
        assert playbook.current_version.definition["trigger"] == template.definition["trigger"]
    assert Playbook.objects.count() == 5
    assert {p.template_key for p in Playbook.objects.all()} == {
        "onboarding-after-commit", "snapshot-nudge", "qbr-over-10k", "renewal-prep-90", "champion-change-checkin",
    }  # fmt: skip
    with pytest.raises(ValidationError):
        playbook_template_install(tenant=tenant, key="nope")


def test_the_qbr_template_targets_accounts_over_10k_arr():
    template = next(t for t in TEMPLATES if t.key == "qbr-over-10k")
    assert template.definition["audience"] == {"min_arr": 10000}
