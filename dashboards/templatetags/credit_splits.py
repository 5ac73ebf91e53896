"""The lead page's "Every credit explained" card: crm renders the page, this tag (top layer)
reads attribution's ledger for the lead's won deals, so crm imports nothing above it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from attribution import explain

register = template.Library()


@register.inclusion_tag("attribution/_lead_credits.html", takes_context=True)
def lead_credit_splits(context: template.Context, deals: Iterable[Any]) -> dict[str, Any]:
    """Each won deal of the lead page (already limited to what the viewer may see), split over
    its touches under every model; no query when the lead has no won deal."""
    won = sorted(
        (d for d in deals if d.stage.is_won),
        key=lambda d: (d.closed_at is not None, d.closed_at, d.pk),
        reverse=True,
    )
    return {
        "splits": explain.deal_splits(deals=won) if won else [],
        "currency": context.get("currency", ""),
    }
