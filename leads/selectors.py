"""Reads of the capture side."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, QuerySet
from django.db.models.functions import Lower

from clm import roles
from clm.localcache import versioned
from leads.heard_about import DEFAULT_OPTIONS, OTHER, answer_label
from leads.models import CaptureForm, Lead, Submission, Touchpoint, normalise_email

# How many of the most used UTM sources and mediums the link builder hears of.
MAX_SEEN_UTM = 500


def leads_with_email(email: str) -> QuerySet[Lead]:
    """The lead (at most one) with this address in any case, through the unique index on
    lower(email)."""
    return Lead.objects.alias(email_lower=Lower("email")).filter(email_lower=normalise_email(email))


def leads_visible_to(user: Any) -> QuerySet[Lead]:
    """The leads `user` may see: all for admins, managers and marketers; a rep's own; else none
    (clm.roles.lead_scope). Every CRM page, form and API query starts from it (crm.selectors)."""
    scope = roles.lead_scope(user)
    if scope == "all":
        return Lead.objects.all()
    return Lead.objects.filter(owner=user) if scope == "own" else Lead.objects.none()


def suspected_spam() -> QuerySet[Submission]:
    """Posts the bot checks held back, newest first, for an admin to review."""
    return Submission.objects.filter(status=Submission.Status.SPAM).select_related("form")


CAPTURE_FORMS_VERSION = "capture-forms"


def capture_form_by_key(key: str) -> CaptureForm | None:
    """The active form with this public key, or None (also for malformed keys).

    Forms are kept per process (with their owner and campaign id) until any form or user
    changes (leads.apps bumps the version); unknown keys are not kept, so made-up keys cannot
    fill the memory.
    """
    if not key or len(key) > 64:
        return None
    forms: dict[str, CaptureForm] = versioned(CAPTURE_FORMS_VERSION, dict)
    form = forms.get(key)
    if form is None:
        form = CaptureForm.objects.select_related("owner").filter(key=key, is_active=True).first()
        if form is not None:
            forms[key] = form
    return form


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


def utm_values_seen() -> tuple[list[str], list[str]]:
    """The most used utm_source and utm_medium values of stored touches (cached 5 minutes):
    what the tracked-link builder suggests and compares new values with (campaigns.links)."""
    cached = cache.get("campaigns:seen-utm")
    if cached is not None:
        return cached
    found = []
    for name in ("utm_source", "utm_medium"):
        rows = (
            Touchpoint.objects.exclude(**{name: ""})
            .values_list(name)
            .annotate(n=Count("id"))
            .order_by("-n")[:MAX_SEEN_UTM]
        )
        found.append([value for value, _n in rows])
    result = (found[0], found[1])
    cache.set("campaigns:seen-utm", result, 300)
    return result


def active_form_slugs() -> list[str]:
    """The slugs of the active capture forms with a hosted landing page (/l/<slug>/)."""
    return list(
        CaptureForm.objects.filter(is_active=True, slug__isnull=False).values_list(
            "slug", flat=True
        )
    )


def heard_about_labels() -> dict[str, str]:
    """Label of every "How did you hear about us?" key: the forms' own (the first form, by
    name, that defines a key names it), else the default list's, and "Other"."""
    labels: dict[str, str] = {}
    for options in CaptureForm.objects.exclude(heard_about_options=[]).values_list(
        "heard_about_options", flat=True
    ):
        for option in options if isinstance(options, list) else []:
            if isinstance(option, dict) and isinstance(option.get("key"), str):
                labels.setdefault(option["key"], str(option.get("label") or option["key"]))
    for key, label in DEFAULT_OPTIONS:
        labels.setdefault(key, str(label))
    labels[OTHER] = answer_label(None, OTHER)
    return labels
