"""The lead page's "Every credit explained" card: crm renders the page, this tag (top layer)
reads attribution's ledger for the lead's won deals, so crm imports nothing above it."""

from __future__ import annotations

from typing import Any

from django import template

from attribution import explain

register = template.Library()


@register.inclusion_tag("attribution/_lead_credits.html", takes_context=True)
def lead_credit_splits(context: template.Context, lead: Any) -> dict[str, Any]:
    """Each won deal of `lead` the viewer may see, split over its touches under every model."""
    request = context.get("request")
    user = getattr(request, "user", None)
    deals = explain.won_deals_of_lead(lead_id=lead.pk, user=user) if user else []
    return {
        "splits": explain.deal_splits(deals=deals) if deals else [],
        "currency": context.get("currency", ""),
    }
