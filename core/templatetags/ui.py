"""Presentation helpers shared by every template."""

from decimal import Decimal

from django import template
from django.utils.html import format_html

from accounts.models import AccountStatus, Cohort

register = template.Library()

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "CAD": "CA$", "AUD": "A$"}


@register.filter
def money(value, currency: str = "USD") -> str:
    """12345.6 -> "$12,346": whole units read faster in lists; exact cents live on the edit form."""
    if value in (None, ""):
        return "—"
    amount = Decimal(value).quantize(Decimal("1"))
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,}"


def _badges(choices) -> dict[str, str]:
    # Built once: labels and values are the models' own choices, so the markup never changes per row.
    return {value: format_html('<span class="badge badge-{}">{}</span>', value, label) for value, label in choices}


_COHORT_BADGES = _badges(Cohort.choices)
_STATUS_BADGES = _badges(AccountStatus.choices)


@register.filter
def cohort_badge(account_or_value) -> str:
    value = getattr(account_or_value, "cohort", account_or_value)
    return _COHORT_BADGES.get(value) or format_html('<span class="badge">{}</span>', value)


@register.filter
def status_badge(account) -> str:
    return _STATUS_BADGES.get(account.status) or format_html('<span class="badge">{}</span>', account.status)


@register.filter
def field_label(field_name: str) -> str:
    labels = {"arr": "ARR", "mrr": "MRR", "csm_owner": "CSM", "ae_owner": "AE", "qbr_nominated": "QBR nomination"}
    return labels.get(field_name, field_name.replace("_", " ").capitalize())


@register.filter
def person(user) -> str:
    if user is None:
        return "Unassigned"
    return user.get_full_name() or user.email


@register.filter
def initials(user) -> str:
    name = person(user)
    return "".join(part[0] for part in name.split()[:2]).upper() or "?"


@register.inclusion_tag("components/field.html")
def form_field(field, span: int = 1):
    return {"field": field, "span": span}


@register.filter
def days_from(day, today) -> str:
    """A date as "today", "tomorrow", "in 12 days": renewals are planned in days, not hours."""
    if not day:
        return "—"
    delta = (day - today).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    if delta > 1:
        return f"in {delta} days"
    return f"{-delta} days ago"


@register.filter
def short_date(day) -> str:
    """ "5 Mar 2027": the list format, without the per-call locale lookups of the date filter."""
    if not day:
        return "—"
    return f"{day.day} {day:%b %Y}"


ACTION_PHRASES = {
    "deal.created": "opened deal",
    "deal.updated": "changed deal",
    "deal.stage_changed": "moved deal",
    "deal.committed": "committed deal",
    "deal.deleted": "deleted deal",
    "account.handoff_completed": "completed the handoff to the CSM of",
    "contact.stage_changed": "moved the lifecycle stage of",
    "contact.stage_corrected": "corrected the lifecycle stage of",
    "contact.qualified": "recorded qualification answers for",
    "task.created": "added task",
    "task.completed": "completed task",
    "task.reopened": "reopened task",
    "onboarding.completed": "completed",
    "onboarding.cancelled": "cancelled",
}


@register.filter
def action_phrase(entry) -> str:
    """ "moved deal Bluefin_Premium_New_Q12027": the timeline sentence for an entry without a special case."""
    phrase = ACTION_PHRASES.get(entry.action, entry.action.replace(".", " ").replace("_", " "))
    return f"{phrase} {entry.object_repr}"
