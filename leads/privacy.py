"""A person's rights over their data: export it, withdraw consent, erase it.

Erasure anonymises rather than deletes the lead: the row keeps its id, stage, owner and dates,
its touchpoints keep channel, campaign and time, its deals keep amount, stage and dates, so
every attribution result and ROI figure is the same before and after. Everything that says
who the person was goes: contact fields, raw submission payloads (also rejected ones posted
with the address), visitor ids, click ids and query strings, free-text notes, deal names,
admin log labels. An Erasure row records who erased and when, with an HMAC of the address.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from leads.models import Erasure, Lead, Submission, Touchpoint, Visitor

ERASED_DOMAIN = "erased.invalid"


def normalise_email(email: str) -> str:
    return str(email or "").strip().lower()


def email_hash(email: str) -> str:
    """HMAC-SHA256 of the normalised address: matchable later, not reversible without the key."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, normalise_email(email).encode(), hashlib.sha256).hexdigest()


def _lead(email: str) -> Lead | None:
    return Lead.objects.filter(email__iexact=normalise_email(email), erased_at__isnull=True).first()


def _submissions(email: str, lead: Lead | None) -> QuerySet[Submission]:
    posted = Q(payload__email__iexact=normalise_email(email))
    return Submission.objects.filter(posted | Q(lead=lead) if lead else posted)


def _rows(queryset: QuerySet, *fields: str) -> list[dict[str, Any]]:
    return list(queryset.values(*fields))


