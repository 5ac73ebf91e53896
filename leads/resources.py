"""Authenticated leads resources under /api/v1/: touchpoints (read) and capture forms.

(The public capture and track endpoints live in leads/api.py.) Touchpoints follow the CRM's
visibility: a rep reads the touchpoints of their own leads only. Capture forms are read by
admins and marketers and configured by admins.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from clm import roles
from clm.api import RoleAccess
from leads import services
from leads.models import CaptureForm, Touchpoint
from leads.selectors import leads_visible_to
from leads.serializers import CLICK_ID_FIELDS

BUILT_IN_FIELDS = ["name", "first_name", "last_name", "phone", "company", "message", "consent"]


class TouchpointOutput(serializers.ModelSerializer):
    channel_name = serializers.CharField(source="channel.name", read_only=True)
    # A URL or "" (none known): plain strings, not the "uri" format.
    url = serializers.CharField(read_only=True)
    referrer = serializers.CharField(read_only=True)

    class Meta:
        model = Touchpoint
        fields = ["id", "kind", "occurred_at", "lead", "visitor", "url", "referrer", "title",
                  "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
                  "click_ids", "source", "medium", "channel", "channel_name", "campaign",
                  "matched_rule", "late_stitched"]  # fmt: skip
        read_only_fields = fields


class TouchpointFilter(filters.FilterSet):
    occurred_after = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Touchpoint
        fields = ["lead", "kind", "channel", "campaign", "occurred_after", "occurred_before"]


class TouchpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Touchpoints of the leads the user may see (anonymous page views: staff only)."""

    permission_classes = [RoleAccess]
    read_roles = roles.ALL_ROLES
    write_roles: tuple[str, ...] = ()
    serializer_class = TouchpointOutput
    filterset_class = TouchpointFilter
    filter_backends = [filters.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["occurred_at"]
    ordering = ["-occurred_at", "-id"]

    def get_queryset(self) -> QuerySet[Touchpoint]:
        touches = Touchpoint.objects.select_related("channel")
        user = self.request.user
        if roles.has_role(user, roles.ADMIN, roles.MARKETER, roles.SALES_MANAGER):
            return touches
        return touches.filter(lead__in=leads_visible_to(user))


class CustomFieldSpec(serializers.Serializer):
    name = serializers.RegexField(r"^[a-z][a-z0-9_]{0,39}$")
    label = serializers.CharField(max_length=120, required=False, allow_blank=True)
    type = serializers.ChoiceField(
        choices=["text", "email", "number", "choice", "checkbox"], default="text"
    )
    required = serializers.BooleanField(default=False)
    choices = serializers.ListField(
        child=serializers.CharField(max_length=120), max_length=100, required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A PATCH of the form replaces the whole list, so each item is complete even then.
        if "name" not in attrs:
            raise serializers.ValidationError({"name": ["This field is required."]})
        attrs = {"type": "text", "required": False, **attrs}
        if attrs["type"] == "choice" and not attrs.get("choices"):
            raise serializers.ValidationError({"choices": ["A choice field needs choices."]})
        reserved = {"email", *BUILT_IN_FIELDS, *CLICK_ID_FIELDS}
        if attrs["name"] in reserved or attrs["name"].startswith("utm_"):
            raise serializers.ValidationError({"name": ["This name is a built-in field."]})
        return attrs


class CaptureFormOutput(serializers.ModelSerializer):
    url = serializers.CharField(read_only=True)
    success_url = serializers.CharField(read_only=True, help_text='A URL, or "" for none.')

    class Meta:
        model = CaptureForm
        fields = ["id", "name", "key", "url", "slug", "headline", "intro", "allowed_origins",
                  "custom_fields", "required_fields", "success_url", "consent_text",
                  "consent_version", "default_campaign", "assignment", "owner",
                  "honeypot_field", "min_fill_seconds", "is_active", "created_at"]  # fmt: skip
        read_only_fields = fields


class CaptureFormInput(serializers.ModelSerializer):
    """`key` is generated; `owner` (the fixed owner of new leads) must be a sales user."""

    allowed_origins = serializers.ListField(
        child=serializers.RegexField(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", max_length=300),
        max_length=50, required=False,
    )  # fmt: skip
    custom_fields = CustomFieldSpec(many=True, required=False, max_length=50)
    required_fields = serializers.ListField(
        child=serializers.ChoiceField(choices=BUILT_IN_FIELDS), max_length=10, required=False
    )

    class Meta:
        model = CaptureForm
        fields = ["name", "slug", "headline", "intro", "allowed_origins", "custom_fields",
                  "required_fields", "success_url", "consent_text", "consent_version",
                  "default_campaign", "assignment", "owner", "honeypot_field",
                  "min_fill_seconds", "is_active"]  # fmt: skip
        extra_kwargs = {"min_fill_seconds": {"max_value": 3600}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = roles.lead_owners()

    def validate_allowed_origins(self, value: list[str]) -> list[str]:
        return [v.rstrip("/").lower() for v in value]


class CaptureFormViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """Capture forms. Admins and marketers read; admins create and change them."""

    permission_classes = [RoleAccess]
    read_roles = (roles.ADMIN, roles.MARKETER)
    write_roles = (roles.ADMIN,)
    serializer_class = CaptureFormOutput
    queryset = CaptureForm.objects.all()
    filterset_fields = ["is_active"]
    filter_backends = [filters.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["name", "created_at"]
    ordering = ["name", "id"]

    def _input(self, partial: bool = False) -> dict[str, Any]:
        serializer = CaptureFormInput(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @extend_schema(request=CaptureFormInput, responses={201: CaptureFormOutput})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = services.capture_form_save(form=CaptureForm(**self._input()))
        return Response(CaptureFormOutput(form).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CaptureFormInput(partial=True), responses=CaptureFormOutput)
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        form = self.get_object()
        for name, value in self._input(partial=True).items():
            setattr(form, name, value)
        return Response(CaptureFormOutput(services.capture_form_save(form=form)).data)
