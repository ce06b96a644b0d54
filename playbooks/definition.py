"""A playbook's definition: its JSON schema, the checks the schema cannot say, and the merge fields.

The definition is plain JSON so the editor, the API and the shipped templates write the same thing:

    {"trigger": {"type": "event", "event": "deal.committed"},
     "audience": {"cohorts": ["premium"], "min_arr": 10000},
     "steps": [{"type": "email", "to": "contact", "subject": "...", "body": "Hi {{ contact.first_name }}"},
               {"type": "wait", "days": 2}, {"type": "task", "title": "...", "assignee": "csm"}]}

`definition_errors` answers {"steps.1.days": ["..."]}: a path into the definition for each problem, so the API's
400 and the editor's inline messages point at the field to fix. Unknown merge fields are refused here, at save
time, rather than rendering blank in a customer's inbox.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from celery.schedules import ParseException, crontab_parser
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import TextNode, VariableNode

from accounts.models import Cohort, LifecycleStage
from health.models import SignalKind

# The signals health.signal_raised carries (a crossing is its own trigger, health.threshold_crossed).
SIGNAL_KINDS = [kind for kind in SignalKind.values if kind != SignalKind.THRESHOLD_CROSSED]

# Event triggers a CSM can pick, with the domain event each listens to (core.events) and its optional filter.
EVENT_TRIGGERS: dict[str, dict[str, Any]] = {
    "contact.stage_changed": {"label": "A contact's lifecycle stage changes", "filter": "to_stage"},
    "deal.stage_changed": {"label": "A deal moves stage", "filter": "to_stage"},
    "deal.committed": {"label": "The AE commits a deal", "filter": None},
    "account.cohort_changed": {"label": "An account changes cohort", "filter": "to_cohort"},
    "account.champion_changed": {"label": "The customer's champion changes", "filter": None},
    "health.threshold_crossed": {"label": "The health score crosses a threshold", "filter": "direction"},
    "health.signal_raised": {"label": "A risk or expansion signal is raised", "filter": "kind"},
    "ticket.sla_breached": {"label": "A support ticket breaches its SLA", "filter": "priority"},
    "usage.reported": {"label": "The product reports a feature used", "filter": "feature"},
}


def trigger_event_name(event) -> str:
    """The event trigger a domain event (core.events.DomainEvent) can start, or "": account.updated is a trigger
    only when the cohort changed."""
    if event.name == "account.updated":
        return "account.cohort_changed" if "cohort" in event.changes else ""
    return event.name if event.name in EVENT_TRIGGERS else ""


STEP_TYPES = {
    "email": "Send an email",
    "task": "Create a task",
    "slack": "Post to Slack",
    "set_field": "Set a contact field",
    "webhook": "Call a webhook",
    "wait": "Wait",
}
EMAIL_RECIPIENTS = {"contact": "The contact", "csm": "The account's CSM", "ae": "The account's AE"}
TASK_ASSIGNEES = {"csm": "The account's CSM", "ae": "The account's AE", "contact_owner": "The contact's owner"}
_WHO = {"contact": "the contact", "csm": "the CSM", "ae": "the AE", "contact_owner": "the contact's owner"}
SETTABLE_FIELDS = {
    "ffc_actions": "FFC-Actions (adds a tag)",
    "ffc_tier": "FFC-Tier",
    "ffc_usage": "FFC-Usage",
}
DATE_FIELDS = {"renewal_date": "Renewal date"}
MAX_STEPS = 30
MAX_WAIT_DAYS = 366

# The merge fields an email, task, Slack message or webhook may use: plain values, never model instances, so a
# template cannot call a method ({{ account.delete }} would, on a model) or walk to other rows.
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "account": ("name", "domain", "cohort", "arr", "currency", "renewal_date", "codename"),
    "contact": ("first_name", "last_name", "full_name", "email", "title"),
    "csm": ("name", "first_name", "email"),
    "playbook": ("name",),
}
ALLOWED_FILTERS = frozenset({"default", "upper", "lower", "title", "capfirst", "date", "floatformat"})

_text = {"type": "string", "maxLength": 5000}
_short = {"type": "string", "minLength": 1, "maxLength": 255}
_url = {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": "^https?://"}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Playbook definition",
    "type": "object",
    "required": ["trigger", "steps"],
    "additionalProperties": False,
    "properties": {
        "trigger": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": ["event", "inaction", "schedule", "date"]}},
            "allOf": [
                {
                    "if": {"properties": {"type": {"const": "event"}}},
                    "then": {
                        "required": ["event"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"const": "event"},
                            "event": {"enum": list(EVENT_TRIGGERS)},
                            "to_stage": {"type": "string", "maxLength": 64},
                            "to_cohort": {"enum": [*Cohort.values, ""]},
                            "direction": {"enum": ["down", "up", ""]},
                            "kind": {"enum": [*SIGNAL_KINDS, ""]},
                            "priority": {"type": "string", "maxLength": 32},
                            "feature": {"type": "string", "maxLength": 64},
                        },
                    },
                },
                {
                    "if": {"properties": {"type": {"const": "inaction"}}},
                    "then": {
                        "required": ["feature", "within_hours"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"const": "inaction"},
                            "feature": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
                            "within_hours": {"type": "integer", "minimum": 1, "maximum": 24 * 90},
                        },
                    },
                },
                {
                    "if": {"properties": {"type": {"const": "schedule"}}},
                    "then": {
                        "required": ["cron"],
                        "additionalProperties": False,
                        "properties": {"type": {"const": "schedule"}, "cron": {"type": "string", "maxLength": 100}},
                    },
                },
                {
                    "if": {"properties": {"type": {"const": "date"}}},
                    "then": {
                        "required": ["field", "offset_days"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"const": "date"},
                            "field": {"enum": list(DATE_FIELDS)},
                            "offset_days": {"type": "integer", "minimum": -730, "maximum": 730},
                        },
                    },
                },
            ],
        },
        "audience": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "cohorts": {"type": "array", "items": {"enum": Cohort.values}, "uniqueItems": True},
                "lifecycle_stages": {"type": "array", "items": {"enum": LifecycleStage.values}, "uniqueItems": True},
                "csm_owner_ids": {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
                "min_arr": {"type": ["number", "null"], "minimum": 0},
                "score_min": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
                "score_max": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
            },
        },
        "steps": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_STEPS,
            "items": {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"enum": list(STEP_TYPES)}},
                "allOf": [
                    {
                        "if": {"properties": {"type": {"const": "email"}}},
                        "then": {
                            "required": ["to", "subject", "body"],
                            "additionalProperties": False,
                            "properties": {
                                "type": {"const": "email"},
                                "to": {"enum": list(EMAIL_RECIPIENTS)},
                                "subject": _short,
                                "body": {**_text, "minLength": 1},
                            },
                        },
                    },
                    {
                        "if": {"properties": {"type": {"const": "task"}}},
                        "then": {
                            "required": ["title", "assignee"],
                            "additionalProperties": False,
                            "properties": {
                                "type": {"const": "task"},
                                "title": _short,
                                "description": _text,
                                "assignee": {"enum": list(TASK_ASSIGNEES)},
                                "due_in_days": {"type": "integer", "minimum": 0, "maximum": 365},
                            },
                        },
                    },
                    {
                        "if": {"properties": {"type": {"const": "slack"}}},
                        "then": {
                            "required": ["webhook_url", "text"],
                            "additionalProperties": False,
                            "properties": {"type": {"const": "slack"}, "webhook_url": _url, "text": _short},
                        },
                    },
                    {
                        "if": {"properties": {"type": {"const": "set_field"}}},
                        "then": {
                            "required": ["field", "value"],
                            "additionalProperties": False,
                            "properties": {
                                "type": {"const": "set_field"},
                                "field": {"enum": list(SETTABLE_FIELDS)},
                                "value": {"type": "string", "minLength": 1, "maxLength": 200},
                            },
                        },
                    },
                    {
                        "if": {"properties": {"type": {"const": "webhook"}}},
                        "then": {
                            "required": ["url"],
                            "additionalProperties": False,
                            "properties": {"type": {"const": "webhook"}, "url": _url, "note": _short},
                        },
                    },
                    {
                        "if": {"properties": {"type": {"const": "wait"}}},
                        "then": {
                            "additionalProperties": False,
                            "properties": {
                                "type": {"const": "wait"},
                                "days": {"type": "integer", "minimum": 0, "maximum": MAX_WAIT_DAYS},
                                "hours": {"type": "integer", "minimum": 0, "maximum": 24 * MAX_WAIT_DAYS},
                            },
                        },
                    },
                ],
            },
        },
    },
}

_validator = jsonschema.Draft202012Validator(SCHEMA)


def _path(parts) -> str:
    return ".".join(str(part) for part in parts) or "definition"


def _schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "required":
        return "This field is required."
    if error.validator == "additionalProperties":
        return "This field is not part of this kind of trigger or step."
    if error.validator in ("enum", "const"):
        return f"{error.instance!r} is not one of the choices."
    if error.validator == "pattern" and "https" in str(error.validator_value):
        return "Give an http(s):// address."
    if error.validator == "minItems":
        return "Add at least one step."
    return error.message[:200]


def definition_errors(definition: Any) -> dict[str, list[str]]:
    """Every problem of a definition, keyed by its path ("steps.2.subject"); empty when it may be saved."""
    errors: dict[str, list[str]] = {}
    for error in _validator.iter_errors(definition):
        # An error in an allOf branch reports the branch's path; the most specific one is what a user can fix.
        for leaf in _leaves(error):
            path = list(leaf.absolute_path)
            if leaf.validator == "required":
                path.append(leaf.message.split("'")[1])  # point at the missing field itself
            elif leaf.validator == "additionalProperties":
                path.extend(sorted(set(leaf.instance) - set(leaf.schema.get("properties", {})))[:1])
            errors.setdefault(_path(path), []).append(_schema_message(leaf))
    if errors:
        return errors
    _rule_errors(definition, errors)
    return errors


def _leaves(error: jsonschema.ValidationError):
    if error.context:
        for child in error.context:
            yield from _leaves(child)
    else:
        yield error


def _rule_errors(definition: dict[str, Any], errors: dict[str, list[str]]) -> None:
    trigger = definition["trigger"]
    if trigger["type"] == "schedule":
        problem = cron_problem(trigger["cron"])
        if problem:
            errors["trigger.cron"] = [problem]
    audience = definition.get("audience") or {}
    low, high = audience.get("score_min"), audience.get("score_max")
    if low is not None and high is not None and low > high:
        errors["audience.score_max"] = ["The highest score must not be below the lowest."]
    if all(step["type"] == "wait" for step in definition["steps"]):
        errors["steps"] = ["A playbook needs at least one step that does something besides waiting."]
    for index, step in enumerate(definition["steps"]):
        if step["type"] == "wait" and not (step.get("days") or step.get("hours")):
            errors[f"steps.{index}.days"] = ["Wait at least one hour or one day."]
        for key in ("subject", "body", "title", "description", "text", "value"):
            if key in step:
                problem = merge_field_problem(step[key])
                if problem:
                    errors[f"steps.{index}.{key}"] = [problem]


# --- Cron ------------------------------------------------------------------------------------------------------

CRON_FIELDS = (("minute", 60, 0), ("hour", 24, 0), ("day of month", 31, 1), ("month", 12, 1), ("day of week", 7, 0))


def cron_parse(expression: str) -> tuple[set[int], ...]:
    """Five standard fields (minute hour day-of-month month day-of-week, 0 = Sunday), parsed by Celery's own
    crontab parser; raises ValueError with the field that is wrong."""
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError("Write five fields: minute hour day-of-month month day-of-week, e.g. '0 9 * * 1'.")
    parsed = []
    for part, (label, size, low) in zip(parts, CRON_FIELDS, strict=True):
        try:
            parsed.append(crontab_parser(size, low).parse(part))
        except (ParseException, ValueError, IndexError) as exc:
            raise ValueError(f"The {label} field '{part}' is not valid.") from exc
    return tuple(parsed)


def cron_problem(expression: str) -> str:
    try:
        cron_parse(expression)
    except ValueError as exc:
        return str(exc)
    return ""


def cron_matches(parsed: tuple[set[int], ...], moment) -> bool:
    minutes, hours, days, months, weekdays = parsed
    return (
        moment.minute in minutes
        and moment.hour in hours
        and moment.day in days
        and moment.month in months
        and moment.isoweekday() % 7 in weekdays
    )


# --- Merge fields ----------------------------------------------------------------------------------------------

# No loaders, no extra libraries, autoescape off (plain-text email and chat). Built-in tags still exist in Django's
# engine, so merge_field_problem refuses any node that is not text or a {{ variable }}.
_engine = Engine(loaders=[], libraries={}, autoescape=False, string_if_invalid="", debug=False)


def merge_field_names() -> list[str]:
    return [f"{obj}.{name}" for obj, names in MERGE_FIELDS.items() for name in names]


def merge_field_problem(text: str) -> str:
    """Why a text's merge fields cannot be rendered, or "" when they can."""
    try:
        template = _engine.from_string(text)
    except TemplateSyntaxError as exc:
        return f"This text has a broken merge field: {exc}."
    for node in template.nodelist:
        if isinstance(node, TextNode):
            if "{{" in node.s or "{%" in node.s or "}}" in node.s:  # Django keeps an unclosed {{ as plain text
                return "This text has a broken merge field: close each {{ with }}."
            continue
        if not isinstance(node, VariableNode):
            return "Only merge fields like {{ account.name }} may be used here, not {% tags %}."
        expression = node.filter_expression
        lookups = getattr(expression.var, "lookups", None)
        name = ".".join(lookups) if lookups else str(expression.var)
        if (
            not lookups
            or len(lookups) != 2
            or lookups[0] not in MERGE_FIELDS
            or lookups[1] not in MERGE_FIELDS[lookups[0]]
        ):
            return f"Unknown merge field {{{{ {name} }}}}. Use one of: " + ", ".join(merge_field_names()) + "."
        for merge_filter, _ in expression.filters:
            if merge_filter.__name__ not in ALLOWED_FILTERS:
                return f"The filter '{merge_filter.__name__}' is not allowed in merge fields."
    return ""


