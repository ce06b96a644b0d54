from django import forms

from accounts.models import Account, Cohort


class PlanCohortForm(forms.Form):
    stripe_id = forms.CharField(
        label="Stripe price or product id",
        max_length=64,
        help_text="price_… for one price, prod_… for every price of a product.",
    )
    cohort = forms.ChoiceField(choices=Cohort.choices)


class CustomerLinkForm(forms.Form):
    # The queryset is set per request: at import time no tenant scope is open, and the scoped manager refuses.
    account = forms.ModelChoiceField(queryset=None, error_messages={"required": "Choose the account to link."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.all()
