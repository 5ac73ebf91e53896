"""Sales' verdict on a lead's quality, fed back to marketing per channel and campaign."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from crm.models import LeadFeedback, QualityReason
from crm.permissions import Actor, ensure_may_change_lead
from leads.models import Lead


@transaction.atomic
def feedback_rate(
    *,
    lead: Lead,
    rating: str,
    by: Actor,
    reason: QualityReason | None = None,
    note: str = "",
) -> LeadFeedback:
    """Rate a lead good or poor fit; the new rating is current, the previous ones are kept."""
    ensure_may_change_lead(by, lead)
    errors: dict[str, str] = {}
    if rating not in LeadFeedback.Rating.values:
        errors["rating"] = f"Unknown rating “{rating}”."
    elif reason is None and rating == LeadFeedback.Rating.POOR:
        errors["reason"] = "Say why the lead is a poor fit."
    elif reason is not None and reason.applies_to not in (rating, QualityReason.AppliesTo.ANY):
        errors["reason"] = f"“{reason}” is not a reason for a {rating} fit."
    elif reason is not None and not reason.is_active:
        errors["reason"] = "This reason is no longer in use."
    if errors:
        raise ValidationError(errors)
    # Lock the lead so two ratings at once cannot both end up current.
    Lead.objects.select_for_update().only("pk").get(pk=lead.pk)
    LeadFeedback.objects.filter(lead_id=lead.pk, is_current=True).update(is_current=False)
    return LeadFeedback.objects.create(
        lead=lead, rating=rating, reason=reason, note=note.strip(), by=by, is_current=True
    )
