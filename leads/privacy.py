"""A person's rights over their data: export it, withdraw consent (erasure: leads.erasure).

An Erasure row records who erased and when, with an HMAC of the address (email_hash).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from clm import events
from clm.events import PersonExporting
from leads.models import Lead, Submission, Touchpoint, Visitor, normalise_email
from leads.selectors import leads_with_email


def email_hash(email: str) -> str:
    """HMAC-SHA256 of the normalised address: matchable later, not reversible without the key."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, normalise_email(email).encode(), hashlib.sha256).hexdigest()


def _lead(email: str) -> Lead | None:
    return leads_with_email(email).filter(erased_at__isnull=True).first()


def _submissions(email: str, lead: Lead | None) -> QuerySet[Submission]:
    posted = Q(payload__email__iexact=normalise_email(email))
    return Submission.objects.filter(posted | Q(lead=lead) if lead else posted)


def _rows(queryset: QuerySet, *fields: str) -> list[dict[str, Any]]:
    return list(queryset.values(*fields))


def person_export(*, email: str) -> dict[str, Any]:
    """Every row about the person with this email, as JSON-ready data (dates as ISO text)."""
    lead = _lead(email)
    data: dict[str, Any] = {
        "email": normalise_email(email),
        "exported_at": timezone.now(),
        "lead": None,
        "submissions": _rows(
            _submissions(email, lead).order_by("received_at"),
            "id", "received_at", "status", "reason", "payload", "form__name", "origin",
            "user_agent", "heard_about", "heard_about_other",
        ),
    }  # fmt: skip
    if lead is not None:
        data["lead"] = _rows(
            Lead.objects.filter(pk=lead.pk),
            "id", "email", "first_name", "last_name", "phone", "company", "custom",
            "heard_about", "heard_about_other", "heard_about_edited_at", "stage",
            "owner__username", "form__name", "consent_given", "consent_version",
            "consent_text", "consent_at", "consent_page", "consent_withdrawn_at",
            "created_at", "last_contacted_at",
        )[0]  # fmt: skip
        data["visitors"] = _rows(
            Visitor.objects.filter(lead=lead).order_by("first_seen"), "id", "first_seen",
            "last_seen",
        )  # fmt: skip
        data["touchpoints"] = _rows(
            Touchpoint.objects.filter(lead=lead).order_by("occurred_at", "id"),
            "id", "kind", "occurred_at", "url", "referrer", "title", "utm_source", "utm_medium",
            "utm_campaign", "utm_term", "utm_content", "click_ids", "channel__name",
            "campaign__name",
        )  # fmt: skip
        # crm adds the activities, feedback, field history and deals.
        events.announce(PersonExporting(lead_id=lead.pk, data=data))
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


@transaction.atomic
def consent_withdraw(*, email: str) -> Lead | None:
    """The person withdrew consent: consent cleared (no anonymous post restores it), left out
    of exports from now on."""
    lead = _lead(email)
    if lead is None:
        return None
    lead.consent_given = False
    lead.consent_withdrawn_at = timezone.now()
    Lead.objects.filter(pk=lead.pk).update(
        consent_given=False, consent_withdrawn_at=lead.consent_withdrawn_at
    )
    return lead


def export_excluded_lead_ids(lead_ids: list[int]) -> set[int]:
    """Of these leads, those no export may include (consent withdrawn or erased)."""
    return set(
        Lead.objects.filter(pk__in=lead_ids)
        .filter(Q(consent_withdrawn_at__isnull=False) | Q(erased_at__isnull=False))
        .values_list("pk", flat=True)
    )
