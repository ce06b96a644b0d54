"""REST API for accounts and contacts: translate, call a service, present the result."""

from django.contrib.auth import get_user_model
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers

from accounts import services
from accounts.filters import AccountFilterSet, ContactApiFilterSet
from accounts.models import Account, Contact
from accounts.selectors import ACCOUNT_SORTS, CONTACT_SORTS, organization_member_users
from core.api import TenantModelViewSet, permissions_by_method
from core.permissions import Permission
from lifecycle.services import qualification_save, unresponsive_suggested

User = get_user_model()


@extend_schema_field(OpenApiTypes.INT)
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


class QualificationSerializer(serializers.Serializer):
    """Seed 002's four qualifying questions (MQL to SQL) and three W's (SQL to Opportunity)."""

    adoption = serializers.CharField(required=False, allow_blank=True, help_text="Adopted Node-RED? Built what?")
    scale = serializers.CharField(required=False, allow_blank=True, help_text="Instances, and developers on them.")
    production_use = serializers.CharField(required=False, allow_blank=True, help_text="Used in production?")
    next_year_plans = serializers.CharField(required=False, allow_blank=True, help_text="Plans for next year.")
    why_change = serializers.CharField(required=False, allow_blank=True)
    why_now = serializers.CharField(required=False, allow_blank=True)
    why_us = serializers.CharField(required=False, allow_blank=True)


class ContactSerializer(serializers.ModelSerializer):
    account = TenantAccountField(required=False, allow_null=True)
    owner = MemberField(required=False, allow_null=True)
    ffc_actions = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    qualification = QualificationSerializer(
        required=False,
        help_text="Answers stored with the contact; sent with a stage change, they are saved first.",
    )
    stage_change_reason = serializers.CharField(
        required=False, allow_blank=True, write_only=True, help_text="Why the stage changes; required for corrections."
    )
    unresponsive_suggested = serializers.SerializerMethodField(
        help_text="True two weeks after the last outreach with no reply since (seed 002, lead status Unresponsive)."
    )

    class Meta:
        model = Contact
        fields = [
            "id", "first_name", "last_name", "email", "title", "account", "owner", "lifecycle_stage", "lead_status",
            "ffc_tier", "ffc_actions", "ffc_usage", "activation_outbound", "hubspot_contact_id", "last_outreach_at",
            "last_reply_at", "unresponsive_suggested", "qualification", "stage_change_reason", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]
        # Uniqueness is checked by the service, inside the tenant: DRF's own check would not be scoped right.
        validators: list = []

    def get_unresponsive_suggested(self, contact: Contact) -> bool:
        return unresponsive_suggested(contact=contact)

    def to_representation(self, contact):
        data = super().to_representation(contact)
        qualification = getattr(contact, "qualification", None) if contact.pk else None
        data["qualification"] = QualificationSerializer(qualification).data if qualification else None
        return data


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


@transaction.atomic
def contact_create_with_qualification(*, tenant, qualification=None, stage_change_reason="", **values):
    contact = services.contact_create(tenant=tenant, **values)
    if qualification:
        qualification_save(tenant=tenant, contact=contact, **qualification)
    return contact


@transaction.atomic
def contact_update_with_qualification(*, tenant, contact, qualification=None, **values):
    """Answers first, then the fields and the stage: one PATCH can qualify a contact and move it on."""
    if qualification:
        qualification_save(tenant=tenant, contact=contact, **qualification)
    return services.contact_update(tenant=tenant, contact=contact, **values)


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
    filterset_class = ContactApiFilterSet
    sorts = CONTACT_SORTS
    default_sort = "last_name"
    permission_by_method = permissions_by_method(write=Permission.CONTACT_WRITE, delete=Permission.CONTACT_DELETE)
    create_service = staticmethod(contact_create_with_qualification)
    update_service = staticmethod(contact_update_with_qualification)
    delete_service = staticmethod(services.contact_delete)
    instance_keyword = "contact"

    def get_queryset(self):
        return Contact.objects.select_related("account", "qualification")
