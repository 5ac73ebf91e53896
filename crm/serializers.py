"""API shapes of the CRM: Output serializers list their fields explicitly; Input serializers
validate a write and choose related rows only among those the user may see or pick.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from campaigns.models import Campaign
from crm import selectors
from crm.models import (
    Activity,
    Deal,
    DisqualifyReason,
    LeadFeedback,
    LeadHistory,
    PipelineStage,
    QualityReason,
    Task,
)
from crm.permissions import may_manage
from leads.models import Lead


def _user_label(user: Any) -> str | None:
    return (user.get_full_name() or user.username) if user is not None else None


class _VisibleLeadsMixin:
    """Limits the `lead` field to the leads the requesting user may see."""

    def _user(self) -> Any:
        request = self.context.get("request")  # type: ignore[attr-defined]
        return getattr(request, "user", None)

    def _limit_leads(self) -> None:
        field = self.fields.get("lead")  # type: ignore[attr-defined]
        if field is not None and not field.read_only:
            field.queryset = selectors.leads_visible_to(self._user())

    def _owner_for_managers_only(self) -> None:
        # Without a request (schema generation) the field stays as declared.
        user = self._user()
        if user is not None and "owner" in self.fields and not may_manage(user):  # type: ignore[attr-defined]
            # Reps cannot choose an owner: the field becomes read-only, a sent value is ignored.
            self.fields["owner"] = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[attr-defined]


# --- Leads ---------------------------------------------------------------------------------


class LeadOutput(serializers.ModelSerializer):
    # Stored addresses may be internationalised (e.g. a non-ASCII local part), which the
    # OpenAPI "email" format does not cover: plain strings in answers.
    email = serializers.CharField(read_only=True)
    owner_name = serializers.SerializerMethodField()
    first_channel = serializers.CharField(
        source="first_touch.channel.name", read_only=True, default=None, allow_null=True
    )
    first_campaign = serializers.IntegerField(
        source="first_touch.campaign_id", read_only=True, default=None, allow_null=True
    )
    quality = serializers.CharField(
        source="current_rating", read_only=True, default=None, allow_null=True
    )
    page_url = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "company",
            "phone",
            "stage",
            "owner",
            "owner_name",
            "first_channel",
            "first_campaign",
            "quality",
            "created_at",
            "last_contacted_at",
            "page_url",
        ]
        read_only_fields = fields

    def get_owner_name(self, lead: Lead) -> str | None:
        return _user_label(lead.owner)

    def get_page_url(self, lead: Lead) -> str:
        return reverse("crm:lead", args=[lead.pk])


class LeadUpdateInput(_VisibleLeadsMixin, serializers.Serializer):
    """PATCH a lead: `stage` (with `disqualify_reason` to disqualify); `owner` for managers."""

    stage = serializers.ChoiceField(choices=Lead.Stage.choices, required=False)
    disqualify_reason = serializers.PrimaryKeyRelatedField(
        queryset=selectors.disqualify_reasons(), required=False, allow_null=True
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=selectors.assignable_owners(), required=False, allow_null=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner_for_managers_only()


class LeadHistoryOutput(serializers.ModelSerializer):
    class Meta:
        model = LeadHistory
        fields = ["id", "field", "old", "new", "disqualify_reason", "by", "at"]
        read_only_fields = fields


# --- Activities ----------------------------------------------------------------------------


class ActivityOutput(serializers.ModelSerializer):
    by_name = serializers.SerializerMethodField()
    outcome = serializers.ChoiceField(
        choices=Activity.Outcome.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Activity
        fields = [
            "id",
            "lead",
            "kind",
            "outcome",
            "occurred_at",
            "duration",
            "notes",
            "channel",
            "campaign",
            "touchpoint",
            "by",
            "by_name",
            "created_at",
        ]
        read_only_fields = fields

    def get_by_name(self, activity: Activity) -> str | None:
        return _user_label(activity.by)


class ActivityCreateInput(_VisibleLeadsMixin, serializers.Serializer):
    """Log an activity; `channel`/`campaign` only for events and inbound calls."""

    lead = serializers.PrimaryKeyRelatedField(queryset=Lead.objects.none())
    kind = serializers.ChoiceField(choices=Activity.Kind.choices)
    outcome = serializers.ChoiceField(
        choices=Activity.Outcome.choices, required=False, allow_blank=True, default=""
    )
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    duration = serializers.DurationField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)
    channel = serializers.PrimaryKeyRelatedField(
        queryset=selectors.active_channels(), required=False, allow_null=True, default=None
    )
    campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.all(), required=False, allow_null=True, default=None
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit_leads()


class ActivityUpdateInput(serializers.Serializer):
    """Correct an activity: outcome, duration, notes, time."""

    outcome = serializers.ChoiceField(
        choices=Activity.Outcome.choices, required=False, allow_blank=True
    )
    occurred_at = serializers.DateTimeField(required=False)
    duration = serializers.DurationField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10000)


# --- Deals ---------------------------------------------------------------------------------


class DealOutput(serializers.ModelSerializer):
    currency = serializers.SerializerMethodField()
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    is_won = serializers.BooleanField(source="stage.is_won", read_only=True)
    is_lost = serializers.BooleanField(source="stage.is_lost", read_only=True)

    class Meta:
        model = Deal
        fields = [
            "id",
            "lead",
            "name",
            "amount",
            "currency",
            "expected_close_date",
            "stage",
            "stage_name",
            "is_won",
            "is_lost",
            "close_reason",
            "closed_at",
            "owner",
            "account",
            "opportunity_created_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_currency(self, deal: Deal) -> str:
        return settings.CLM_CURRENCY


class DealCreateInput(_VisibleLeadsMixin, serializers.Serializer):
    """Open a deal on a lead (which becomes an opportunity); `owner` for managers."""

    lead = serializers.PrimaryKeyRelatedField(queryset=Lead.objects.none())
    name = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), default=Decimal("0")
    )
    expected_close_date = serializers.DateField(required=False, allow_null=True, default=None)
    stage = serializers.PrimaryKeyRelatedField(
        queryset=selectors.open_pipeline_stages(), required=False, allow_null=True, default=None
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=selectors.assignable_owners(), required=False, allow_null=True, default=None
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit_leads()
        self._owner_for_managers_only()


class DealUpdateInput(_VisibleLeadsMixin, serializers.Serializer):
    """Change a deal; a won/lost `stage` closes it (`close_reason` needed when lost)."""

    name = serializers.CharField(max_length=200, required=False)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), required=False
    )
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    stage = serializers.PrimaryKeyRelatedField(queryset=selectors.pipeline_stages(), required=False)
    close_reason = serializers.CharField(max_length=300, required=False, allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=selectors.assignable_owners(), required=False, allow_null=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner_for_managers_only()


class PipelineStageOutput(serializers.ModelSerializer):
    class Meta:
        model = PipelineStage
        fields = ["id", "name", "slug", "order", "is_won", "is_lost"]
        read_only_fields = fields


class DisqualifyReasonOutput(serializers.ModelSerializer):
    class Meta:
        model = DisqualifyReason
        fields = ["id", "name"]
        read_only_fields = fields


class QualityReasonOutput(serializers.ModelSerializer):
    class Meta:
        model = QualityReason
        fields = ["id", "name", "applies_to"]
        read_only_fields = fields


# --- Feedback ------------------------------------------------------------------------------


class FeedbackOutput(serializers.ModelSerializer):
    reason_name = serializers.CharField(source="reason.name", read_only=True, default=None)

    class Meta:
        model = LeadFeedback
        fields = [
            "id",
            "lead",
            "rating",
            "reason",
            "reason_name",
            "note",
            "is_current",
            "by",
            "created_at",
        ]
        read_only_fields = fields


class FeedbackCreateInput(_VisibleLeadsMixin, serializers.Serializer):
    """Rate a lead; the new rating becomes the current one."""

    lead = serializers.PrimaryKeyRelatedField(queryset=Lead.objects.none())
    rating = serializers.ChoiceField(choices=LeadFeedback.Rating.choices)
    reason = serializers.PrimaryKeyRelatedField(
        queryset=selectors.quality_reasons(), required=False, allow_null=True, default=None
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit_leads()


class QualityRowOutput(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    leads = serializers.IntegerField()
    rated = serializers.IntegerField()
    good = serializers.IntegerField()
    poor = serializers.IntegerField()
    good_share = serializers.FloatField(allow_null=True)


class TaskOutput(serializers.ModelSerializer):
    """A follow-up: what, when, for whom, and whether it is done or reminded."""

    assignee_name = serializers.SerializerMethodField()
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id", "lead", "kind", "title", "due_at", "done_at", "assignee", "assignee_name",
            "reminder_sent_at", "is_overdue", "created_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_assignee_name(self, task: Task) -> str | None:
        return _user_label(task.assignee)

    def get_is_overdue(self, task: Task) -> bool:
        return task.done_at is None and task.due_at < timezone.now()


class TaskCreateInput(_VisibleLeadsMixin, serializers.Serializer):
    """A follow-up on a visible lead; `assignee` (managers only) defaults to the lead's owner."""

    lead = serializers.PrimaryKeyRelatedField(queryset=Lead.objects.none())
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Task.Kind.choices, default=Task.Kind.CALL)
    due_at = serializers.DateTimeField()
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=selectors.assignable_owners(), required=False, allow_null=True, default=None
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit_leads()


class TaskUpdateInput(serializers.Serializer):
    """Change a follow-up: title, kind, due time, assignee (managers), done or not."""

    title = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=Task.Kind.choices, required=False)
    due_at = serializers.DateTimeField(required=False)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=selectors.assignable_owners(), required=False, allow_null=True
    )
    done = serializers.BooleanField(required=False)
