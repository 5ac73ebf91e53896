"""Test data for the CRM: leads with a journey, deals, activities (set-up only; tests act
through services or HTTP)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from crm.models import Activity, Deal, PipelineStage
from leads.models import Lead
from leads.tests.factories import LeadFactory, TouchpointFactory
from leads.touches import lead_refresh_touches


def stage(slug: str) -> PipelineStage:
    return PipelineStage.objects.get(slug=slug)


def lead_with_journey(
    *, owner: Any = None, touches: list[dict[str, Any]] | None = None, **fields: Any
) -> Lead:
    """A lead and its touchpoints (first touch set), e.g. touches=[{"channel_name": "Email"}]."""
    lead = LeadFactory(owner=owner, **fields)
    for spec in touches or [{"channel_name": "Direct"}]:
        TouchpointFactory(lead=lead, **spec)
    lead_refresh_touches(lead=lead)
    return lead


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    lead = factory.SubFactory(LeadFactory)
    name = factory.Sequence(lambda n: f"Deal {n}")
    amount = Decimal("1000.00")
    stage = factory.LazyFunction(lambda: stage("qualification"))
    owner = factory.LazyAttribute(lambda o: o.lead.owner)
    opportunity_created_at = factory.LazyFunction(timezone.now)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    lead = factory.SubFactory(LeadFactory)
    kind = Activity.Kind.CALL
    outcome = Activity.Outcome.CONNECTED
    occurred_at = factory.LazyFunction(timezone.now)
    by = factory.LazyAttribute(lambda o: o.lead.owner)
