from django import forms

from core.forms import SecretFieldsMixin
from integrations.models import Source

SECRET_WIDGET = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})

# What each source calls its two secrets, and where the admin finds them.
SECRET_HELP = {
    Source.STRIPE: {
        "api_key": (
            "Restricted API key",
            "Dashboard → Developers → API keys → Create restricted key: read on Customers, Subscriptions, "
            "Invoices, Prices, Events; write on Subscriptions and Invoices (to cancel and to send an invoice).",
        ),
        "webhook_secret": (
            "Webhook signing secret",
            "whsec_… of the endpoint you add under Developers → Webhooks with the address shown here.",
        ),
        "api_base_url": "Blank: https://api.stripe.com. Set only for a proxy or a test server.",
    },
    Source.HUBSPOT: {
        "api_key": (
            "Private-app access token",
            "Settings → Integrations → Private apps: scopes crm.objects.companies, contacts and deals (read and "
            "write) and crm.schemas.deals.read.",
        ),
        "webhook_secret": (
            "App client secret",
            "The client secret of the app whose webhooks post to the address shown here (signs v3 requests).",
        ),
        "api_base_url": "Blank: https://api.hubapi.com. Set only for a proxy or a test server.",
    },
}


class ConnectionForm(SecretFieldsMixin, forms.Form):
    api_key = forms.CharField(required=False, widget=SECRET_WIDGET)
    clear_api_key = forms.BooleanField(required=False, label="Remove the stored key")
    webhook_secret = forms.CharField(required=False, widget=SECRET_WIDGET)
    clear_webhook_secret = forms.BooleanField(required=False, label="Remove the stored secret")
    api_base_url = forms.CharField(label="API address", required=False, max_length=300)
    enabled = forms.BooleanField(
        required=False, initial=True, label="Turned on: sync on schedule, apply webhooks, and act from this platform"
    )

    def __init__(self, *args, source: str, **kwargs):
        super().__init__(*args, **kwargs)
        texts = SECRET_HELP[source]
        for name in ("api_key", "webhook_secret"):
            label, help_text = texts[name]
            self.fields[name].label = label
            self.fields[name].help_text = f"{help_text} Empty keeps the stored one."
        self.fields["api_base_url"].help_text = texts["api_base_url"]
