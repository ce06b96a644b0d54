import zoneinfo

from django import forms

from core.models import Role


class SecretFieldsMixin:
    """For forms with write-only secret fields `<name>` and a `clear_<name>` checkbox beside each.

    A secret is never sent back to the browser, so an empty box means "keep what is stored".
    """

    def secret(self, name: str) -> str | None:
        """None keeps the stored secret, "" clears it, a value replaces it (the services' convention)."""
        if self.cleaned_data[f"clear_{name}"]:
            return ""
        return self.cleaned_data[name] or None


class OrganizationSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    default_currency = forms.CharField(max_length=3, help_text="Three-letter ISO code used for new accounts.")
    timezone = forms.ChoiceField(
        choices=[(name, name) for name in sorted(zoneinfo.available_timezones())],
        help_text="Business hours, SLAs and schedules are computed in this zone.",
    )


class MemberInviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.CSM)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Where the key is used, for example 'Product usage sync'.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER, help_text="What the key may do.")


def form_add_service_errors(form: forms.Form, exc) -> None:
    """A service's ValidationError onto the form: beside the field it names, or above the form for the rest."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)
