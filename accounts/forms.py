import json
from decimal import Decimal

from django import forms

from accounts.models import LEAD_STATUS_HELP, Account, Contact, LeadStatus
from accounts.selectors import organization_member_users


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return user.get_full_name() or user.email


class AccountForm(forms.ModelForm):
    csm_owner = MemberChoiceField(queryset=None, required=False, label="CSM owner")
    ae_owner = MemberChoiceField(queryset=None, required=False, label="AE owner")

    class Meta:
        model = Account
        fields = [
            "name", "domain", "cohort", "status", "currency", "arr", "mrr", "renewal_date", "csm_owner", "ae_owner",
            "codename", "qbr_nominated", "qbr_nomination_reason", "stripe_customer_id", "hubspot_company_id",
        ]  # fmt: skip
        widgets = {
            "renewal_date": forms.DateInput(attrs={"type": "date"}),
            "qbr_nomination_reason": forms.Textarea(attrs={"rows": 2}),
            "name": forms.TextInput(attrs={"autofocus": True}),
        }
        help_texts = {
            "codename": "A minor-planet name used for the customer in public bug reports. Leave empty to get one.",
            "domain": "The customer's web domain, used to match contacts and billing records.",
            "arr": "Annual recurring revenue.",
            "mrr": "Monthly recurring revenue. Leave empty to use ARR / 12.",
        }

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        members = organization_member_users(organization=organization)
        self.fields["csm_owner"].queryset = members
        self.fields["ae_owner"].queryset = members
        self.fields["codename"].required = False
        self.fields["mrr"].required = False
        if not self.instance.pk:
            self.initial["mrr"] = None  # empty means "ARR / 12"; a 0.00 default would be taken literally
        self.fields["currency"].initial = organization.default_currency
        for name in ("csm_owner", "ae_owner"):
            self.fields[name].empty_label = "Unassigned"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("mrr") is None and cleaned.get("arr") is not None:
            cleaned["mrr"] = (cleaned["arr"] / 12).quantize(Decimal("0.01"))
        return cleaned


class ContactForm(forms.ModelForm):
    # The queryset is set per request: at import time no tenant scope is open, and the scoped manager refuses.
    account = forms.ModelChoiceField(
        queryset=None,
        required=False,
    )
    ffc_actions = forms.CharField(
        required=False, label="FFC actions", help_text="Comma-separated actions taken by the contact's team."
    )

    class Meta:
        model = Contact
        fields = [
            "first_name", "last_name", "email", "title", "account", "owner", "lifecycle_stage", "lead_status",
            "activation_outbound", "ffc_tier", "ffc_actions", "ffc_usage", "hubspot_contact_id",
        ]  # fmt: skip
        widgets = {"first_name": forms.TextInput(attrs={"autofocus": True})}
        help_texts = {
            "lead_status": "For MQLs and SQLs, kept by the contact owner. Pick a status to see when it applies.",
            "activation_outbound": "The first meeting came through outbound campaigns or lead-gen (seed 002).",
        }

    owner = MemberChoiceField(
        queryset=None, required=False, label="Owner", help_text="Keeps the lifecycle stage right."
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.all()
        self.fields["owner"].queryset = organization_member_users(organization=organization)
        self.fields["owner"].empty_label = "The account's AE"
        if self.instance.pk:
            # Stage moves have their rules and their questions: they happen in the contact page's Lifecycle card.
            del self.fields["lifecycle_stage"]
        else:
            self.fields["lifecycle_stage"].help_text = "Where the contact starts; later moves follow seed 002's rules."
        self.fields["lead_status"].choices = [("", "None"), *LeadStatus.choices]
        self.fields["lead_status"].widget.attrs["data-hints"] = json.dumps(
            {str(k): v for k, v in LEAD_STATUS_HELP.items()}
        )
        if self.instance.pk:
            self.initial["ffc_actions"] = ", ".join(self.instance.ffc_actions or [])


class NoteForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Add a note for the team…"}), label=""
    )


class ContactImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: Name (or First name and Last name), Email, Title, Account (name or domain), "
        "Lifecycle stage, Lead status. Up to 5 MB.",
    )

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if uploaded.size > 5 * 1024 * 1024:
            raise forms.ValidationError("The file is larger than 5 MB. Split it and import the parts.")
        if not uploaded.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError("Upload a .csv file.")
        return uploaded
