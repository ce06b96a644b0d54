from django import template

register = template.Library()


@register.filter
def get(mapping, key):
    """A dict's value by a key the template computes (the editor's errors by field)."""
    return mapping.get(key) if hasattr(mapping, "get") else None
