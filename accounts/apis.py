"""REST API for accounts and contacts: translate, call a service, present the result."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from accounts import services
from accounts.filters import AccountFilterSet, ContactFilterSet
from accounts.models import Account, Contact
from accounts.selectors import ACCOUNT_SORTS, CONTACT_SORTS, organization_member_users
from core.api import TenantViewSet, permissions_by_method
from core.api_pagination import KeysetPagination
from core.permissions import Permission

User = get_user_model()


class MemberField(serializers.PrimaryKeyRelatedField):
    """A user id that must belong to a member of the caller's organization (others are "does not exist")."""

    def get_queryset(self):
        return organization_member_users(organization=self.context["tenant"].organization)


class TenantAccountField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Account.objects.all()  # scoped: another tenant's account "does not exist"


class AccountSerializer(serializers.ModelSerializer):
    csm_owner = MemberField(required=False, allow_null=True)
    ae_owner = MemberField(required=False, allow_null=True)
    codename = serializers.CharField(required=False, max_length=60, help_text="Left out: a free minor-planet name.")

    class Meta:
        model = Account
        fields = [
            "id", "name", "domain", "cohort", "currency", "arr", "mrr", "csm_owner", "ae_owner", "renewal_date",
            "codename", "qbr_nominated", "qbr_nomination_reason", "status", "stripe_customer_id",
            "hubspot_company_id", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"currency": {"required": False}}


class ContactSerializer(serializers.ModelSerializer):
    account = TenantAccountField(required=False, allow_null=True)
    ffc_actions = serializers.ListField(child=serializers.CharField(max_length=100), required=False)

    class Meta:
        model = Contact
        fields = [
            "id", "first_name", "last_name", "email", "title", "account", "lifecycle_stage", "lead_status",
            "ffc_tier", "ffc_actions", "ffc_usage", "activation_outbound", "hubspot_contact_id", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]
        # Uniqueness is checked by the service, inside the tenant: DRF's own check would not be scoped right.
        validators: list = []


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
        return Response(self.get_serializer(instance).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        instance = type(self).update_service(
            tenant=self.tenant, **{self.instance_keyword: instance}, **serializer.validated_data
        )
        return Response(self.get_serializer(instance).data)

    def destroy(self, request, *args, **kwargs):
        type(self).delete_service(tenant=self.tenant, **{self.instance_keyword: self.get_object()})
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List accounts", description="Keyset-paginated; follow `next` for more."),
    create=extend_schema(summary="Create an account"),
    retrieve=extend_schema(summary="Get an account"),
    partial_update=extend_schema(summary="Change some fields of an account"),
    destroy=extend_schema(
        summary="Delete an account", description="Needs the account.delete permission (docs/permissions.md)."
    ),
)
class AccountViewSet(TenantModelViewSet):
    queryset = Account.objects.none()
    serializer_class = AccountSerializer
    filterset_class = AccountFilterSet
    sorts = ACCOUNT_SORTS
    default_sort = "name"
    permission_by_method = permissions_by_method(write=Permission.ACCOUNT_WRITE, delete=Permission.ACCOUNT_DELETE)
    create_service = staticmethod(services.account_create)
    update_service = staticmethod(services.account_update)
    delete_service = staticmethod(services.account_delete)
    instance_keyword = "account"

    def get_queryset(self):
        return Account.objects.select_related("csm_owner", "ae_owner")


@extend_schema_view(
    list=extend_schema(summary="List contacts", description="Keyset-paginated; follow `next` for more."),
    create=extend_schema(summary="Create a contact"),
    retrieve=extend_schema(summary="Get a contact"),
    partial_update=extend_schema(summary="Change some fields of a contact"),
    destroy=extend_schema(summary="Delete a contact"),
)
class ContactViewSet(TenantModelViewSet):
    queryset = Contact.objects.none()
    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    sorts = CONTACT_SORTS
    default_sort = "last_name"
    permission_by_method = permissions_by_method(write=Permission.CONTACT_WRITE, delete=Permission.CONTACT_DELETE)
    create_service = staticmethod(services.contact_create)
    update_service = staticmethod(services.contact_update)
    delete_service = staticmethod(services.contact_delete)
    instance_keyword = "contact"

    def get_queryset(self):
        return Contact.objects.select_related("account")
