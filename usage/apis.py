"""REST API for product usage: the product's database reports metrics and feature events; reads list the days.

The rules (matching, limits, idempotency, each row's refusal) live in usage.services; this only translates.
"""

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers
from rest_framework.response import Response

from core.api import TenantViewSet
from core.api_pagination import KeysetPagination
from core.pagination import SortKey
from core.permissions import Permission
from usage import selectors, services
from usage.models import DailyUsage

ACCOUNT_HELP = (
    "Name the account with one or more of `account` (our id), `account_domain` or `account_external_id` (the "
    "product's own id, e.g. its team id). An external id sent for the first time beside `account` or "
    "`account_domain` is linked to that account, so later reports may send it alone."
)


class MetricRowSerializer(serializers.Serializer):
    account = serializers.IntegerField(required=False, help_text="Our account id.")
    account_domain = serializers.CharField(required=False, help_text="The account's domain (case-insensitive).")
    account_external_id = serializers.CharField(required=False, max_length=100, help_text="The product's own id.")
    date = serializers.DateField(help_text="The day counted (YYYY-MM-DD). A later report for the day replaces it.")
    users = serializers.IntegerField(min_value=0)
    instances = serializers.IntegerField(min_value=0)
    devices = serializers.IntegerField(min_value=0)
    applications = serializers.IntegerField(min_value=0)


class EventRowSerializer(serializers.Serializer):
    account = serializers.IntegerField(required=False, help_text="Our account id.")
    account_domain = serializers.CharField(required=False)
    account_external_id = serializers.CharField(required=False, max_length=100)
    event_id = serializers.CharField(max_length=100, help_text="The client's unique id: re-sent, it changes nothing.")
    feature = serializers.RegexField(
        r"^[a-z][a-z0-9_]{0,63}$", help_text="e.g. snapshot_created, device_agent_installed, pipeline_used."
    )
    occurred_at = serializers.DateTimeField(help_text="When the feature was used (ISO 8601; no offset means UTC).")


class UsageIngestSerializer(serializers.Serializer):
    metrics = serializers.ListField(child=serializers.DictField(), required=False, default=list)
    events = serializers.ListField(child=serializers.DictField(), required=False, default=list)

    def to_internal_value(self, data):
        # Rows are checked one by one by the service (a bad row must not refuse the batch), so only the envelope
        # is checked here.
        if not isinstance(data, dict):
            raise exceptions.ValidationError(
                {"non_field_errors": ['Send an object: {"metrics": [...], "events": [...]}.']}
            )
        unknown = sorted(set(data) - {"metrics", "events"})
        if unknown:
            raise exceptions.ValidationError({key: ["Unknown field; send `metrics` and `events`."] for key in unknown})
        values = {}
        for key in ("metrics", "events"):
            rows = data.get(key, [])
            if not isinstance(rows, list):
                raise exceptions.ValidationError({key: ["A list of rows."]})
            values[key] = rows
        return values


class UsageIngestDocSerializer(serializers.Serializer):
    """The request body as documented: each row's fields (checked row by row, not as a whole)."""

    metrics = MetricRowSerializer(many=True, required=False, help_text="Daily metrics per account. " + ACCOUNT_HELP)
    events = EventRowSerializer(many=True, required=False, help_text="Feature events. " + ACCOUNT_HELP)


class AcceptedSerializer(serializers.Serializer):
    metrics = serializers.IntegerField()
    events = serializers.IntegerField()


class DuplicateSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in `events`.")
    event_id = serializers.CharField()


class RejectionSerializer(serializers.Serializer):
    section = serializers.ChoiceField(choices=["metrics", "events"])
    index = serializers.IntegerField(help_text="Position of the row in its list, from 0.")
    reason = serializers.ChoiceField(choices=list(services.Reason.ALL))
    message = serializers.CharField()


class UsageIngestResultSerializer(serializers.Serializer):
    accepted = AcceptedSerializer()
    duplicates = DuplicateSerializer(many=True, help_text="Events already stored: nothing changed.")
    rejected = RejectionSerializer(many=True)
    external_ids_linked = serializers.IntegerField()


class DailyUsageSerializer(serializers.ModelSerializer):
    date = serializers.DateField(source="day")

    class Meta:
        model = DailyUsage
        fields = ["id", "account", "date", "users", "instances", "devices", "applications", "reported_at"]
        read_only_fields = fields


class DailyUsageFilterSet(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id", help_text="Account id.")
    since = django_filters.DateFilter(field_name="day", lookup_expr="gte", help_text="From this day (YYYY-MM-DD).")
    until = django_filters.DateFilter(field_name="day", lookup_expr="lte", help_text="To this day, included.")

    class Meta:
        model = DailyUsage
        fields = []


@extend_schema_view(
    list=extend_schema(
        summary="List daily usage", description="One row per account and day, newest first; filter by `account`."
    ),
    create=extend_schema(
        summary="Report product usage",
        description=(
            "For the product's own database: daily metrics (users, instances, devices, applications) and feature "
            "events, at most 1,000 rows in all per request (more is a 400). Each row is checked on its own: the "
            "answer (200) counts the rows accepted and lists each rejected one with its index and reason "
            f"({', '.join(services.Reason.ALL)}). A metric row is an upsert: a later report for the same account "
            "and day replaces that day's values. An event is kept once per `event_id`: sent again, it is listed "
            "under `duplicates` and changes nothing. Each feature's adoption (first use, last use, count) follows "
            "its events. Needs a role with `usage.write` (admin, csm)."
        ),
        request=UsageIngestDocSerializer,
        responses={200: UsageIngestResultSerializer},
        examples=[
            OpenApiExample(
                "A day and an event",
                request_only=True,
                value={
                    "metrics": [
                        {
                            "account_domain": "bluefin.example",
                            "account_external_id": "team-42",
                            "date": "2026-11-30",
                            "users": 12,
                            "instances": 4,
                            "devices": 30,
                            "applications": 9,
                        }
                    ],
                    "events": [
                        {
                            "account_external_id": "team-42",
                            "event_id": "evt-1001",
                            "feature": "snapshot_created",
                            "occurred_at": "2026-11-30T14:05:00Z",
                        }
                    ],
                },
            )
        ],
    ),
)
class UsageViewSet(mixins.ListModelMixin, TenantViewSet):
    queryset = DailyUsage.objects.none()
    serializer_class = DailyUsageSerializer
    filterset_class = DailyUsageFilterSet
    pagination_class = KeysetPagination
    sorts = {key.param: key for key in (SortKey("day", True), SortKey("day"))}
    default_sort = "-day"
    permission_by_method = {
        **dict.fromkeys(("GET", "HEAD", "OPTIONS"), Permission.VIEW),
        "POST": Permission.USAGE_WRITE,
    }

    def get_queryset(self):
        return selectors.daily_usage_list()

    def create(self, request, *args, **kwargs):
        envelope = UsageIngestSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        result = services.usage_ingest(tenant=self.tenant, **envelope.validated_data)
        body = {
            "accepted": {"metrics": result.metrics_accepted, "events": result.events_accepted},
            "duplicates": result.duplicates,
            "rejected": [vars(rejection) for rejection in result.rejected],
            "external_ids_linked": result.external_ids_linked,
        }
        return Response(UsageIngestResultSerializer(body).data)
