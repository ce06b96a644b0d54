"""REST API for migration campaigns: `/api/v1/migration-campaigns/`, with the counts and the actions."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.apis import MemberField
from core.api import TenantModelViewSet, permissions_by_method
from core.pagination import SortKey
from core.permissions import Permission
from migrations_notify import services
from migrations_notify.models import MigrationCampaign
from migrations_notify.selectors import campaign_list


class CampaignSerializer(serializers.ModelSerializer):
    owner = MemberField(required=False, allow_null=True)
    platform_token = serializers.CharField(
        write_only=True, required=False, allow_blank=True, help_text="Stored sealed; never returned."
    )
    ready_by = serializers.DateField(read_only=True)
    notify_on = serializers.DateField(read_only=True)
    review_on = serializers.DateField(read_only=True)
    to_migrate_count = serializers.IntegerField(read_only=True)
    moved_count = serializers.IntegerField(read_only=True)
    restarted_count = serializers.IntegerField(read_only=True)
    failed_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = MigrationCampaign
        fields = [
            "id", "name", "target_server", "deadline", "status", "instance_source", "platform_base_url",
            "platform_token", "owner", "notice_subject", "notice_body", "failure_body", "important_arr",
            "important_instance_count", "restart_timeout_seconds", "restart_poll_seconds", "ready_by", "notify_on",
            "review_on", "ready_confirmed_at", "ready_confirmed_by_label", "to_migrate_count", "moved_count",
            "restarted_count", "failed_count", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id",
            "status",
            "ready_confirmed_at",
            "ready_confirmed_by_label",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {field: {"required": False} for field in (
            "instance_source", "platform_base_url", "notice_subject", "notice_body", "failure_body", "important_arr",
            "important_instance_count", "restart_timeout_seconds", "restart_poll_seconds",
        )}  # fmt: skip


class CsvImportSerializer(serializers.Serializer):
    csv = serializers.CharField(help_text="The CSV text: team_id, team_name, team_email, instance_id, instance_name.")


def _create(*, tenant, **values):
    return services.campaign_create(tenant=tenant, platform_token=values.pop("platform_token", "") or "", **values)


def _update(*, tenant, campaign, **values):
    token = values.pop("platform_token", None)
    return services.campaign_update(tenant=tenant, campaign=campaign, platform_token=token or None, **values)


@extend_schema_view(
    list=extend_schema(summary="List migration campaigns, with their counts"),
    create=extend_schema(summary="Create a migration campaign"),
    retrieve=extend_schema(summary="Get a migration campaign"),
    partial_update=extend_schema(summary="Change a campaign", description="The deadline is fixed once teams are told."),
    destroy=extend_schema(summary="Delete a campaign that emailed nobody yet"),
)
class MigrationCampaignViewSet(TenantModelViewSet):
    queryset = MigrationCampaign.objects.none()
    serializer_class = CampaignSerializer
    sorts = {key.param: key for key in (SortKey("deadline"), SortKey("deadline", True))}
    default_sort = "deadline"
    permission_by_method = permissions_by_method(write=Permission.MIGRATION_WRITE, delete=Permission.MIGRATION_WRITE)
    create_service = staticmethod(_create)
    update_service = staticmethod(_update)
    delete_service = staticmethod(services.campaign_delete)
    instance_keyword = "campaign"

    def get_queryset(self):
        return campaign_list()

    def presented(self, instance):
        return self.get_queryset().get(pk=instance.pk)

    def _answer(self, campaign):
        return Response(self.get_serializer(self.presented(campaign)).data)

    @extend_schema(summary="Confirm the new server is ready (T-90)", request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"], url_path="confirm-ready")
    def confirm_ready(self, request, pk=None):
        return self._answer(services.campaign_confirm_ready(tenant=self.tenant, campaign=self.get_object()))

    @extend_schema(summary="Pause the campaign: no step runs", request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._answer(services.campaign_pause(tenant=self.tenant, campaign=self.get_object()))

    @extend_schema(summary="Resume a paused campaign", request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._answer(services.campaign_resume(tenant=self.tenant, campaign=self.get_object()))

    @extend_schema(summary="Run today's due steps now (what beat runs daily)", request=None,
                   responses=CampaignSerializer)  # fmt: skip
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        campaign = self.get_object()
        services.campaign_run_now(tenant=self.tenant, campaign=campaign)
        return self._answer(campaign)

    @extend_schema(
        summary="Import the instance list from CSV", request=CsvImportSerializer, responses=CampaignSerializer
    )
    @action(detail=True, methods=["post"], url_path="import-csv")
    def import_csv(self, request, pk=None):
        campaign = self.get_object()
        body = CsvImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.instances_import_csv(tenant=self.tenant, campaign=campaign, csv_text=body.validated_data["csv"])
        return self._answer(campaign)
