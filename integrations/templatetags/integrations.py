"""The "last synced" line a synced record's page shows: one query, in the template, so the apps whose records the
sources write into (accounts, lifecycle) need not import the integrations app."""

from django import template

from integrations.models import Source
from integrations.services import last_synced_at

register = template.Library()


@register.inclusion_tag("integrations/_last_synced.html")
def last_synced(object_type: str, local_id: int):
    synced = last_synced_at(object_type=object_type, local_id=local_id)
    return {"synced": [(Source(source).label, at) for source, at in sorted(synced.items())]}
