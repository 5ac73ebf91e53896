"""/api/v1/segments/: segments (marketers and admins write) and their members, which every
role reads within what it may see (a rep: own leads only)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from clm import roles
from leads.models import Lead
from nurture import conditions, selectors, services
from nurture.models import Segment

EDITORS = (roles.ADMIN, roles.MARKETER)


class SegmentAccess(BasePermission):
    """Any role reads; marketers and admins write."""

    message = "Your role may not do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated or not roles.user_roles(user):
            return False
        return request.method in SAFE_METHODS or roles.has_role(user, *EDITORS)


class DefinitionField(serializers.JSONField):
    """A segment definition, validated strictly: unknown fields or operators are a 400."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        errors = conditions.validate(value)
        if errors:
            raise serializers.ValidationError(errors)
        return value


class SegmentOutput(serializers.ModelSerializer):
    definition = serializers.JSONField()

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "definition", "member_count", "refreshed_at",
                  "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields


class SegmentInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    definition = DefinitionField()


class SegmentPatchInput(SegmentInput):
    name = serializers.CharField(max_length=120, required=False)
    definition = DefinitionField(required=False)


class MemberOutput(serializers.ModelSerializer):
    # Stored addresses may be internationalised (é@…), which the "email" format refuses.
    email = serializers.CharField(read_only=True)
    first_channel = serializers.CharField(source="first_touch.channel.name", default=None)
    latest_channel = serializers.CharField(source="latest_touch.channel.name", default=None)
    owner = serializers.CharField(source="owner.username", default=None)
    joined_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        model = Lead
        fields = [
            "id", "email", "first_name", "last_name", "company", "stage", "owner",
            "first_channel", "latest_channel", "consent_given", "created_at", "joined_at",
        ]  # fmt: skip


CountOutput = inline_serializer("SegmentCount", {"count": serializers.IntegerField()})


class CountInput(serializers.Serializer):
    definition = DefinitionField()


class SegmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Segments: dynamic lead lists defined by nested and/or conditions."""

    permission_classes = [SegmentAccess]
    serializer_class = SegmentOutput
    queryset = Segment.objects.order_by("name")
    filter_backends: list[Any] = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def _save(self, data: dict[str, Any], segment: Segment | None) -> Segment:
        try:
            return services.segment_save(
                segment=segment,
                name=data.get("name", segment.name if segment else ""),
                description=data.get("description", segment.description if segment else ""),
                definition=data.get("definition", segment.definition if segment else None),
                by=self.request.user,
            )
        except DjangoValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            raise serializers.ValidationError(detail) from exc

    @extend_schema(request=SegmentInput, responses={201: SegmentOutput})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = SegmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        segment = self._save(dict(data.validated_data), None)
        return Response(SegmentOutput(segment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SegmentPatchInput, responses=SegmentOutput)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        segment = self.get_object()
        data = SegmentPatchInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        segment = self._save(dict(data.validated_data), segment)
        return Response(SegmentOutput(segment).data)

    @extend_schema(exclude=True)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(status=status.HTTP_405_METHOD_NOT_ALLOWED)

    def perform_destroy(self, instance: Segment) -> None:
        try:
            services.segment_delete(segment=instance)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def _members(self, segment: Segment) -> QuerySet[Lead]:
        return selectors.segment_members(segment=segment, viewer=self.request.user)

    @extend_schema(responses=MemberOutput(many=True))
    @action(detail=True, methods=["get"])
    def members(self, request: Request, pk: Any = None) -> Response:
        """The segment's current members the caller may see, newest first, paginated."""
        page = self.paginate_queryset(self._members(self.get_object()))
        return self.get_paginated_response(MemberOutput(page, many=True).data)

    @extend_schema(request=CountInput, responses={200: CountOutput})
    @action(detail=False, methods=["post"])
    def count(self, request: Request) -> Response:
        """How many leads (that the caller may see) a definition selects, without saving it."""
        data = CountInput(data=request.data)
        data.is_valid(raise_exception=True)
        n = selectors.segment_count(
            definition=data.validated_data["definition"], viewer=request.user
        )
        return Response({"count": n})
