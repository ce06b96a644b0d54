from django import forms

from accounts.models import Account, AccountStatus
from churn.models import CancelMode, ChurnSettings


def _reason_choices(churn_settings: ChurnSettings, *, blank: str) -> list[tuple[str, str]]:
    return [("", blank), *[(code, label) for code, label in churn_settings.reasons]]


class ChurnCaseForm(forms.Form):
    account = forms.ModelChoiceField(queryset=Account.objects.none(), help_text="The customer that will not renew.")
    churn_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), help_text="The day they leave: usually the renewal date."
    )
    arr_lost = forms.DecimalField(
        label="ARR lost",
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Empty: the account's ARR.",
    )
    primary_reason = forms.ChoiceField(label="Main reason")
    secondary_reason = forms.ChoiceField(label="Secondary reason", required=False)
    reason_other = forms.CharField(
        label="Other, in words", max_length=300, required=False, help_text="Needed when a reason is Other."
    )
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="What happened, in a few sentences: posted to the sales channel.",
    )
    cancel_mode = forms.ChoiceField(
        label="Cancel the Stripe subscription",
        choices=CancelMode.choices,
        initial=CancelMode.PERIOD_END,
        widget=forms.RadioSelect,
    )
    confirm_cancel_now = forms.BooleanField(
        label="I understand: cancelling now stops the service today and sends no refund by itself.", required=False
    )

    def __init__(self, *args, churn_settings: ChurnSettings, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.filter(status=AccountStatus.ACTIVE).order_by("name")
        self.fields["primary_reason"].choices = _reason_choices(churn_settings, blank="Choose…")
        self.fields["secondary_reason"].choices = _reason_choices(churn_settings, blank="None")
        if editing:
            del self.fields["account"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("cancel_mode") == CancelMode.NOW and not cleaned.get("confirm_cancel_now"):
            self.add_error("confirm_cancel_now", "Cancelling now is immediate: tick the box to confirm.")
        return cleaned

    def service_values(self) -> dict:
        return {key: value for key, value in self.cleaned_data.items() if key not in ("account", "confirm_cancel_now")}


class StepSkipForm(forms.Form):
    skip_reason = forms.CharField(max_length=300, label="Why skip it?")


class DismissForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Why is this not a churn?")


class ChurnSettingsForm(forms.Form):
    reasons = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="One per line. Other is always offered and asks for a sentence.",
    )
    learning_questions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One per line: asked in the acknowledgment email.",
    )
    acknowledgment_intro = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    sales_slack_webhook_url = forms.CharField(
        label="Sales channel Slack webhook",
        required=False,
        help_text="https://hooks.slack.com/services/… of #dept-sales. Empty keeps the stored one.",
        widget=forms.PasswordInput(render_value=False),
    )
    clear_sales_slack_webhook_url = forms.BooleanField(label="Stop posting (remove the webhook)", required=False)

    def service_values(self) -> dict:
        values = {
            "reasons": self.cleaned_data["reasons"].splitlines(),
            "learning_questions": self.cleaned_data["learning_questions"].splitlines(),
            "acknowledgment_intro": self.cleaned_data["acknowledgment_intro"],
        }
        if self.cleaned_data["clear_sales_slack_webhook_url"]:
            values["sales_slack_webhook_url"] = ""
        elif self.cleaned_data["sales_slack_webhook_url"].strip():
            values["sales_slack_webhook_url"] = self.cleaned_data["sales_slack_webhook_url"]
        return values
