"""REST API for deals: translate, call a service, present the result (with the stage's probability)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from accounts.apis import MemberField, TenantAccountField
from core.api import TenantModelViewSet, permissions_by_method
from core.permissions import Permission
from lifecycle import services
from lifecycle.filters import DealFilterSet
from lifecycle.models import Deal
from lifecycle.selectors import DEAL_SORTS, deals_weighted


class DealSerializer(serializers.ModelSerializer):
    account = TenantAccountField()
    owner = MemberField(required=False, allow_null=True, help_text="User id of the AE; default: the account's AE.")
    name = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Left out: seed 003's scheme, CustomerName_Product_Type_QuarterDue.",
    )
    currency = serializers.CharField(required=False, max_length=3, help_text="Default: the account's currency.")
    probability = serializers.IntegerField(read_only=True, help_text="Percent, from the stage (organization setting).")
    weighted_amount = serializers.DecimalField(
        max_digits=16, decimal_places=2, read_only=True, help_text="amount times probability, over 100"
    )

    class Meta:
        model = Deal
        fields = [
            "id", "name", "account", "owner", "amount", "currency", "type", "expected_close_date", "stage",
            "lost_reason", "committed", "probability", "weighted_amount", "committed_at", "closed_at",
            "hubspot_deal_id", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "committed_at", "closed_at", "created_at", "updated_at"]


@extend_schema_view(
    list=extend_schema(
        summary="List deals",
        description="Keyset-paginated; follow `next` for more. `close_quarter` takes `YYYY-Qn`.",
    ),
    create=extend_schema(
        summary="Open a deal",
        description="A deal created at a later stage lands there; `closed_lost` needs a `lost_reason` from the "
        "organization's list, `closed_won` completes the handoff, `committed: true` starts the CSM's onboarding.",
    ),
    retrieve=extend_schema(summary="Get a deal"),
    partial_update=extend_schema(
        summary="Change a deal: fields, stage, commitment",
        description="Stage changes follow seed 002: new-business deals do not skip stages, a deal is won only from "
        "`contract_sent`, a lost deal needs a reason, closed deals do not move, and a commitment is not taken "
        "back. A refused change answers 400 naming the field.",
    ),
    destroy=extend_schema(summary="Delete a deal", description="Needs the deal.delete permission."),
)
class DealViewSet(TenantModelViewSet):
    queryset = Deal.objects.none()
    serializer_class = DealSerializer
    filterset_class = DealFilterSet
    sorts = DEAL_SORTS
    default_sort = "expected_close_date"
    permission_by_method = permissions_by_method(write=Permission.DEAL_WRITE, delete=Permission.DEAL_DELETE)
    create_service = staticmethod(services.deal_create)
    update_service = staticmethod(services.deal_update)
    delete_service = staticmethod(services.deal_delete)
    instance_keyword = "deal"

    def get_queryset(self):
        return deals_weighted(pipeline_settings=services.pipeline_settings_get(organization=self.tenant.organization))

    def presented(self, instance):
        return self.get_queryset().get(pk=instance.pk)
