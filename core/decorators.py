from functools import wraps

from django.core.exceptions import PermissionDenied

from core.permissions import Permission


def tenant_permission_required(permission: Permission):
    """For views under /o/<org_slug>/: the middleware already checked membership; this checks the role."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.tenant is None or not request.tenant.can(permission):
                raise PermissionDenied("Your role in this organization may not do this.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
