"""REST API for QBRs, meetings and feature requests: translate, call a service, present the result.

The same rules as the pages (qbr.services); another organization's ids are not in the scoped querysets (404).
"""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.apis import MemberField, TenantAccountField
from accounts.models import Contact
from core.api import TenantModelViewSet, permissions_by_method
from core.pagination import SortKey
from core.permissions import Permission
from qbr import services
from qbr.datapack import data_pack, part_as_json
from qbr.models import (
    QBR_GOAL_KEYS,
    FeatureRequest,
    FeatureRequestAccount,
    FeatureRequestStatus,
    Meeting,
    MeetingKind,
    MeetingStatus,
)


class TenantContactField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Contact.objects.all()  # scoped: another tenant's contact "does not exist"


MEETING_FIELDS = [
    "id", "account", "kind", "title", "status", "starts_at", "duration_minutes", "organizer", "contacts", "members",
    "video_url", "agenda_items", "customer_response", "proposal_reason", "attendance_checked_at", "customer_joined_at",
    "notes", "customer_feedback", "features_in_use", "findings", "held_at", "created_at", "updated_at",
]  # fmt: skip
MEETING_READ_ONLY = ["id", "proposal_reason", "attendance_checked_at", "customer_joined_at", "held_at", "created_at"]


class MeetingSerializer(serializers.ModelSerializer):
    account = TenantAccountField()
    organizer = MemberField(required=False, allow_null=True, help_text="User id; default: the caller or the CSM.")
    contacts = TenantContactField(many=True, required=False, help_text="Contact ids of the account's attendees.")
    members = MemberField(many=True, required=False, help_text="User ids of our attendees.")
    agenda_items = serializers.ListField(child=serializers.CharField(max_length=300), required=False)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    status = serializers.ChoiceField(
        choices=MeetingStatus.choices,
        required=False,
        help_text="proposed → scheduled (confirm), scheduled → held, missed or cancelled; a held meeting stays held.",
    )

    class Meta:
        model = Meeting
        fields = MEETING_FIELDS
        read_only_fields = [*MEETING_READ_ONLY, "updated_at"]

    def validate(self, attrs):
        if self.instance is not None and "account" in attrs and attrs["account"].pk != self.instance.account_id:
            raise serializers.ValidationError({"account": ["A meeting stays with its account."]})
        if self.instance is not None:
            attrs.pop("account", None)
        return attrs


class QbrSerializer(MeetingSerializer):
    goal_outcomes = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text=f"What came out of each of seed 000's five goals; keys: {', '.join(QBR_GOAL_KEYS)}.",
    )
    kind = serializers.CharField(read_only=True)

    class Meta(MeetingSerializer.Meta):
        fields = [*MEETING_FIELDS, "period_start", "period_end", "narrative", "goal_outcomes"]


class MeetingFilterSet(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id", help_text="Account id.")
    kind = django_filters.ChoiceFilter(choices=MeetingKind.choices)
    status = django_filters.ChoiceFilter(choices=MeetingStatus.choices)
    organizer = django_filters.NumberFilter(field_name="organizer_id", help_text="User id of the organizer.")
    starts_after = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="lt")

    class Meta:
        model = Meeting
        fields = []


MEETING_SORTS = {key.param: key for key in (SortKey("starts_at"), SortKey("starts_at", True))}


def _meetings():
    return Meeting.objects.select_related("account").prefetch_related("contacts", "members")


def qbr_create(*, tenant, **values) -> Meeting:
    return services.meeting_create(tenant=tenant, kind=MeetingKind.QBR, **values)


@extend_schema_view(
    list=extend_schema(summary="List customer meetings", description="QBRs, health checks, routine meetings."),
    create=extend_schema(
        summary="Schedule a meeting",
        description="Attendees must be contacts of the account and members of the organization.",
    ),
    retrieve=extend_schema(summary="Get a meeting"),
    partial_update=extend_schema(
        summary="Change a meeting",
        description="A new `starts_at` resets the customer's answer and the 48-hour check (seed 004).",
    ),
    destroy=extend_schema(summary="Delete a meeting"),
)
class MeetingViewSet(TenantModelViewSet):
    queryset = Meeting.objects.none()
    serializer_class = MeetingSerializer
    filterset_class = MeetingFilterSet
    sorts = MEETING_SORTS
    default_sort = "starts_at"
    permission_by_method = permissions_by_method(write=Permission.QBR_WRITE, delete=Permission.QBR_WRITE)
    create_service = staticmethod(services.meeting_create)
    update_service = staticmethod(services.meeting_update)
    delete_service = staticmethod(services.meeting_delete)
    instance_keyword = "meeting"

    def get_queryset(self):
        return _meetings()

    def presented(self, instance):
        return self.get_queryset().get(pk=instance.pk)


