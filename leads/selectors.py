"""Reads of the capture side."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.db.models.functions import Lower

from leads.models import CaptureForm, Lead, Submission, normalise_email


def leads_with_email(email: str) -> QuerySet[Lead]:
    """The lead (at most one) with this address in any case, through the unique index on
    lower(email)."""
    return Lead.objects.alias(email_lower=Lower("email")).filter(email_lower=normalise_email(email))


def suspected_spam() -> QuerySet[Submission]:
    """Posts the bot checks held back, newest first, for an admin to review."""
    return Submission.objects.filter(status=Submission.Status.SPAM).select_related("form")


def capture_form_by_key(key: str) -> CaptureForm | None:
    """The active form with this public key, or None (also for malformed keys)."""
    if not key or len(key) > 64:
        return None
    return CaptureForm.objects.filter(key=key, is_active=True).first()


def form_origins(form: CaptureForm, own_origin: str) -> set[str]:
    """Origins that may post to this form: its allowed list and CLM itself (hosted pages)."""
    allowed = {str(o).strip().rstrip("/").lower() for o in form.allowed_origins or []}
    if own_origin:
        allowed.add(own_origin)
    return allowed


def track_origins() -> set[str]:
    """Origins that may send page views: every active form's allowed origins plus settings."""
    cached = cache.get("leads:track-origins")
    if cached is None:
        cached = set(settings.CLM_TRACK_ALLOWED_ORIGINS)
        for origins in CaptureForm.objects.filter(is_active=True).values_list(
            "allowed_origins", flat=True
        ):
            cached |= {str(o).strip().rstrip("/").lower() for o in origins or []}
        cache.set("leads:track-origins", cached, 60)
    return cached
