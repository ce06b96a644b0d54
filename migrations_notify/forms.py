from django import forms

from accounts.selectors import organization_member_users
from migrations_notify.models import InstanceSource


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    target_server = forms.CharField(
        label="New server or cluster",
        max_length=200,
        help_text="The name the hosting platform reports for it, e.g. k8s-eu-2.",
    )
    deadline = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Seed 000: the server is ready 90 days before, teams are told 30 days before.",
    )
    instance_source = forms.ChoiceField(label="Instances come from", choices=InstanceSource.choices)
    platform_base_url = forms.URLField(
        label="Hosting platform API",
        required=False,
        help_text="Needed to fetch instances and for the deadline-day restarts.",
    )
    platform_token = forms.CharField(
        label="API token",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored sealed. Empty keeps the stored one.",
    )
    owner = forms.ModelChoiceField(queryset=None, required=False, help_text="Gets the review tasks nobody else owns.")
    notice_subject = forms.CharField(max_length=250)
    notice_body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10}), help_text="Placeholders: {team} {target} {deadline} {instances}."
    )
    failure_body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Sent on deadline day for instances that did not come back; {ticket}.",
    )
    important_arr = forms.DecimalField(label="Important from ARR", max_digits=14, decimal_places=2, min_value=0)
    important_instance_count = forms.IntegerField(label="Important from instances left", min_value=1)
    restart_timeout_seconds = forms.IntegerField(label="Restart check timeout (s)", min_value=1, max_value=3600)
    restart_poll_seconds = forms.IntegerField(label="Check every (s)", min_value=0, max_value=300)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = organization_member_users(organization=organization)

    def service_values(self) -> dict:
        values = dict(self.cleaned_data)
        token = values.pop("platform_token", "")
        values["platform_token"] = token or None
        return values


class CsvImportForm(forms.Form):
    csv_file = forms.FileField(
        label="CSV export", help_text="Columns: team_id, team_name, team_email, instance_id, instance_name."
    )
