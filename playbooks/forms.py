"""The editor's form: name and description as a Django form, the definition as JSON the page's script builds from
the trigger, audience and step fields (playbooks/static/playbooks/editor.js).

`editor_state` turns a definition and its errors (keyed by path, from playbooks.definition) back into what the
template renders: every value in its field and every message beside it, so nothing typed is lost on an error.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from accounts.models import Cohort, LifecycleStage
from health.models import SignalKind
from lifecycle.models import DealStage
from playbooks import definition as pdef
from playbooks.models import TriggerType
from tickets.models import Priority

EMPTY_DEFINITION = {"trigger": {"type": "event", "event": "deal.committed"}, "audience": {}, "steps": []}


class PlaybookForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="What the team will call it, e.g. “Snapshot nudge”.")
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Why it exists; shown on its page."
    )
    definition = forms.CharField(widget=forms.HiddenInput, required=False)

    @staticmethod
    def definition_from(raw: str) -> tuple[Any, dict[str, list[str]]]:
        """The posted definition, or the error that says why it could not be read."""
        if not raw:
            return None, {"definition": ["The steps could not be read: this editor needs JavaScript switched on."]}
        try:
            return json.loads(raw), {}
        except ValueError:
            return None, {"definition": ["The steps could not be read; reload the page and try again."]}


def _group_errors(errors: dict[str, list[str]]) -> dict[str, Any]:
    grouped: dict[str, Any] = {"trigger": {}, "audience": {}, "steps": {}, "general": []}
    for path, messages in errors.items():
        parts = path.split(".")
        if parts[0] in ("trigger", "audience") and len(parts) > 1:
            grouped[parts[0]].setdefault(parts[1], []).extend(messages)
        elif parts[0] == "steps" and len(parts) > 1 and parts[1].isdigit():
            key = parts[2] if len(parts) > 2 else "_"
            grouped["steps"].setdefault(int(parts[1]), {}).setdefault(key, []).extend(messages)
        elif parts[0] in ("name", "description"):
            continue  # shown by the Django form beside its field
        else:
            grouped["general"].extend(messages)
    return grouped


def editor_state(definition: Any, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    definition = definition if isinstance(definition, dict) else EMPTY_DEFINITION
    grouped = _group_errors(errors or {})
    trigger = dict(definition.get("trigger") or {}) if isinstance(definition.get("trigger"), dict) else {}
    offset = trigger.get("offset_days")
    if isinstance(offset, int):
        trigger["offset_abs"], trigger["offset_direction"] = abs(offset), "before" if offset < 0 else "after"
    # What the other trigger kinds' fields start with, should the CSM switch to one (seeds: 24 hours, 90 days).
    for key, value in (("within_hours", 24), ("offset_abs", 90), ("cron", "0 9 * * 1"), ("field", "renewal_date")):
        trigger.setdefault(key, value)
    audience = definition.get("audience") if isinstance(definition.get("audience"), dict) else {}
    steps = []
    for index, step in enumerate(definition.get("steps") or []):
        if not isinstance(step, dict):
            continue
        kind = step.get("type") if step.get("type") in pdef.STEP_TYPES else "task"
        steps.append(
            {
                "index": index,
                "type": kind,
                "label": pdef.STEP_TYPES[kind],
                "values": step,
                "errors": grouped["steps"].get(index, {}),
            }
        )
    return {
        "trigger": trigger,
        "trigger_errors": grouped["trigger"],
        "audience": audience,
        "audience_errors": grouped["audience"],
        "steps": steps,
        "general_errors": grouped["general"],
        "has_errors": bool(errors),
    }


def editor_choices(*, members) -> dict[str, Any]:
    """The options the editor's selects and checkboxes offer, in the users' words."""
    return {
        "trigger_types": TriggerType.choices,
        "events": [(key, spec["label"]) for key, spec in pdef.EVENT_TRIGGERS.items()],
        "step_types": list(pdef.STEP_TYPES.items()),
        "recipients": list(pdef.EMAIL_RECIPIENTS.items()),
        "assignees": list(pdef.TASK_ASSIGNEES.items()),
        "settable_fields": list(pdef.SETTABLE_FIELDS.items()),
        "date_fields": list(pdef.DATE_FIELDS.items()),
        "cohorts": Cohort.choices,
        "lifecycle_stages": LifecycleStage.choices,
        "deal_stages": DealStage.choices,
        "priorities": Priority.choices,
        "signal_kinds": [(kind, SignalKind(kind).label) for kind in pdef.SIGNAL_KINDS],
        "members": [(member.pk, member.get_full_name() or member.email) for member in members],
        "merge_fields": pdef.merge_field_names(),
    }  # fmt: skip
