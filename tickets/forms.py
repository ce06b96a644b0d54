from django import forms

from accounts.forms import MemberChoiceField
from accounts.selectors import organization_member_users
from tickets.models import Priority, Status, Topic


class TicketCreateForm(forms.Form):
    requester_email = forms.EmailField(label="Requester email")
    requester_name = forms.CharField(label="Requester name", required=False)
    subject = forms.CharField(max_length=250, widget=forms.TextInput(attrs={"autofocus": True}))
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 6}))
    topic = forms.ChoiceField(choices=Topic.choices, initial=Topic.APPLICATION)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.P2)


class ComposerForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("reply", "Reply to the customer"), ("comment", "Internal comment")],
        widget=forms.RadioSelect,
        initial="reply",
    )
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    status = forms.ChoiceField(
        choices=[(value, label) for value, label in Status.choices if value != Status.NEW],
        initial=Status.PENDING_CUSTOMER,
        required=False,
        label="Then set status",
    )


class AssignForm(forms.Form):
    owner = MemberChoiceField(queryset=None, required=False, label="Owner")
    note = forms.CharField(
        required=False, label="Note", widget=forms.TextInput(attrs={"placeholder": "Why (optional)"})
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = organization_member_users(organization=organization)
        self.fields["owner"].empty_label = "Nobody (back to unassigned)"


class TicketPropertiesForm(forms.Form):
    topic = forms.ChoiceField(choices=Topic.choices)
    priority = forms.ChoiceField(choices=Priority.choices)
    tags = forms.CharField(required=False, help_text="Comma-separated.")
