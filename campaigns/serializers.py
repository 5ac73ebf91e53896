"""API shapes of campaigns: Output serializers list their fields; Input serializers leave out
what a client may not set (ids, owner, timestamps)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework import serializers

from campaigns.models import Campaign, Channel, ChannelRule, Spend
from campaigns.services import SpendRow, UpsertResult

MAX_BULK_ROWS = 5000


class ChannelOutput(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = ["id", "name", "description", "is_paid", "is_offline", "color",
                  "display_order", "is_active"]  # fmt: skip
        read_only_fields = fields


class ChannelInput(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = ["name", "description", "is_paid", "is_offline", "color", "display_order",
                  "is_active"]  # fmt: skip
        extra_kwargs = {"display_order": {"max_value": 2**31 - 1}}


class ChannelRuleOutput(serializers.ModelSerializer):
    channel_name = serializers.CharField(source="channel.name", read_only=True)

    class Meta:
        model = ChannelRule
        fields = ["id", "position", "name", "channel", "channel_name", "conditions",
                  "is_active", "note", "updated_at"]  # fmt: skip
        read_only_fields = fields


class ChannelRuleInput(serializers.ModelSerializer):
    conditions = serializers.ListField(
        child=serializers.DictField(), max_length=50, required=False,
        help_text='[{"field": "medium", "op": "equals", "value": "cpc"}, ...]',
    )  # fmt: skip

    class Meta:
        model = ChannelRule
        fields = ["position", "name", "channel", "conditions", "is_active", "note"]
        extra_kwargs = {"position": {"max_value": 2**31 - 1}}


class CampaignOutput(serializers.ModelSerializer):
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = ["id", "name", "channel", "utm_campaign", "utm_source", "utm_medium",
                  "start_date", "end_date", "budget", "currency", "status", "owner", "notes",
                  "created_at"]  # fmt: skip
        read_only_fields = fields

    def get_currency(self, campaign: Campaign) -> str:
        return settings.CLM_CURRENCY


class CampaignInput(serializers.ModelSerializer):
    """`owner` is whoever creates the campaign; it is not taken from the body."""

    class Meta:
        model = Campaign
        fields = ["name", "channel", "utm_campaign", "utm_source", "utm_medium", "start_date",
                  "end_date", "budget", "status", "notes"]  # fmt: skip
        # The model's constraints are checked by the service's full_clean (400, not a 500).
        validators: list[Any] = []


class SpendOutput(serializers.ModelSerializer):
    class Meta:
        model = Spend
        fields = ["id", "campaign", "date", "amount", "currency", "impressions", "clicks",
                  "source", "updated_at"]  # fmt: skip
        read_only_fields = fields


def _currency(value: str) -> str:
    value = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise serializers.ValidationError("Use a 3-letter currency code, e.g. USD.")
    return value


class SpendDay(serializers.Serializer):
    """One campaign's cost on one day."""

    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
    date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"))
    currency = serializers.CharField(max_length=3, required=False, validators=[_currency])
    impressions = serializers.IntegerField(min_value=0, max_value=2**62, default=0)
    clicks = serializers.IntegerField(min_value=0, max_value=2**62, default=0)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        currency = _currency(attrs.get("currency") or settings.CLM_CURRENCY)
        row = SpendRow(attrs["campaign"].pk, attrs["date"], attrs["amount"], currency,
                       attrs["impressions"], attrs["clicks"])  # fmt: skip
        return {**attrs, "row": row}


def _source() -> serializers.RegexField:
    return serializers.RegexField(
        r"^[a-z0-9_.-]{1,40}$", default="api",
        help_text="Where the numbers come from (manual, api, google_ads, ...): rows are "
        "upserted per (campaign, date, source).",
    )  # fmt: skip


class SpendRowInput(SpendDay):
    source = _source()


class SpendBulkInput(serializers.Serializer):
    source = _source()
    rows = SpendDay(many=True, allow_empty=False, max_length=MAX_BULK_ROWS)


class SpendBulkOutput(serializers.Serializer):
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()

    @staticmethod
    def of(result: UpsertResult, rows: int) -> dict[str, int]:
        return {"rows": rows, "created": result.created, "updated": result.updated,
                "unchanged": result.unchanged}  # fmt: skip
