from django import forms

from accounts.forms import MemberChoiceField
from accounts.models import Account, Cohort, LifecycleStage
from accounts.selectors import organization_member_users
from lifecycle.models import (
    DEAL_STAGE_HELP,
    ContactQualification,
    CsmAssignmentRule,
    Deal,
    DealStage,
    OnboardingStepTemplate,
    PipelineSettings,
)
from lifecycle.rules import lost_reason_refusal


class DealForm(forms.ModelForm):
    account = forms.ModelChoiceField(queryset=None)
    owner = MemberChoiceField(queryset=None, required=False, label="Owner (AE)")
    lost_reason = forms.ChoiceField(required=False, label="Lost reason")

    class Meta:
        model = Deal
        fields = [
            "account",
            "type",
            "name",
            "amount",
            "currency",
            "expected_close_date",
            "owner",
            "stage",
            "lost_reason",
        ]
        widgets = {"expected_close_date": forms.DateInput(attrs={"type": "date"})}
        help_texts = {
            "name": "Expansions follow CustomerName_Product_Expansion_QuarterDue; leave empty to get the suggestion.",
            "currency": "Three letters; empty means the account's currency.",
        }

    def __init__(self, *args, organization, lost_reasons: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.order_by("name")
        self.fields["owner"].queryset = organization_member_users(organization=organization)
        self.fields["owner"].empty_label = "The account's AE"
        self.fields["name"].required = False
        self.fields["currency"].required = False
        self.fields["lost_reason"].choices = [("", "—"), *[(reason, reason) for reason in lost_reasons]]
        self.fields["stage"].widget.attrs["data-hints"] = _json_hints()
        self.lost_reasons = lost_reasons
        if self.instance.pk:
            # The account of a deal does not change; stage moves have their own rules but are editable here too.
            self.fields["account"].disabled = True

    def clean(self):
        cleaned = super().clean()
        # Checked here too so the reason's own message shows, not the database constraint's.
        if cleaned.get("stage") == DealStage.CLOSED_LOST:
            for field, errors in lost_reason_refusal(
                lost_reason=cleaned.get("lost_reason", ""), lost_reasons=self.lost_reasons
            ).items():
                self.add_error(field, errors)
        return cleaned


def _json_hints() -> str:
    import json

    return json.dumps({str(stage): text for stage, text in DEAL_STAGE_HELP.items()})


class DealMoveForm(forms.Form):
    stage = forms.ChoiceField(choices=DealStage.choices)
    lost_reason = forms.CharField(required=False)


class StageChangeForm(forms.Form):
    lifecycle_stage = forms.ChoiceField(choices=LifecycleStage.choices, label="Move to")
    stage_change_reason = forms.CharField(
        required=False,
        label="Why",
        widget=forms.TextInput(attrs={"placeholder": "Optional; required when correcting backwards"}),
    )


class QualificationForm(forms.ModelForm):
    class Meta:
        model = ContactQualification
        fields = list(ContactQualification.QUALIFYING_FIELDS + ContactQualification.THREE_WS)
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields}


class TaskForm(forms.Form):
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "What needs doing?"}))
    assignee = MemberChoiceField(queryset=None, required=False, label="Assignee")
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Due")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = organization_member_users(organization=organization)
        self.fields["assignee"].empty_label = "Me"


class PipelineSettingsForm(forms.ModelForm):
    lost_reasons = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}), help_text="One reason per line; a lost deal picks one of them."
    )

    class Meta:
        model = PipelineSettings
        fields = [
            "probability_opportunity", "probability_poc_started", "probability_value_validated",
            "probability_contract_sent", "lost_reasons", "evangelist_enabled", "csm_assignment_rule", "product_name",
        ]  # fmt: skip
        labels = {
            "probability_opportunity": "Opportunity %",
            "probability_poc_started": "POC Started %",
            "probability_value_validated": "Value Validated %",
            "probability_contract_sent": "Contract Sent %",
            "evangelist_enabled": "Use the Evangelist lifecycle stage",
            "csm_assignment_rule": "When a deal is committed and the account has no CSM",
        }
        widgets = {"csm_assignment_rule": forms.RadioSelect}
        help_texts = {
            "product_name": "Goes before the plan in suggested names: Fleet gives Abc_FleetPremium_Expansion_Q12027.",
        }

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["csm_assignment_rule"].choices = CsmAssignmentRule.choices
        self.initial["lost_reasons"] = "\n".join(self.instance.lost_reasons or [])
        csms = organization_member_users(organization=organization).filter(
            memberships__organization=organization, memberships__role__in=("csm", "admin")
        )
        for cohort, label in Cohort.choices:
            field = MemberChoiceField(queryset=csms, required=False, label=f"CSM for {label}")
            field.empty_label = "Round robin"
            self.fields[f"cohort_csm_{cohort}"] = field
            self.initial[f"cohort_csm_{cohort}"] = (self.instance.cohort_csms or {}).get(cohort)

    def clean_lost_reasons(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["lost_reasons"].splitlines() if line.strip()]

    def service_values(self) -> dict:
        values = {name: self.cleaned_data[name] for name in self.Meta.fields}
        values["cohort_csms"] = {
            cohort: user.pk for cohort in Cohort.values if (user := self.cleaned_data.get(f"cohort_csm_{cohort}"))
        }
        return values


class OnboardingStepForm(forms.ModelForm):
    class Meta:
        model = OnboardingStepTemplate
        fields = ["title", "description", "assignee_role", "due_days"]
        labels = {"due_days": "Due (days after commit)", "assignee_role": "Assigned to"}
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
