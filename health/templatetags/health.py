"""The account page's health card, rendered by a tag so the accounts app need not import health."""

from django import template
from django.utils import timezone

from core.permissions import Permission
from health.forms import OverrideForm, SentimentForm
from health.models import Band
from health.selectors import account_health_card

register = template.Library()


def card_context(request, account, *, override_form=None, sentiment_form=None) -> dict:
    card = account_health_card(account_id=account.pk)
    tenant = getattr(request, "tenant", None)
    if override_form is None:
        initial = {"expires_on": timezone.localdate() + timezone.timedelta(days=30)}
        if card.effective_score is not None:
            initial["score"] = card.effective_score
        override_form = OverrideForm(initial=initial)
    return {
        "request": request,
        "account": account,
        "card": card,
        "organization": tenant.organization if tenant else None,
        "can_write": bool(tenant and tenant.can(Permission.ACCOUNT_WRITE)),
        "override_form": override_form,
        "sentiment_form": sentiment_form or SentimentForm(),
        "override_open": override_form.is_bound,
    }


@register.inclusion_tag("health/_account_health.html", takes_context=True)
def health_card(context, account):
    result = card_context(context["request"], account)
    result["csrf_token"] = context.get("csrf_token")
    return result


@register.filter
def signed(value) -> str:
    if value is None:
        return "—"
    number = round(float(value), 1)
    text = f"{number:g}"
    return f"+{text}" if number > 0 else text


@register.filter
def band_class(band: str) -> str:
    return {"healthy": "badge-active", "watch": "badge-warning", "at_risk": "badge-churned"}.get(band or "", "")


@register.filter
def band_label(band: str) -> str:
    return Band(band).label if band in Band.values else "No score"
