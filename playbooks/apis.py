"""REST API for playbooks: the same definitions the editor writes, as JSON checked against the served schema.

Errors are 400 with one entry per problem keyed by its path into the definition ("steps.1.subject",
"trigger.cron") or by the field ("name"); another organization's playbook is a 404 like one that does not exist.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import TenantModelViewSet, permissions_by_method
from core.pagination import SortKey
from playbooks import definition as pdef
from playbooks import selectors, services
from playbooks.models import Playbook, PlaybookStatus
from playbooks.permissions import PLAYBOOK_WRITE

EXAMPLE_DEFINITION = {
    "trigger": {"type": "event", "event": "deal.committed"},
    "audience": {"cohorts": ["premium", "enterprise"], "min_arr": 10000},
    "steps": [
        {"type": "task", "assignee": "csm", "title": "Kickoff with {{ account.name }}", "due_in_days": 2},
        {"type": "wait", "days": 2},
        {"type": "email", "to": "contact", "subject": "Welcome, {{ contact.first_name }}", "body": "Hello!"},
    ],
}


class PlaybookSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=PlaybookStatus.choices, required=False, default=PlaybookStatus.DRAFT)
    definition = serializers.JSONField(
        source="current_version.definition",
        help_text="Trigger, audience and steps; see GET /api/v1/playbooks/schema/ for the JSON schema.",
    )
    version = serializers.IntegerField(source="current_version.number", read_only=True)
    template_key = serializers.CharField(read_only=True)
    enrollment_count = serializers.IntegerField(read_only=True, default=0)
    running_count = serializers.IntegerField(read_only=True, default=0)
    last_run_at = serializers.DateTimeField(read_only=True, allow_null=True, default=None)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        tenant = self.context.get("tenant")
        if data.get("definition") and not (tenant and tenant.can(PLAYBOOK_WRITE)):
            data["definition"] = definition_without_secrets(data["definition"])
        return data


def definition_without_secrets(definition: dict) -> dict:
    """A Slack incoming webhook's address is its secret (anyone holding it can post to the channel), and a webhook
    address may carry a token: roles that cannot edit playbooks read the host only."""
    from urllib.parse import urlsplit

    steps = []
    for step in definition.get("steps", []):
        step = dict(step)
        for key in ("webhook_url", "url"):
            if key in step:
                step[key] = f"{urlsplit(step[key]).scheme}://{urlsplit(step[key]).hostname}/…"
        steps.append(step)
    return {**definition, "steps": steps}


def _service_values(validated: dict) -> dict:
    values = dict(validated)
    version = values.pop("current_version", None)
    if version is not None:
        values["definition"] = version["definition"]
    return values


class PlaybookUpdateSerializer(PlaybookSerializer):
    status = serializers.ChoiceField(
        choices=PlaybookStatus.choices, required=False, help_text="Use the pause and resume actions to change it."
    )


class DryRunStepSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    type = serializers.CharField()
    summary = serializers.CharField()
    preview = serializers.DictField(required=False, help_text="What the step would send or write.")
    skipped = serializers.CharField(required=False)
    error = serializers.CharField(required=False)


class DryRunAccountSerializer(serializers.Serializer):
    account = serializers.IntegerField(source="account.pk")
    account_name = serializers.CharField(source="account.name")
    steps = DryRunStepSerializer(many=True, allow_null=True, help_text="Previewed for the first three accounts.")


class DryRunSerializer(serializers.Serializer):
    note = serializers.CharField()
    total = serializers.IntegerField(help_text="How many accounts would enroll; `accounts` lists the first 50.")
    accounts = DryRunAccountSerializer(many=True)


@extend_schema_view(
    list=extend_schema(summary="List playbooks", description="With enrollment counts and the last step run."),
    retrieve=extend_schema(summary="Read a playbook", description="The current version's definition."),
    create=extend_schema(
        summary="Create a playbook",
        description="Needs a role with `playbook.write` (admin, csm). A definition that breaks the schema or the "
        "rules (unknown merge fields, an invalid cron) is a 400 keyed by paths such as `steps.1.subject`.",
        examples=[OpenApiExample("Onboarding", value={"name": "Onboarding", "definition": EXAMPLE_DEFINITION})],
    ),
    partial_update=extend_schema(
        summary="Edit a playbook",
        description="A changed `definition` becomes a new version; enrollments already running keep theirs.",
        request=PlaybookUpdateSerializer,
    ),
    destroy=extend_schema(summary="Delete a playbook", description="Only one that never enrolled anyone."),
)
class PlaybookViewSet(TenantModelViewSet):
    serializer_class = PlaybookSerializer
    queryset = Playbook.objects.none()
    permission_by_method = permissions_by_method(write=PLAYBOOK_WRITE, delete=PLAYBOOK_WRITE)
    delete_service = services.playbook_delete
    instance_keyword = "playbook"
    sorts = {key.param: key for key in (SortKey("name"), SortKey("name", True), SortKey("id"), SortKey("id", True))}
    default_sort = "name"

    def get_queryset(self):
        return selectors.playbook_list()

    def get_serializer_class(self):
        return PlaybookUpdateSerializer if self.action == "partial_update" else PlaybookSerializer

    def presented(self, instance):
        return selectors.playbook_list().get(pk=instance.pk)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        playbook = services.playbook_create(tenant=self.tenant, **_service_values(serializer.validated_data))
        return Response(self.get_serializer(self.presented(playbook)).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        playbook = self.get_object()
        serializer = self.get_serializer(playbook, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        values = _service_values(serializer.validated_data)
        playbook = services.playbook_update(tenant=self.tenant, playbook=playbook, **values)
        return Response(self.get_serializer(self.presented(playbook)).data)

    @extend_schema(summary="Pause a playbook", request=None, responses={200: PlaybookSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        playbook = services.playbook_pause(tenant=self.tenant, playbook=self.get_object())
        return Response(self.get_serializer(self.presented(playbook)).data)

    @extend_schema(summary="Resume (or switch on) a playbook", request=None, responses={200: PlaybookSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        playbook = services.playbook_resume(tenant=self.tenant, playbook=self.get_object())
        return Response(self.get_serializer(self.presented(playbook)).data)

    @extend_schema(
        summary="Dry run",
        description="Which accounts would enroll now and what each step would send them; nothing is sent.",
        responses={200: DryRunSerializer},
    )
    @action(detail=True, methods=["get"], url_path="dry-run")
    def dry_run(self, request, pk=None):
        return Response(DryRunSerializer(selectors.playbook_dry_run(playbook=self.get_object())).data)

    @extend_schema(
        summary="The definition's JSON schema",
        description="JSON Schema (draft 2020-12) of `definition`. The server also refuses unknown merge fields "
        f"(allowed: {', '.join(pdef.merge_field_names())}) and invalid cron expressions.",
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"], url_path="schema", pagination_class=None)
    def definition_schema(self, request):
        return Response(pdef.SCHEMA)