def merge_render(text: str, context: dict[str, dict[str, Any]]) -> str:
    return _engine.from_string(text).render(Context(context, autoescape=False))


def wait_seconds(step: dict[str, Any]) -> int:
    return int(step.get("days") or 0) * 86400 + int(step.get("hours") or 0) * 3600


def step_summary(step: dict[str, Any]) -> str:
    """One line a CSM reads: what the step does."""
    kind = step["type"]
    if kind == "email":
        return f"Email {_WHO.get(step['to'], step['to'])}: “{step['subject']}”"
    if kind == "task":
        return f"Task for {_WHO.get(step['assignee'], step['assignee'])}: “{step['title']}”"
    if kind == "slack":
        return f"Slack: “{step['text']}”"
    if kind == "set_field":
        return f"Set {SETTABLE_FIELDS.get(step['field'], step['field'])} to “{step['value']}”"
    if kind == "webhook":
        from urllib.parse import urlsplit

        return f"Call webhook at {urlsplit(step['url']).hostname}"
    days, hours = int(step.get("days") or 0), int(step.get("hours") or 0)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    parts += [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    return "Wait " + " and ".join(parts or ["0 hours"])


def trigger_summary(trigger: dict[str, Any]) -> str:
    kind = trigger["type"]
    if kind == "event":
        spec = EVENT_TRIGGERS.get(trigger["event"], {"label": trigger["event"], "filter": None})
        text = spec["label"]
        if spec["filter"] and trigger.get(spec["filter"]):
            text += f" ({spec['filter'].replace('_', ' ')}: {trigger[spec['filter']]})"
        return text
    if kind == "inaction":
        return f"No {trigger['feature']} within {trigger['within_hours']} hours of sign-up"
    if kind == "schedule":
        return f"On the schedule {trigger['cron']} (organization's time zone)"
    offset = trigger["offset_days"]
    label = DATE_FIELDS.get(trigger["field"], trigger["field"]).lower()
    if offset < 0:
        return f"{-offset} days before the {label}"
    return f"{offset} days after the {label}" if offset else f"On the {label}"
