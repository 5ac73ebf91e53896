"""Query-string filters of the CRM API (django-filter); they narrow, selectors scope."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from crm import selectors
from crm.models import Activity, Deal, LeadFeedback, Task
from leads.models import Lead

MAX_ID = 2**63 - 1


class IdFilter(filters.NumberFilter):
    """A row id: a whole number that fits the column (else a 400, never a database error)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class LeadFilter(filters.FilterSet):
    stage = filters.MultipleChoiceFilter(choices=Lead.Stage.choices)
    owner = IdFilter(field_name="owner_id")
    unassigned = filters.BooleanFilter(field_name="owner", lookup_expr="isnull")
    channel = IdFilter(field_name="first_channel_id", label="First-touch channel id")
    campaign = IdFilter(field_name="first_campaign_id", label="First-touch campaign id")
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = filters.CharFilter(method="search", label="Search name, email, company")

    class Meta:
        model = Lead
        fields: list[str] = []

    def search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return selectors.leads_search(leads=queryset, q=value)


class ActivityFilter(filters.FilterSet):
    lead = IdFilter(field_name="lead_id")
    kind = filters.MultipleChoiceFilter(choices=Activity.Kind.choices)
    outcome = filters.MultipleChoiceFilter(choices=Activity.Outcome.choices)
    by = IdFilter(field_name="by_id")
    occurred_after = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Activity
        fields: list[str] = []


class DealFilter(filters.FilterSet):
    STATUS = [("open", "Open"), ("won", "Won"), ("lost", "Lost")]

    lead = IdFilter(field_name="lead_id")
    stage = IdFilter(field_name="stage_id")
    owner = IdFilter(field_name="owner_id")
    status = filters.ChoiceFilter(choices=STATUS, method="by_status")
    closed_after = filters.IsoDateTimeFilter(field_name="closed_at", lookup_expr="gte")
    closed_before = filters.IsoDateTimeFilter(field_name="closed_at", lookup_expr="lt")

    class Meta:
        model = Deal
        fields: list[str] = []

    def by_status(self, queryset: QuerySet[Deal], name: str, value: Any) -> QuerySet[Deal]:
        if value == "won":
            return queryset.filter(stage__is_won=True)
        if value == "lost":
            return queryset.filter(stage__is_lost=True)
        return queryset.filter(stage__is_won=False, stage__is_lost=False)


class FeedbackFilter(filters.FilterSet):
    lead = IdFilter(field_name="lead_id")
    rating = filters.ChoiceFilter(choices=LeadFeedback.Rating.choices)
    current = filters.BooleanFilter(field_name="is_current")

    class Meta:
        model = LeadFeedback
        fields: list[str] = []


class TaskFilter(filters.FilterSet):
    STATUS = [("open", "Open"), ("done", "Done"), ("overdue", "Overdue")]

    lead = IdFilter(field_name="lead_id")
    assignee = IdFilter(field_name="assignee_id")
    kind = filters.MultipleChoiceFilter(choices=Task.Kind.choices)
    status = filters.ChoiceFilter(choices=STATUS, method="by_status")
    due_after = filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = Task
        fields: list[str] = []

    def by_status(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        if value == "done":
            return queryset.filter(done_at__isnull=False)
        queryset = queryset.filter(done_at__isnull=True)
        return queryset.filter(due_at__lt=timezone.now()) if value == "overdue" else queryset
