"""The API base: the tenant scope and the role check, in one class (authentication: core.authentication).

Subclasses declare `permission_by_method` and a queryset; they cannot reach another tenant's rows
because the queryset is evaluated inside the scope that `initial()` enters.
"""

from contextlib import ExitStack

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, mixins, permissions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.viewsets import GenericViewSet

from core.api_pagination import KeysetPagination
from core.errors import ApplicationError
from core.models import ApiKey, Membership
from core.permissions import Permission
from core.tenancy import ACTIVE_ORGANIZATION_SESSION_KEY, Tenant, memberships_of, tenant_scope


def tenant_for_api_request(request) -> Tenant:
    """The organization and role of an API call: from the key, or for a browser session the active organization."""
    if isinstance(request.auth, ApiKey):
        return Tenant(organization=request.auth.organization, role=request.auth.role, api_key=request.auth)
    user = request.user
    memberships = memberships_of(user)
    wanted = request.headers.get("X-Organization") or request.session.get(ACTIVE_ORGANIZATION_SESSION_KEY)
    chosen: Membership | None = None
    if wanted:
        chosen = next((m for m in memberships if m.organization.slug == wanted), None)
    elif len(memberships) == 1:
        chosen = memberships[0]
    if chosen is None:
        raise exceptions.PermissionDenied(
            "Choose an organization: open it in the browser or send the X-Organization header."
        )
    return Tenant(organization=chosen.organization, role=chosen.role, user=user)


def permissions_by_method(*, write: Permission, delete: Permission) -> dict[str, Permission]:
    """Reads need VIEW; POST and PATCH need `write`; DELETE needs `delete`."""
    read = dict.fromkeys(("GET", "HEAD", "OPTIONS"), Permission.VIEW)
    return {**read, "POST": write, "PATCH": write, "DELETE": delete}


class HasTenantPermission(permissions.BasePermission):
    message = "Your role may not do this."

    def has_permission(self, request, view) -> bool:
        required = view.permission_by_method.get(request.method, Permission.ORGANIZATION_MANAGE)
        return view.tenant.can(required)


class TenantViewSetMixin:
    """Resolves the tenant after authentication and keeps its scope open until the response is built."""

    permission_classes = [permissions.IsAuthenticated, HasTenantPermission]
    permission_by_method: dict[str, Permission] = {"GET": Permission.VIEW, "HEAD": Permission.VIEW}
    tenant: Tenant

    def dispatch(self, request, *args, **kwargs):
        self._tenant_scope = ExitStack()
        with self._tenant_scope:
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        self.perform_authentication(request)
        if request.user and request.user.is_authenticated:
            self.tenant = tenant_for_api_request(request)
            self._tenant_scope.enter_context(tenant_scope(self.tenant.organization))
        super().initial(request, *args, **kwargs)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["tenant"] = getattr(self, "tenant", None)
        return context


class TenantViewSet(TenantViewSetMixin, GenericViewSet):
    pass


class TenantModelViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    mixins.DestroyModelMixin, TenantViewSet,
):  # fmt: skip
    """List, create, retrieve, partial update and delete, each write going through the app's services."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    pagination_class = KeysetPagination
    create_service = update_service = delete_service = None
    instance_keyword = ""

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = type(self).create_service(tenant=self.tenant, **serializer.validated_data)
        return Response(self.get_serializer(self.presented(instance)).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        instance = type(self).update_service(
            tenant=self.tenant, **{self.instance_keyword: instance}, **serializer.validated_data
        )
        return Response(self.get_serializer(self.presented(instance)).data)

    def presented(self, instance):
        """The row as the list shows it (a subclass whose queryset annotates values re-reads it)."""
        return instance

    def destroy(self, request, *args, **kwargs):
        type(self).delete_service(tenant=self.tenant, **{self.instance_keyword: self.get_object()})
        return Response(status=status.HTTP_204_NO_CONTENT)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    if isinstance(exc, ApplicationError):
        body = {"detail": exc.message, **exc.field_errors}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
