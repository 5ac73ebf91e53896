"""Attribution API: runs (start, watch, read) and the ROI report."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attribution import engine, selectors, services
from attribution.models import AttributionRun
from clm import roles
from clm.api import Conflict, ErrorOutput

REPORT_ROLES = (roles.ADMIN, roles.MARKETER, roles.SALES_MANAGER)


# The query of an ROI report, on the reports endpoint and on a run's results.
ROI_PARAMETERS = [
    OpenApiParameter("model", str, enum=list(engine.MODELS)),
    OpenApiParameter("start", date),
    OpenApiParameter("end", date),
    OpenApiParameter("group_by", str, enum=["channel", "campaign"]),
]
SCOPE_PARAMETER = OpenApiParameter(
    "scope",
    str,
    enum=list(AttributionRun.Scope.values),
    description="Whose touches credit a deal: `contact` (default; each deal's lead's own) or "
    "`account` (the merged touches of its buying group, or of its whole account, as the run "
    "was defined). The latest finished run of that scope answers; none yet: `run` is null "
    "and the rows carry spend only.",
)


class CanReadReports(BasePermission):
    """Admins, marketers and sales managers read ROI; marketers and admins start runs."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return roles.has_role(request.user, *REPORT_ROLES)
        return roles.has_role(request.user, roles.ADMIN, roles.MARKETER)


class RunOut(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = AttributionRun
        fields = [
            "id", "model_names", "params", "lookback_days", "data_cutoff", "rules_version",
            "scope", "account_people", "status", "progress", "timings", "error", "created_at",
            "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_progress(self, run: AttributionRun) -> dict[str, Any]:
        return selectors.run_progress(run)


class RunIn(serializers.Serializer):
    models = serializers.ListField(
        child=serializers.ChoiceField(choices=engine.MODELS), required=False, allow_empty=False
    )
    lookback_days = serializers.IntegerField(min_value=1, max_value=3650, default=90)
    params = serializers.DictField(required=False)
    scope = serializers.ChoiceField(
        choices=AttributionRun.Scope.choices,
        default=AttributionRun.Scope.CONTACT,
        help_text="contact: each deal over its lead's touches; account: over its buyers'.",
    )
    account_people = serializers.ChoiceField(
        choices=AttributionRun.People.choices,
        default=AttributionRun.People.BUYING_GROUP,
        help_text="Account scope: the deal's buying group, or everyone in its account.",
    )


class RoiQuery(serializers.Serializer):
    model = serializers.ChoiceField(choices=engine.MODELS, default="linear")
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    group_by = serializers.ChoiceField(choices=["channel", "campaign"], default="channel")
    run = serializers.IntegerField(required=False, min_value=1)
    scope = serializers.ChoiceField(
        choices=AttributionRun.Scope.choices, default=AttributionRun.Scope.CONTACT
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start and end and start > end:
            raise serializers.ValidationError({"end": ["end is before start."]})
        return attrs


class RoiRowOut(serializers.Serializer):
    key = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    channel = serializers.CharField()
    spend = serializers.DecimalField(max_digits=16, decimal_places=2)
    leads = serializers.FloatField()
    opportunities = serializers.FloatField()
    pipeline = serializers.DecimalField(max_digits=16, decimal_places=2)
    deals = serializers.FloatField()
    revenue = serializers.DecimalField(max_digits=16, decimal_places=2)
    roi = serializers.FloatField(allow_null=True)
    roas = serializers.FloatField(allow_null=True)
    cost_per_lead = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    cost_per_opportunity = serializers.DecimalField(
        max_digits=16, decimal_places=2, allow_null=True
    )
    cac = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    lead_to_opportunity = serializers.FloatField(allow_null=True)
    opportunity_to_deal = serializers.FloatField(allow_null=True)


class RoiOut(serializers.Serializer):
    run = serializers.IntegerField(allow_null=True)
    scope = serializers.CharField()
    model = serializers.CharField()
    group_by = serializers.CharField()
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    currency = serializers.CharField()
    rows = RoiRowOut(many=True)


class RoiReportView(APIView):
    """GET /api/v1/reports/roi/: ROI rows per channel or campaign from a finished run."""

    permission_classes = [CanReadReports]

    @extend_schema(
        parameters=[*ROI_PARAMETERS, SCOPE_PARAMETER, OpenApiParameter("run", int)],
        responses={200: RoiOut, 400: ErrorOutput, 404: ErrorOutput},
        summary="ROI per channel or campaign",
    )
    def get(self, request: Request) -> Response:
        query = RoiQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if params.get("run"):
            run = AttributionRun.objects.filter(pk=params["run"], status="done").first()
            if run is None or params["model"] not in run.model_names:
                raise NotFound("No finished run with that id and model.")
        else:
            run = selectors.latest_run(model=params["model"], scope=params["scope"])
        return Response(_roi_body(run, params))


def _roi_body(run: AttributionRun | None, params: dict[str, Any]) -> dict[str, Any]:
    rows = selectors.roi_rows(
        run=run,
        model=params["model"],
        start=params.get("start"),
        end=params.get("end"),
        group_by=params["group_by"],
    )
    return {
        "run": run.pk if run else None,
        "scope": run.scope if run else params.get("scope", AttributionRun.Scope.CONTACT),
        "model": params["model"],
        "group_by": params["group_by"],
        "start": params.get("start"),
        "end": params.get("end"),
        "currency": settings.CLM_CURRENCY,
        "rows": [r.as_dict() for r in rows],
    }


class RunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """Attribution runs: start one (202), watch its progress, read its ROI results."""

    permission_classes = [CanReadReports]
    serializer_class = RunOut
    queryset = AttributionRun.objects.order_by("-created_at", "-id")
    filter_backends: list[Any] = []

    @extend_schema(
        request=RunIn,
        responses={202: RunOut, 409: ErrorOutput},
        summary="Start a run (409 while one is queued or running)",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = RunIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run = services.run_start(
                models=data.validated_data.get("models") or engine.MODELS,
                lookback_days=data.validated_data["lookback_days"],
                params=data.validated_data.get("params") or {},
                created_by=request.user,
                scope=data.validated_data["scope"],
                account_people=data.validated_data["account_people"],
            )
        except services.RunInProgress as exc:
            raise Conflict(str(exc)) from None
        except ValueError as exc:
            raise ValidationError({"params": [str(exc)]}) from None
        return Response(RunOut(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=ROI_PARAMETERS,
        responses={200: RoiOut, 409: ErrorOutput},
        summary="ROI results of one finished run",
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def results(self, request: Request, pk: Any = None) -> Response:
        """ROI rows of this run for one of its models; 409 while it has not finished."""
        run = self.get_object()
        query = RoiQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if run.status != AttributionRun.Status.DONE:
            raise Conflict(f"Run {run.pk} is {run.status}; results come when it is done.")
        if params["model"] not in run.model_names:
            raise ValidationError({"model": [f"Run {run.pk} has: {', '.join(run.model_names)}."]})
        return Response(_roi_body(run, params))
