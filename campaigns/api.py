"""Campaigns API under /api/v1/: channels, channel rules, campaigns and spend (bulk upsert).

Everyone reads channels and campaigns; admins, marketers and managers read rules and spend.
Admins configure channels and rules; admins and marketers write campaigns and spend. Writes
validate an Input serializer and go through campaigns.services.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns import services
from campaigns.models import Campaign, Channel, ChannelRule, Spend
from campaigns.serializers import (
    CampaignInput,
    CampaignOutput,
    ChannelInput,
    ChannelOutput,
    ChannelRuleInput,
    ChannelRuleOutput,
    SpendBulkInput,
    SpendBulkOutput,
    SpendOutput,
    SpendRowInput,
)
from clm import roles
from clm.api import RoleAccess

EVERYONE = roles.ALL_ROLES
STAFF = (roles.ADMIN, roles.MARKETER, roles.SALES_MANAGER)
MARKETING = (roles.ADMIN, roles.MARKETER)
ADMINS = (roles.ADMIN,)


class _Base(viewsets.GenericViewSet):
    permission_classes = [RoleAccess]
    filter_backends = [filters.DjangoFilterBackend, OrderingFilter]
    read_roles: tuple[str, ...] = STAFF
    write_roles: tuple[str, ...] = ADMINS

    def _input(self, serializer_class: type[serializers.Serializer], **kwargs: Any) -> Any:
        serializer = serializer_class(data=self.request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class ChannelViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _Base
):
    """Reporting channels. Everyone reads; admins add and change them."""

    serializer_class = ChannelOutput
    queryset = Channel.objects.all()
    filterset_fields = ["is_active", "is_paid", "is_offline"]
    ordering_fields = ["display_order", "name"]
    ordering = ["display_order", "name"]
    read_roles = EVERYONE

    @extend_schema(request=ChannelInput, responses={201: ChannelOutput})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        channel = services.channel_save(channel=Channel(**self._input(ChannelInput)))
        return Response(ChannelOutput(channel).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ChannelInput(partial=True), responses=ChannelOutput)
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        channel = self.get_object()
        for name, value in self._input(ChannelInput, partial=True).items():
            setattr(channel, name, value)
        return Response(ChannelOutput(services.channel_save(channel=channel)).data)


class ChannelRuleFilter(filters.FilterSet):
    class Meta:
        model = ChannelRule
        fields = ["channel", "is_active"]


class ChannelRuleViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _Base
):
    """The ordered channel rules (first match wins). Admins edit; staff read."""

    serializer_class = ChannelRuleOutput
    filterset_class = ChannelRuleFilter
    ordering_fields = ["position"]
    ordering = ["position", "id"]

    def get_queryset(self) -> QuerySet[ChannelRule]:
        return ChannelRule.objects.select_related("channel")

    @extend_schema(request=ChannelRuleInput, responses={201: ChannelRuleOutput})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule = services.channel_rule_save(rule=ChannelRule(**self._input(ChannelRuleInput)))
        return Response(ChannelRuleOutput(rule).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ChannelRuleInput(partial=True), responses=ChannelRuleOutput)
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        rule = self.get_object()
        for name, value in self._input(ChannelRuleInput, partial=True).items():
            setattr(rule, name, value)
        return Response(ChannelRuleOutput(services.channel_rule_save(rule=rule)).data)

    def destroy(self, request: Request, pk: Any = None) -> Response:
        services.channel_rule_delete(rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class CampaignFilter(filters.FilterSet):
    class Meta:
        model = Campaign
        fields = ["channel", "status", "owner"]


class CampaignViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _Base
):
    """Campaigns and their UTM keys. Everyone reads; admins and marketers write."""

    serializer_class = CampaignOutput
    filterset_class = CampaignFilter
    ordering_fields = ["name", "start_date", "created_at"]
    ordering = ["name", "id"]
    read_roles = EVERYONE
    write_roles = MARKETING

    def get_queryset(self) -> QuerySet[Campaign]:
        return Campaign.objects.all()

    @extend_schema(request=CampaignInput, responses={201: CampaignOutput})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._input(CampaignInput)
        campaign = services.campaign_save(campaign=Campaign(owner=request.user, **data))
        return Response(CampaignOutput(campaign).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CampaignInput(partial=True), responses=CampaignOutput)
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        campaign = self.get_object()
        for name, value in self._input(CampaignInput, partial=True).items():
            setattr(campaign, name, value)
        return Response(CampaignOutput(services.campaign_save(campaign=campaign)).data)


class SpendFilter(filters.FilterSet):
    start = filters.DateFilter(field_name="date", lookup_expr="gte")
    end = filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = Spend
        fields = ["campaign", "source", "start", "end"]


class SpendViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _Base):
    """Daily cost per campaign. Staff read; admins and marketers upsert (one row or many)."""

    serializer_class = SpendOutput
    filterset_class = SpendFilter
    ordering_fields = ["date", "amount"]
    ordering = ["-date", "campaign_id", "id"]
    write_roles = MARKETING

    def get_queryset(self) -> QuerySet[Spend]:
        return Spend.objects.all()

    @extend_schema(
        request=SpendRowInput,
        responses={200: SpendBulkOutput},
        summary="Upsert one day of one campaign's spend",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._input(SpendRowInput)
        result = services.spend_upsert(rows=[data["row"]], source=data["source"])
        return Response(SpendBulkOutput.of(result, 1))

    @extend_schema(
        request=SpendBulkInput,
        responses={200: SpendBulkOutput},
        summary="Upsert many spend rows, all or nothing",
        description="Every row is validated first; one bad row is a 400 naming it "
        "(`rows[3].amount`) and nothing is written. Rows are upserted on (campaign, date, "
        "source): sending the same rows again changes nothing.",
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def bulk(self, request: Request) -> Response:
        data = self._input(SpendBulkInput)
        rows = [r["row"] for r in data["rows"]]
        result = services.spend_upsert(rows=rows, source=data["source"])
        return Response(SpendBulkOutput.of(result, len(rows)))
