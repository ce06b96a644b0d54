from datetime import timedelta

from django import forms
from django.utils import timezone

from accounts.forms import MemberChoiceField
from accounts.models import Contact
from accounts.selectors import organization_member_users
from qbr.models import QBR_GOALS, FeatureRequest, FeatureRequestStatus, MeetingKind, OutreachChannel, QbrSettings


class MemberMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user) -> str:
        return user.get_full_name() or user.email


class MeetingForm(forms.Form):
    kind = forms.ChoiceField(choices=MeetingKind.choices, initial=MeetingKind.QBR, label="Type")
    title = forms.CharField(max_length=200, required=False, help_text="Empty: the type and the account's name.")
    starts_at = forms.DateTimeField(
        label="Starts", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    duration_minutes = forms.IntegerField(label="Minutes", min_value=5, max_value=480, initial=60)
    organizer = MemberChoiceField(queryset=None, required=False, label="Organizer")
    video_url = forms.URLField(label="Video link", required=False, assume_scheme="https")
    contacts = forms.ModelMultipleChoiceField(
        queryset=None, required=False, label="Customer attendees", widget=forms.CheckboxSelectMultiple
    )
    members = MemberMultipleChoiceField(
        queryset=None, required=False, label="Our team", widget=forms.CheckboxSelectMultiple
    )
    agenda_text = forms.CharField(
        label="Agenda items",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line, on top of the agenda the meeting's type brings (below).",
    )

    def __init__(self, *args, organization, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organizer"].queryset = organization_member_users(organization=organization)
        self.fields["organizer"].empty_label = "Me"
        self.fields["members"].queryset = organization_member_users(organization=organization)
        self.fields["contacts"].queryset = Contact.objects.filter(account=account).order_by("last_name", "id")

    def clean_agenda_text(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["agenda_text"].splitlines() if line.strip()]

    def service_values(self) -> dict:
        data = dict(self.cleaned_data)
        data["agenda_items"] = data.pop("agenda_text")
        return data


class ConfirmForm(forms.Form):
    starts_at = forms.DateTimeField(
        label="Date and time", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )


class OutcomesForm(forms.Form):
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}), label="Meeting notes")
    customer_feedback = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Customer feedback"
    )
    features_in_use = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Features they use, and why",
        help_text="Seed 003: ask them to walk through their day-to-day use; understand the why, guide later.",
    )
    findings = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Findings for the QBR",
        help_text="Areas of improvement to highlight in the QBR.",
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        if kind == MeetingKind.QBR:
            for key, label, explanation in QBR_GOALS:
                self.fields[f"goal_{key}"] = forms.CharField(
                    required=False, label=label, help_text=explanation, widget=forms.Textarea(attrs={"rows": 2})
                )
        if kind != MeetingKind.HEALTH_CHECK:
            del self.fields["features_in_use"], self.fields["findings"]

    def goal_fields(self):
        return [self[f"goal_{key}"] for key, _, _ in QBR_GOALS if f"goal_{key}" in self.fields]

    def service_values(self) -> dict:
        data = dict(self.cleaned_data)
        goals = {key: data.pop(f"goal_{key}") for key, _, _ in QBR_GOALS if f"goal_{key}" in data}
        return {**data, "goal_outcomes": goals}


class NarrativeForm(forms.Form):
    narrative = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Narrative",
        help_text="What the numbers mean for this customer: the story you will tell.",
    )


class ActionItemForm(forms.Form):
    title = forms.CharField(max_length=200, label="Action item", widget=forms.TextInput(attrs={"placeholder": "What"}))
    assignee = MemberChoiceField(queryset=None, required=False, label="Owner")
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Due")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = organization_member_users(organization=organization)
        self.fields["assignee"].empty_label = "Me"
        self.fields["due_date"].initial = timezone.localdate() + timedelta(days=7)


class CaptureRequestForm(forms.Form):
    """A request heard in the meeting: a new one, or an existing one this account also asks for."""

    existing = forms.ModelChoiceField(queryset=None, required=False, label="Existing request", empty_label="A new one")
    title = forms.CharField(max_length=200, required=False, label="Title")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="What they need")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["existing"].queryset = FeatureRequest.objects.order_by("title")

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("existing") and not (cleaned.get("title") or "").strip():
            self.add_error("title", "Give the new request a title, or choose an existing one.")
        return cleaned


class OutreachForm(forms.Form):
    channel = forms.ChoiceField(choices=OutreachChannel.choices, widget=forms.RadioSelect, label="Tried")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="What you sent or heard")


class FeatureRequestForm(forms.ModelForm):
    class Meta:
        model = FeatureRequest
        fields = ["title", "description", "status", "tracker_url"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}


class FeatureRequestStatusForm(forms.Form):
    status = forms.ChoiceField(choices=FeatureRequestStatus.choices)


class AddAskerForm(forms.Form):
    account = forms.ModelChoiceField(queryset=None, label="Account")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from accounts.models import Account

        self.fields["account"].queryset = Account.objects.order_by("name")


class UptimeNoteForm(forms.Form):
    noted_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Day")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Uptime, outages, alarms")


class ChampionChangeForm(forms.Form):
    new_contact = forms.ModelChoiceField(queryset=None, label="New DRI")
    previous_contact = forms.ModelChoiceField(queryset=None, required=False, label="Previous champion")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Why it changed")

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        contacts = Contact.objects.filter(account=account).order_by("last_name", "id")
        self.fields["new_contact"].queryset = contacts
        self.fields["previous_contact"].queryset = contacts


class QbrSettingsForm(forms.ModelForm):
    class Meta:
        model = QbrSettings
        fields = ["arr_threshold", "share_link_days", "latest_version", "release_notes"]
        widgets = {"release_notes": forms.Textarea(attrs={"rows": 5})}
