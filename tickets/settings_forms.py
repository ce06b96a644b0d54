"""Forms of the support inbox's settings pages. They turn what is typed into the services' values; the rules
themselves (ranges, merge fields, calendars) live in tickets.settings_services, whose errors land beside the field."""

import re
import zoneinfo

from django import forms

from tickets import sla
from tickets.models import Macro, RoutingRule, SlaPolicy, SupportSettings
from tickets.settings_services import MACRO_MERGE_FIELDS, OUT_OF_HOURS_MERGE_FIELDS, ROUTING_MERGE_FIELDS

_DAY_LINE = re.compile(r"^\s*([A-Za-z]+)\s*:\s*(.*?)\s*$")
_CLOSED = ("", "closed", "-", "—")


def _merge_help(fields: tuple[str, ...]) -> str:
    return "Merge fields: " + ", ".join("{" + name + "}" for name in fields) + "."


def weekly_hours_text(hours: dict) -> str:
    """{"mon": ["09:00-12:30", "13:30-18:00"]} as the textarea shows it: "mon: 09:00-12:30, 13:30-18:00"."""
    lines = []
    for day, spans in (hours or {}).items():
        spans = [spans] if isinstance(spans, str) else spans
        lines.append(f"{day}: {', '.join(spans) if spans else 'closed'}")
    return "\n".join(lines)


def weekly_hours_parse(text: str) -> dict[str, list[str]]:
    """One line per day, "mon: 09:00-12:30, 13:30-18:00" or "sat: closed"; days left out are closed. Raises
    forms.ValidationError with tickets.sla's sentence when the hours do not make a week."""
    hours: dict[str, list[str]] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        found = _DAY_LINE.match(line)
        if found is None:
            raise forms.ValidationError(
                f"Line {number} (“{line.strip()}”): start with the day and a colon, e.g. mon: 09:00-17:00."
            )
        day = found[1].lower()
        if day in hours:
            raise forms.ValidationError(f"Line {number}: {found[1]} is given twice; put all its hours on one line.")
        rest = found[2]
        hours[day] = [] if rest.lower() in _CLOSED else [span.strip() for span in rest.split(",") if span.strip()]
    try:
        sla.WeeklyHours.parse(hours)
    except ValueError as error:
        raise forms.ValidationError(f"{error}.") from None
    return hours


