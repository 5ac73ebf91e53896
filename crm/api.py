"""The CRM API under /api/v1/: leads, activities, deals, feedback and the editable lists.

Same rules as the pages: querysets come from crm.selectors' *_visible_to (another rep's row is a
404), related fields only accept visible leads (400), marketers read only (403 on writes), only
managers and admins delete or reassign. Writes validate an Input serializer, call a service and
answer with an Output serializer; a service's ValidationError becomes a 400 with field messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from clm import roles
from crm import selectors, services
from crm.filters import ActivityFilter, DealFilter, FeedbackFilter, LeadFilter, TaskFilter
from crm.models import Activity, Deal, LeadFeedback, Task
from crm.permissions import may_change, may_manage
from crm.serializers import (
    ActivityCreateInput,
    ActivityOutput,
    ActivityUpdateInput,
    DealCreateInput,
    DealOutput,
    DealUpdateInput,
    DisqualifyReasonOutput,
    FeedbackCreateInput,
    FeedbackOutput,
    LeadHistoryOutput,
    LeadOutput,
    LeadUpdateInput,
    PipelineStageOutput,
    QualityReasonOutput,
    QualityRowOutput,
    TaskCreateInput,
    TaskOutput,
    TaskUpdateInput,
)
from leads.models import Lead


class CrmAccess(BasePermission):
    """Any role reads; reps, managers and admins write; managers and admins delete."""

    message = "Your role may not do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated or not roles.user_roles(user):
            return False
        if request.method in SAFE_METHODS:
            return True
        if request.method == "DELETE":
            return may_manage(user)
        return may_change(user)


@contextmanager
def service_errors(rename: dict[str, str] | None = None) -> Iterator[None]:
    """Turn a service's Django ValidationError into DRF's 400, keeping per-field messages."""
    try:
        yield
    except DjangoValidationError as exc:
        rename = {NON_FIELD_ERRORS: api_settings.NON_FIELD_ERRORS_KEY, **(rename or {})}
        if hasattr(exc, "error_dict"):
            detail: Any = {rename.get(k, k): v for k, v in exc.message_dict.items()}
        else:
            detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
        raise serializers.ValidationError(detail) from exc


def _validated(serializer_class: type[serializers.Serializer], view: Any) -> dict[str, Any]:
    serializer = serializer_class(data=view.request.data, context=view.get_serializer_context())
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class _CrmViewSet(viewsets.GenericViewSet):
    permission_classes = [CrmAccess]
    filter_backends = [DjangoFilterBackend, OrderingFilter]


class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CrmViewSet):
    """Leads the user may see; PATCH moves the stage (any writer) or the owner (managers)."""

    serializer_class = LeadOutput
    filterset_class = LeadFilter
    ordering_fields = ["created_at", "last_contacted_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Lead]:
        return (
            selectors.leads_visible_to(self.request.user)
            .select_related("owner", "first_touch__channel")
            .annotate(current_rating=selectors.current_rating())
        )

    @extend_schema(request=LeadUpdateInput, responses=LeadOutput)
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        lead = self.get_object()
        data = _validated(LeadUpdateInput, self)
        with service_errors({"reason": "disqualify_reason"}), transaction.atomic():
            if "owner" in data:
                services.lead_assign(lead=lead, owner=data["owner"], by=request.user)
            if "stage" in data:
                services.lead_change_stage(
                    lead=lead,
                    stage=data["stage"],
                    by=request.user,
                    reason=data.get("disqualify_reason"),
                )
        return Response(LeadOutput(self.get_queryset().get(pk=lead.pk)).data)

    @extend_schema(responses=LeadHistoryOutput(many=True))
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def history(self, request: Request, pk: Any = None) -> Response:
        """Every stage and owner change of the lead, oldest first."""
        lead = self.get_object()
        rows = selectors.history_visible_to(request.user).filter(lead=lead).order_by("at", "id")
        return Response(LeadHistoryOutput(rows, many=True).data)


class ActivityViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _CrmViewSet
):
    """Activities on visible leads. Only managers and admins delete."""

    serializer_class = ActivityOutput
    filterset_class = ActivityFilter
    ordering_fields = ["occurred_at", "created_at"]
    ordering = ["-occurred_at", "-id"]

    def get_queryset(self) -> QuerySet[Activity]:
        return selectors.activities_visible_to(self.request.user).select_related("by")

    @extend_schema(request=ActivityCreateInput, responses={201: ActivityOutput})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _validated(ActivityCreateInput, self)
        with service_errors():
            activity = services.activity_log(by=request.user, **data)
        return Response(ActivityOutput(activity).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ActivityUpdateInput, responses=ActivityOutput)
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        activity = self.get_object()
        data = _validated(ActivityUpdateInput, self)
        with service_errors():
            activity = services.activity_update(activity=activity, by=request.user, data=data)
        return Response(ActivityOutput(activity).data)

    def destroy(self, request: Request, pk: Any = None) -> Response:
        activity = self.get_object()
        with service_errors():
            services.activity_delete(activity=activity, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DealViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _CrmViewSet
):
    """Deals on visible leads; a won/lost `stage` closes a deal, an open one reopens it."""

    serializer_class = DealOutput
    filterset_class = DealFilter
    ordering_fields = ["created_at", "expected_close_date", "amount", "closed_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Deal]:
        return selectors.deals_visible_to(self.request.user).select_related("stage")

    @extend_schema(request=DealCreateInput, responses={201: DealOutput})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _validated(DealCreateInput, self)
        with service_errors():
            deal = services.deal_create(by=request.user, **data)
        return Response(DealOutput(deal).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DealUpdateInput, responses=DealOutput)
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        deal = self.get_object()
        data = _validated(DealUpdateInput, self)
        plain = {
            k: data[k] for k in ("name", "amount", "expected_close_date", "owner") if k in data
        }
        reason = data.get("close_reason", "")
        with service_errors({"reason": "close_reason"}), transaction.atomic():
            if plain:
                deal = services.deal_update(deal=deal, by=request.user, data=plain)
            if "stage" in data and data["stage"].pk != deal.stage_id:
                deal = services.deal_move_stage(
                    deal=deal, stage=data["stage"], by=request.user, reason=reason
                )
            elif "close_reason" in data and deal.closed_at is not None:
                deal = services.deal_close(
                    deal=deal, won=deal.stage.is_won, by=request.user, reason=reason
                )
        return Response(DealOutput(deal).data)

    def destroy(self, request: Request, pk: Any = None) -> Response:
        deal = self.get_object()
        with service_errors():
            services.deal_delete(deal=deal, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FeedbackViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _CrmViewSet
):
    """Quality ratings of visible leads; a new rating replaces the current one (history kept)."""

    serializer_class = FeedbackOutput
    filterset_class = FeedbackFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[LeadFeedback]:
        return selectors.feedback_visible_to(self.request.user).select_related("reason")

    @extend_schema(request=FeedbackCreateInput, responses={201: FeedbackOutput})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _validated(FeedbackCreateInput, self)
        with service_errors():
            feedback = services.feedback_rate(by=request.user, **data)
        return Response(FeedbackOutput(feedback).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("group_by", OpenApiTypes.STR, enum=["channel", "campaign"]),
        ],
        responses=inline_serializer(
            "LeadQuality",
            {"group_by": serializers.CharField(), "results": QualityRowOutput(many=True)},
        ),
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def quality(self, request: Request) -> Response:
        """Lead quality per first-touch channel or campaign: leads, rated, good, poor."""
        group_by = request.query_params.get("group_by", "channel")
        if group_by == "channel":
            rows = selectors.lead_quality_by_channel(user=request.user)
        elif group_by == "campaign":
            rows = selectors.lead_quality_by_campaign(user=request.user)
        else:
            raise serializers.ValidationError({"group_by": ["Use channel or campaign."]})
        results = [{**row, "id": row[f"{group_by}_id"], "name": row[group_by]} for row in rows]
        return Response(
            {"group_by": group_by, "results": QualityRowOutput(results, many=True).data}
        )


class TaskViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _CrmViewSet
):
    """Follow-ups on visible leads (a rep: their own leads'). PATCH `done` marks one done or
    open again; only managers and admins delete or give a task to someone else."""

    serializer_class = TaskOutput
    filterset_class = TaskFilter
    ordering_fields = ["due_at", "created_at", "done_at"]
    ordering = ["due_at", "id"]

    def get_queryset(self) -> QuerySet[Task]:
        return selectors.tasks_visible_to(self.request.user).select_related("assignee")

    @extend_schema(request=TaskCreateInput, responses={201: TaskOutput})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _validated(TaskCreateInput, self)
        with service_errors():
            task = services.task_create(by=request.user, **data)
        return Response(TaskOutput(task).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TaskUpdateInput, responses=TaskOutput)
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        task = self.get_object()
        data = _validated(TaskUpdateInput, self)
        with service_errors():
            task = services.task_update(task=task, by=request.user, data=data)
        return Response(TaskOutput(task).data)

    def destroy(self, request: Request, pk: Any = None) -> Response:
        task = self.get_object()
        with service_errors():
            services.task_delete(task=task, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PipelineStageViewSet(viewsets.ReadOnlyModelViewSet):
    """The deal pipeline's active stages, in order (edited in the admin)."""

    permission_classes = [CrmAccess]
    serializer_class = PipelineStageOutput
    queryset = selectors.pipeline_stages()
    filter_backends: list[Any] = []


class DisqualifyReasonViewSet(viewsets.ReadOnlyModelViewSet):
    """Reasons a lead may be disqualified for (edited in the admin)."""

    permission_classes = [CrmAccess]
    serializer_class = DisqualifyReasonOutput
    queryset = selectors.disqualify_reasons()
    filter_backends: list[Any] = []


class QualityReasonViewSet(viewsets.ReadOnlyModelViewSet):
    """Reasons for a good or poor fit rating (edited in the admin)."""

    permission_classes = [CrmAccess]
    serializer_class = QualityReasonOutput
    queryset = selectors.quality_reasons()
    filter_backends: list[Any] = []
