"""REST API for churn cases: `/api/v1/churn-cases/`. Translate, call a service, present the case with its steps."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.apis import TenantAccountField
from churn import services
from churn.models import CancelMode, ChurnCase, ChurnStep, StepKind
from churn.selectors import churn_case_list
from core.api import TenantModelViewSet, permissions_by_method
from core.pagination import SortKey
from core.permissions import Permission


class ChurnStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChurnStep
        fields = [
            "kind", "position", "status", "attempts", "result", "result_text", "error", "skip_reason",
            "done_by_label", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class ChurnCaseSerializer(serializers.ModelSerializer):
    account = TenantAccountField()
    churn_date = serializers.DateField(required=False, help_text="Default: the account's renewal date.")
    arr_lost = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, min_value=0, help_text="Default: the account's ARR."
    )
    primary_reason = serializers.CharField(max_length=40, help_text="A code of the organization's churn reasons.")
    cancel_mode = serializers.ChoiceField(choices=CancelMode.choices, required=False)
    steps = ChurnStepSerializer(many=True, read_only=True)

    class Meta:
        model = ChurnCase
        fields = [
            "id", "account", "status", "churn_date", "arr_lost", "currency", "cohort", "primary_reason",
            "secondary_reason", "reason_other", "summary", "cancel_mode", "stripe_subscription_id",
            "suggested_because", "opened_by_label", "opened_at", "closed_at", "learning_answers",
            "learning_answered_at", "steps", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "status", "currency", "cohort", "suggested_because", "opened_by_label", "opened_at", "closed_at",
            "learning_answers", "learning_answered_at", "created_at", "updated_at",
        ]  # fmt: skip
        extra_kwargs = {
            "secondary_reason": {"required": False},
            "reason_other": {"required": False},
            "summary": {"required": False},
            "stripe_subscription_id": {"required": False},
        }

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            fields["account"].read_only = True
        return fields


class StepActionSerializer(serializers.Serializer):
    step = serializers.ChoiceField(choices=StepKind.choices)
    skip_reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


def _open_case(*, tenant, account, **values):
    return services.churn_case_open(tenant=tenant, account=account, **values)


def _update_case(*, tenant, churn_case, **values):
    values.pop("account", None)
    if churn_case.status == "suggested":
        return services.churn_case_confirm(tenant=tenant, case=churn_case, **values)
    return services.churn_case_update(tenant=tenant, case=churn_case, **values)


def _delete_case(*, tenant, churn_case):
    services.churn_case_delete(tenant=tenant, case=churn_case)


@extend_schema_view(
    list=extend_schema(summary="List churn cases", description="Keyset-paginated; `status` filters."),
    create=extend_schema(
        summary="Open a churn case",
        description="Seed 000's five steps are created pending and run when their inputs are ready. Opening a case "
        "for an account that has one returns that case; a case Stripe suggested is confirmed.",
    ),
    retrieve=extend_schema(summary="Get a churn case with its steps"),
    partial_update=extend_schema(
        summary="Edit a case, or confirm a suggested one",
        description="`cancel_mode` changes only until the Stripe step has run.",
    ),
    destroy=extend_schema(summary="Delete a case none of whose steps ran"),
)
class ChurnCaseViewSet(TenantModelViewSet):
    queryset = ChurnCase.objects.none()
    serializer_class = ChurnCaseSerializer
    sorts = {key.param: key for key in (SortKey("created_at", True), SortKey("created_at", False))}
    default_sort = "-created_at"
    permission_by_method = permissions_by_method(write=Permission.CHURN_WRITE, delete=Permission.CHURN_WRITE)
    create_service = staticmethod(_open_case)
    update_service = staticmethod(_update_case)
    delete_service = staticmethod(_delete_case)
    instance_keyword = "churn_case"

    def get_queryset(self):
        return churn_case_list(status=self.request.query_params.get("status", ""))

    def presented(self, instance):
        return self.get_queryset().get(pk=instance.pk)

    def _step(self, case: ChurnCase, kind: str) -> ChurnStep:
        step = ChurnStep.objects.filter(case=case, kind=kind).first()
        if step is None:
            raise NotFound("No such step.")
        return step

    @extend_schema(
        summary="Run one step of the case",
        request=StepActionSerializer,
        responses=ChurnCaseSerializer,
        description="A step that is done (or running) is not run again: the answer is the case as it is.",
    )
    @action(detail=True, methods=["post"], url_path="run-step")
    def run_step(self, request, pk=None):
        case = self.get_object()
        body = StepActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        step = services.churn_step_run(tenant=self.tenant, step=self._step(case, body.validated_data["step"]))
        if step.status == "done":
            services.churn_case_advance(tenant=self.tenant, case=case)
        return Response(self.get_serializer(self.presented(case)).data, status=status.HTTP_200_OK)

    @extend_schema(summary="Skip one step, with a reason", request=StepActionSerializer, responses=ChurnCaseSerializer)
    @action(detail=True, methods=["post"], url_path="skip-step")
    def skip_step(self, request, pk=None):
        case = self.get_object()
        body = StepActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.churn_step_skip(
            tenant=self.tenant,
            step=self._step(case, body.validated_data["step"]),
            reason=body.validated_data.get("skip_reason", ""),
        )
        services.churn_case_advance(tenant=self.tenant, case=case)
        return Response(self.get_serializer(self.presented(case)).data)
