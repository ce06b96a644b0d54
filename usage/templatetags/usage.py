"""The account page's "Product usage" card, rendered by a tag so the accounts app need not import usage."""

from django import template

from usage.selectors import account_usage_summary

register = template.Library()


@register.inclusion_tag("usage/_account_usage.html")
def usage_card(account):
    return {"account": account, "usage": account_usage_summary(account_id=account.pk)}