def person_export(*, email: str) -> dict[str, Any]:
    """Every row about the person with this email, as JSON-ready data (dates as ISO text)."""
    from crm.models import Activity, Deal, LeadFeedback, LeadHistory

    lead = _lead(email)
    data: dict[str, Any] = {
        "email": normalise_email(email),
        "exported_at": timezone.now(),
        "lead": None,
        "submissions": _rows(
            _submissions(email, lead).order_by("received_at"),
            "id", "received_at", "status", "reason", "payload", "form__name", "origin",
            "user_agent",
        ),
    }  # fmt: skip
    if lead is not None:
        data["lead"] = _rows(
            Lead.objects.filter(pk=lead.pk),
            "id", "email", "first_name", "last_name", "phone", "company", "custom",
            "stage", "owner__username", "form__name", "consent_given", "consent_version",
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
        data["activities"] = _rows(
            Activity.objects.filter(lead=lead).order_by("occurred_at"),
            "id", "kind", "outcome", "occurred_at", "duration", "notes", "by__username",
        )  # fmt: skip
        data["feedback"] = _rows(
            LeadFeedback.objects.filter(lead=lead).order_by("created_at"),
            "id", "rating", "reason__name", "note", "is_current", "by__username", "created_at",
        )  # fmt: skip
        data["history"] = _rows(
            LeadHistory.objects.filter(lead=lead), "field", "old", "new", "by__username", "at"
        )
        data["deals"] = _rows(
            Deal.objects.filter(lead=lead).order_by("created_at"),
            "id", "name", "amount", "stage__name", "close_reason", "closed_at",
            "expected_close_date", "created_at",
        )  # fmt: skip
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


@transaction.atomic
def consent_withdraw(*, email: str) -> Lead | None:
    """The person withdrew consent: consent cleared, left out of exports from now on."""
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


@dataclass(frozen=True, slots=True)
class ErasureResult:
    erasure: Erasure
    lead_id: int | None
    counts: dict[str, int]


def _without_query(url: str, *, keep_path: bool = True) -> str:
    """A URL without query string and fragment (where click ids, emails and tokens live)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path if keep_path else "", "", ""))


@transaction.atomic
def _erase_webhook_bodies(*, lead: Lead, email: str) -> int:
    """Webhook deliveries that carried the person (an event about their lead, or their address):
    the body is replaced by a stub naming the event, the receivers' answers are dropped."""
    from integrations.models import WebhookAttempt, WebhookDelivery

    about = (
        Q(body__icontains=normalise_email(email))
        | Q(body__contains=f'"lead_id":{lead.pk},')
        | Q(body__contains=f'"lead_id":{lead.pk}}}')
    )
    deliveries = list(WebhookDelivery.objects.filter(about).only("pk", "event"))
    for delivery in deliveries:
        delivery.body = json.dumps({"event": delivery.event, "erased": True})
    WebhookDelivery.objects.bulk_update(deliveries, ["body"])
    WebhookAttempt.objects.filter(delivery__in=deliveries).update(response_excerpt="")
    return len(deliveries)


def _erase_alerts(*, lead: Lead) -> int:
    """Alerts about the lead (contact SLA) name the person in their title."""
    from insights.models import Alert

    return Alert.objects.filter(key=f"lead:{lead.pk}").update(
        title=f"Lead {lead.pk} waited past the contact SLA"
    )


def person_erase(*, email: str, by: Any = None) -> ErasureResult:
    """Erase (anonymise) everything that identifies the person with this email.

    Attribution inputs are kept: the lead row (id, stage, owner, dates), its touchpoints'
    channel, campaign and time, and its deals' amounts, stages and dates.
    """
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from crm.models import Activity, Deal, LeadFeedback

    now = timezone.now()
    lead = Lead.objects.select_for_update().filter(pk=getattr(_lead(email), "pk", None)).first()
    counts: dict[str, int] = {}
    counts["submissions"] = _submissions(email, lead).update(
        payload={}, payload_hash="", reason="", user_agent="", ip_hash="", origin=""
    )
    if lead is not None:
        touches = list(Touchpoint.objects.filter(lead=lead))
        for touch in touches:
            touch.url = _without_query(touch.url)
            touch.referrer = _without_query(touch.referrer, keep_path=False)
            touch.click_ids = {}
            if touch.kind == Touchpoint.Kind.OFFLINE:
                touch.title = ""  # typed by sales about the person
        Touchpoint.objects.bulk_update(touches, ["url", "referrer", "click_ids", "title"])
        counts["touchpoints"] = len(touches)
        # Visitor ids are cookie identifiers of the person's browsers.
        counts["visitors"] = Visitor.objects.filter(lead=lead).delete()[0]
        counts["activities"] = Activity.objects.filter(lead=lead).update(notes="")
        counts["feedback"] = LeadFeedback.objects.filter(lead=lead).update(note="")
        deals = list(Deal.objects.filter(lead=lead))
        for deal in deals:
            deal.name, deal.close_reason, deal.updated_at = f"Deal {deal.pk}", "", now
        Deal.objects.bulk_update(deals, ["name", "close_reason", "updated_at"])
        counts["deals"] = len(deals)
        counts["webhook_deliveries"] = _erase_webhook_bodies(lead=lead, email=email)
        counts["alerts"] = _erase_alerts(lead=lead)
        counts["admin_log"] = LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Lead), object_id=str(lead.pk)
        ).update(object_repr=f"erased lead {lead.pk}", change_message="")
        Lead.objects.filter(pk=lead.pk).update(
            email=f"erased-{lead.pk}@{ERASED_DOMAIN}",
            first_name="",
            last_name="",
            phone="",
            company="",
            custom={},
            consent_given=False,
            consent_version="",
            consent_text="",
            consent_at=None,
            consent_page="",
            consent_withdrawn_at=lead.consent_withdrawn_at or now,
            erased_at=now,
        )
        counts["leads"] = 1
    erasure = Erasure.objects.create(
        email_hash=email_hash(email),
        lead_id=lead.pk if lead else None,
        by=by if getattr(by, "pk", None) else None,
        by_label=getattr(by, "username", "") or "",
        at=now,
        counts=counts,
    )
    return ErasureResult(erasure=erasure, lead_id=lead.pk if lead else None, counts=counts)
