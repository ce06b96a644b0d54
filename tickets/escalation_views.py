"""Escalating a ticket as a bug in the browser, sharing the issue with the customer, and the GitHub settings page."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.decorators import tenant_permission_required
from core.forms import SecretFieldsMixin, form_add_service_errors
from core.permissions import Permission
from core.secrets import sealed_hint
from tickets import escalation as escalation_services
from tickets.models import Escalation, Message, Ticket
from tickets.services import support_settings_get

AREA = {"rows": 4}


class EscalateForm(forms.Form):
    """Seed 003's required details of a customer bug report."""

    title = forms.CharField(max_length=escalation_services.ISSUE_TITLE_MAX, help_text="What is broken, in one line.")
    version = forms.CharField(max_length=100, help_text="The product version the customer runs.")
    environment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), help_text="Operating system, web browser, hosting."
    )
    expected = forms.CharField(label="Expected behaviour", widget=forms.Textarea(attrs=AREA))
    actual = forms.CharField(label="Actual behaviour", widget=forms.Textarea(attrs=AREA))
    steps = forms.CharField(
        label="Steps to reproduce",
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Mandatory. If we could not reproduce it, the steps the customer took.",
    )
    labels = forms.CharField(required=False, label="More labels", help_text="Comma-separated, added to the above.")


class GitHubSettingsForm(SecretFieldsMixin, forms.Form):
    repository = forms.CharField(max_length=140, required=False, help_text="owner/name, for example acme/platform.")
    api_url = forms.CharField(label="API address", max_length=200, help_text="https://api.github.com, or your GHES.")
    # Secrets are never sent back to the browser: an empty box keeps what is stored.
    token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="A fine-grained token with Issues: read and write on the repository. Empty keeps the stored one.",
    )
    clear_token = forms.BooleanField(required=False, label="Remove the stored token")
    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="The secret of the repository's webhook. Empty keeps the stored one.",
    )
    clear_webhook_secret = forms.BooleanField(required=False, label="Remove the stored webhook secret")


def _ticket(number: int) -> Ticket:
    return get_object_or_404(Ticket.objects.select_related("account", "requester"), number=number)


def _prefill(ticket: Ticket) -> dict[str, str]:
    """The subject and the customer's first message, with what would name the customer already replaced."""
    first = ticket.messages.filter(kind=Message.Kind.CUSTOMER).order_by("created_at", "id").first()
    return {
        "title": escalation_services.customer_redact(ticket=ticket, text=ticket.subject),
        "actual": escalation_services.customer_redact(ticket=ticket, text=first.body_text if first else ""),
    }


@tenant_permission_required(Permission.TICKET_WORK)
def escalate(request, org_slug: str, number: int) -> HttpResponse:
    ticket = _ticket(number)
    form = EscalateForm(request.POST or None, initial=_prefill(ticket))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = dict(form.cleaned_data)
            labels = [label for label in values.pop("labels").split(",") if label.strip()]
            try:
                escalation = escalation_services.ticket_escalate(
                    tenant=request.tenant, ticket=ticket, labels=labels, **values
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, f"Escalated as {escalation}. Share the link with the customer when ready.")
                return redirect("ticket_detail", org_slug=org_slug, number=number)
        # Everything typed is rendered back with the errors beside it.
        status = 400
    escalations = list(ticket.escalations.order_by("-created_at"))
    support_settings = support_settings_get(organization=request.tenant.organization)
    return render(
        request,
        "tickets/escalate.html",
        {
            "ticket": ticket,
            "form": form,
            "escalations": escalations,
            "open_escalation": next((item for item in escalations if item.state == Escalation.State.OPEN), None),
            "repository": support_settings.github_repository,
            "labels": [
                *escalation_services.ISSUE_LABELS,
                *filter(None, [escalation_services.codename_label(ticket=ticket)]),
            ],
            "codename": ticket.account.codename if ticket.account_id else "",
        },
        status=status,
    )


@require_POST
@tenant_permission_required(Permission.TICKET_WORK)
def escalation_share_view(request, org_slug: str, number: int, pk: int) -> HttpResponse:
    ticket = _ticket(number)
    escalation = get_object_or_404(Escalation, pk=pk, ticket=ticket)
    try:
        escalation_services.escalation_share(tenant=request.tenant, escalation=escalation)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The link to {escalation} is on its way to the customer.")
    return redirect("ticket_detail", org_slug=org_slug, number=number)


@tenant_permission_required(Permission.ORGANIZATION_MANAGE)
def github_settings(request, org_slug: str) -> HttpResponse:
    organization = request.tenant.organization
    support_settings = support_settings_get(organization=organization)
    if request.method == "POST" and request.POST.get("action") == "test":
        connected, sentence = escalation_services.github_connection_test(organization=organization)
        (messages.success if connected else messages.error)(request, sentence)
        return redirect("github_settings", org_slug=org_slug)
    form = GitHubSettingsForm(
        request.POST or None,
        initial={"repository": support_settings.github_repository, "api_url": support_settings.github_api_url},
    )
    if request.method == "POST" and form.is_valid():
        try:
            escalation_services.github_settings_update(
                tenant=request.tenant,
                repository=form.cleaned_data["repository"],
                api_url=form.cleaned_data["api_url"],
                token=form.secret("token"),
                webhook_secret=form.secret("webhook_secret"),
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "GitHub settings saved.")
            return redirect("github_settings", org_slug=org_slug)
    return render(
        request,
        "tickets/settings_github.html",
        {
            "form": form,
            "section": "github",
            "token_hint": sealed_hint(support_settings.github_token_sealed),
            "webhook_secret_hint": sealed_hint(support_settings.github_webhook_secret_sealed),
            "webhook_url": settings.SITE_URL + reverse("github_webhook", kwargs={"organization": organization.slug}),
        },
        status=400 if form.errors else 200,
    )