@extend_schema_view(
    list=extend_schema(summary="List QBRs", description="Quarterly business reviews (seed 000)."),
    create=extend_schema(
        summary="Schedule a QBR",
        description="The quarter reviewed defaults to the 90 days before the QBR (`period_start`, `period_end`).",
    ),
    retrieve=extend_schema(summary="Get a QBR"),
    partial_update=extend_schema(summary="Change a QBR: time, attendees, narrative, outcomes per goal, status"),
    destroy=extend_schema(summary="Delete a QBR"),
)
class QbrViewSet(MeetingViewSet):
    serializer_class = QbrSerializer
    create_service = staticmethod(qbr_create)

    def get_queryset(self):
        return _meetings().filter(kind=MeetingKind.QBR)

    @extend_schema(summary="The QBR's data pack", description="Each part with its source and as-of time.")
    @action(detail=True, methods=["get"], url_path="data-pack")
    def data_pack(self, request, pk=None):
        meeting = self.get_object()
        parts = data_pack(account=meeting.account, start=meeting.period_start, end=meeting.period_end)
        return Response({"qbr": meeting.pk, "parts": [part_as_json(part) for part in parts]})


class FeatureRequestSerializer(serializers.ModelSerializer):
    accounts = TenantAccountField(
        many=True, required=False, help_text="Account ids asking for it; on PATCH, the ones listed are added."
    )
    log = serializers.SerializerMethodField()

    class Meta:
        model = FeatureRequest
        fields = [
            "id", "title", "description", "status", "tracker_url", "accounts", "shipped_at", "log", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "shipped_at", "created_at", "updated_at"]

    def get_log(self, request) -> list[dict]:
        return [{"at": event.created_at, "text": event.text, "by": event.actor_label} for event in request.events.all()]


class FeatureRequestFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=FeatureRequestStatus.choices)
    account = django_filters.NumberFilter(method="by_account", help_text="Account id: requests it asks for.")
    search = django_filters.CharFilter(field_name="title", lookup_expr="icontains")

    class Meta:
        model = FeatureRequest
        fields = []

    def by_account(self, queryset, name, value):
        return queryset.filter(pk__in=FeatureRequestAccount.objects.filter(account_id=value).values("request_id"))


FEATURE_REQUEST_SORTS = {key.param: key for key in (SortKey("updated_at", True), SortKey("updated_at"))}


@extend_schema_view(
    list=extend_schema(summary="List feature requests"),
    create=extend_schema(summary="Record a feature request", description="Seed 004, customer requests."),
    retrieve=extend_schema(summary="Get a feature request"),
    partial_update=extend_schema(
        summary="Change a feature request",
        description="`status: shipped` gives the CSM of every asking account one task to bring it back to the "
        "customer (seed 003, communicate feedback).",
    ),
    destroy=extend_schema(summary="Delete a feature request"),
)
class FeatureRequestViewSet(TenantModelViewSet):
    queryset = FeatureRequest.objects.none()
    serializer_class = FeatureRequestSerializer
    filterset_class = FeatureRequestFilterSet
    sorts = FEATURE_REQUEST_SORTS
    default_sort = "-updated_at"
    permission_by_method = permissions_by_method(
        write=Permission.FEATURE_REQUEST_WRITE, delete=Permission.FEATURE_REQUEST_WRITE
    )
    create_service = staticmethod(services.feature_request_create)
    update_service = staticmethod(services.feature_request_update)
    delete_service = staticmethod(services.feature_request_delete)
    instance_keyword = "feature_request"

    def get_queryset(self):
        return FeatureRequest.objects.prefetch_related("accounts", "events")

    def presented(self, instance):
        return self.get_queryset().get(pk=instance.pk)
