"""Read-only REST API of current health: each account's computed and effective score, band, trend and override."""

from django.utils import timezone
from rest_framework import mixins, serializers

from core.api import TenantViewSet
from core.api_pagination import KeysetPagination
from core.pagination import SortKey
from health import selectors
from health.models import AccountHealth, Band
from health.scoring import band_of


class AccountHealthSerializer(serializers.ModelSerializer):
    account = serializers.IntegerField(source="account_id")
    account_name = serializers.CharField(source="account.name")
    effective_score = serializers.SerializerMethodField(help_text="The override while it lasts, else computed.")
    effective_band = serializers.SerializerMethodField(help_text="The band of the effective score.")
    band = serializers.ChoiceField(choices=Band.choices, read_only=True, help_text="The band of the computed score.")
    overridden = serializers.SerializerMethodField()

    class Meta:
        model = AccountHealth
        fields = [
            "account", "account_name", "effective_score", "effective_band", "computed_score", "band", "trend_delta",
            "computed_at",
            "overridden", "override_score", "override_reason", "override_expires_at",
        ]  # fmt: skip

    def get_overridden(self, health) -> bool:
        return health.override_active(self.context["now"])

    def get_effective_score(self, health) -> int:
        return health.effective_score(self.context["now"])

    def get_effective_band(self, health) -> str:
        return band_of(health.effective_score(self.context["now"]))


class HealthScoreViewSet(mixins.ListModelMixin, TenantViewSet):
    """GET /api/v1/health-scores/?account=&band=: one row per scored account, any role's key (`band` filters by the
    computed band)."""

    queryset = AccountHealth.objects.none()
    serializer_class = AccountHealthSerializer
    pagination_class = KeysetPagination
    sorts = {key.param: key for key in (SortKey("computed_score"), SortKey("computed_score", True), SortKey("id"))}
    default_sort = "id"

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}  # one moment for the whole page

    def get_queryset(self):
        rows = selectors.account_health_list()
        account = self.request.query_params.get("account", "")
        if account.isdigit():
            rows = rows.filter(account_id=int(account))
        band = self.request.query_params.get("band", "")
        if band in Band.values:
            rows = rows.filter(band=band)
        return rows