class SupportSettingsForm(forms.Form):
    timezone = forms.ChoiceField(
        label="Time zone", help_text="Business hours and SLA deadlines are counted in this zone (seed 000: Berlin)."
    )
    weekly_hours = forms.CharField(
        label="Business hours",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 7, "placeholder": "mon: 09:00-12:30, 13:30-18:00\ntue: 09:00-17:00\nsat: closed"}
        ),
        help_text="One line per day: the day, a colon, then the hours separated by commas. Days left out are "
        "closed; 24:00 ends a day. Empty: Monday to Friday, 09:00-17:00.",
    )
    holiday_country = forms.CharField(
        label="Public holidays of", max_length=2, required=False, help_text="ISO country code, e.g. DE. Empty: none."
    )
    holiday_subdivision = forms.CharField(
        label="Region", max_length=10, required=False, help_text="State or region code, e.g. BE for Berlin."
    )
    extra_holidays = forms.CharField(
        label="Other closing days",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2026-12-24\n2026-12-31"}),
        help_text="One date per line (YYYY-MM-DD): the SLA clock does not run on them.",
    )
    reopen_window_days = forms.IntegerField(
        label="Reopen window (days)",
        help_text="A customer reply within this many days of closing reopens the ticket; later, it opens a new one.",
    )
    forum_url = forms.CharField(label="Community forum", max_length=200, required=False)
    feature_tracker_url = forms.CharField(label="Public feature tracker", max_length=200, required=False)
    docs_url = forms.CharField(label="Documentation", max_length=200, required=False)
    job_applications_cc = forms.CharField(
        label="Copy replies to job applications to",
        max_length=254,
        required=False,
        help_text="Seed 003: the head of people is copied on every reply to a job application.",
    )
    # Anyone holding the webhook address can post into the channel, so it is treated as a secret: never sent back
    # to the browser; an empty box keeps what is stored.
    slack_webhook_url = forms.CharField(
        label="Slack incoming webhook",
        max_length=200,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="https://hooks.slack.com/services/…: every new ticket is posted there. Empty keeps the stored one.",
    )
    clear_slack_webhook_url = forms.BooleanField(label="Stop posting to Slack (remove the webhook)", required=False)
    out_of_hours_reply = forms.CharField(
        label="Out-of-hours reply",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Sent once when a ticket arrives outside business hours; empty sends nothing. "
        + _merge_help(OUT_OF_HOURS_MERGE_FIELDS),
    )

    def __init__(self, *args, instance: SupportSettings, **kwargs):
        initial = {
            "timezone": instance.timezone,
            "weekly_hours": weekly_hours_text(instance.weekly_hours),
            "holiday_country": instance.holiday_country,
            "holiday_subdivision": instance.holiday_subdivision,
            "extra_holidays": "\n".join(instance.extra_holidays or []),
            "reopen_window_days": instance.reopen_window_days,
            "forum_url": instance.forum_url,
            "feature_tracker_url": instance.feature_tracker_url,
            "docs_url": instance.docs_url,
            "out_of_hours_reply": instance.out_of_hours_reply,
            "job_applications_cc": instance.job_applications_cc,
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["timezone"].choices = [(name, name) for name in sorted(zoneinfo.available_timezones())]

    def clean_weekly_hours(self) -> dict[str, list[str]]:
        return weekly_hours_parse(self.cleaned_data["weekly_hours"])

    def clean_extra_holidays(self) -> list[str]:
        return [part.strip() for part in re.split(r"[\n,]", self.cleaned_data["extra_holidays"]) if part.strip()]

    def service_values(self) -> dict:
        values = {name: self.cleaned_data[name] for name in self.fields if not name.startswith(("slack", "clear"))}
        if self.cleaned_data["clear_slack_webhook_url"]:
            values["slack_webhook_url"] = ""
        elif self.cleaned_data["slack_webhook_url"].strip():
            values["slack_webhook_url"] = self.cleaned_data["slack_webhook_url"]
        return values


def _any_choice(field: forms.Field, label: str) -> None:
    field.choices = [("", label), *[choice for choice in field.choices if choice[0] != ""]]


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = [
            "name", "position", "cohort", "priority", "channel", "topic", "first_response_minutes",
            "next_response_minutes", "resolution_minutes", "business_hours",
        ]  # fmt: skip
        labels = {
            "first_response_minutes": "First response (min)",
            "next_response_minutes": "Next response (min)",
            "resolution_minutes": "Resolution (min)",
            "business_hours": "Count business hours only (off: every minute counts, 24/7)",
        }
        help_texts = {
            "position": "Lower is checked first. Empty: at the bottom.",
            "next_response_minutes": "After each customer reply. Empty: no target.",
            "resolution_minutes": "Empty: no target; otherwise longer than the first response.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["position"].required = False
        _any_choice(self.fields["cohort"], "Any cohort")
        _any_choice(self.fields["topic"], "Any topic")
        _any_choice(self.fields["priority"], "Any priority")
        _any_choice(self.fields["channel"], "Any channel")


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = ["position", "topic", "cohort", "action", "reply", "active"]
        labels = {"active": "Active", "action": "Then"}
        widgets = {"reply": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "position": "Lower is checked first. Empty: at the bottom.",
            "reply": "Sent to the customer by the forum and tracker actions. " + _merge_help(ROUTING_MERGE_FIELDS),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["position"].required = False
        _any_choice(self.fields["topic"], "Any topic")
        _any_choice(self.fields["cohort"], "Any cohort")


class MacroForm(forms.ModelForm):
    class Meta:
        model = Macro
        fields = ["name", "body"]
        labels = {"body": "Text"}
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}
        help_texts = {"body": _merge_help(MACRO_MERGE_FIELDS)}
