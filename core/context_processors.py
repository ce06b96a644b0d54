from core.permissions import Permission


def tenant(request):
    """The current organization and what the member's role allows (for showing or hiding actions)."""
    current = getattr(request, "tenant", None)
    if not request.user.is_authenticated:
        return {"tenant": None}
    return {
        "tenant": current,
        "organization": current.organization if current else None,
        "can": {permission.name.lower(): current.can(permission) for permission in Permission} if current else {},
    }
