"""Small, hand-checkable journeys stored through the ORM for attribution tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from campaigns.models import Channel
from crm.models import Deal, PipelineStage
from leads.models import Lead, Touchpoint

T0 = timezone.make_aware(datetime(2026, 6, 1, 12, 0))


def lead_with_journey(
    email: str, channels: list[str], *, days_apart: int = 1, start: datetime = T0
) -> Lead:
    """A lead whose touches are in `channels`, one per day; the last one created the lead."""
    lead = Lead.objects.create(email=email, created_at=start + timedelta(days=len(channels) - 1))
    touches = []
    for i, name in enumerate(channels):
        touches.append(
            Touchpoint.objects.create(
                kind=Touchpoint.Kind.FORM_SUBMIT if i == len(channels) - 1 else "page_view",
                occurred_at=start + timedelta(days=i * days_apart),
                lead=lead,
                channel=Channel.objects.get(name=name),
            )
        )
    lead.first_touch, lead.creation_touch, lead.latest_touch = touches[0], touches[-1], touches[-1]
    lead.save()
    return lead


def won_deal(lead: Lead, amount: str, *, days_after: int = 10) -> Deal:
    """A won deal on the lead, opened a day after its last touch."""
    opened = lead.created_at + timedelta(days=1)
    return Deal.objects.create(
        lead=lead,
        name=f"Deal {lead.email}",
        amount=Decimal(amount),
        stage=PipelineStage.objects.filter(is_won=True).first(),
        opportunity_created_at=opened,
        closed_at=opened + timedelta(days=days_after),
    )
