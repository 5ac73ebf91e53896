"""integrations' share of an erasure (clm.events.PersonErasing): webhook deliveries that carried
the person become stubs naming their event; receivers' answers and errors go; their ad-platform
conversions are deleted."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Q

from clm import events
from clm.events import PersonErasing
from integrations.models import Conversion, WebhookAttempt, WebhookDelivery
from leads.redaction import Person

ERASURE_ORDER = 30  # after crm (crm.privacy.ERASURE_ORDER), whose deal ids and notes it reads


def _deliveries(person: Person) -> list[Any]:
    """Deliveries that carried the person: an event about their lead or deal, or their values."""
    about = person.text_query("body", "last_error")
    for key, ids in (("lead_id", person.lead_ids), ("deal_id", person.ids.get("deal_id", []))):
        for pk in ids:  # the bodies are compact JSON (no spaces), as signed and sent
            about |= Q(body__contains=f'"{key}":{pk},') | Q(body__contains=f'"{key}":{pk}}}')
    return list(WebhookDelivery.objects.filter(about).only("pk", "event", "last_error"))


def person_erase_integrations(event: PersonErasing) -> None:
    """Each body becomes a stub naming the event; the receivers' answers and errors go."""
    person = event.person
    deliveries = _deliveries(person)
    person.rows[WebhookDelivery] = [d.pk for d in deliveries]
    person.ids["delivery_id"] = [str(d.pk) for d in deliveries]
    for delivery in deliveries:
        delivery.body = json.dumps({"event": delivery.event, "erased": True})
        delivery.last_error = person.redact(delivery.last_error)
    WebhookDelivery.objects.bulk_update(deliveries, ["body", "last_error"])
    WebhookAttempt.objects.filter(
        Q(delivery__in=deliveries) | person.text_query("response_excerpt", "error")
    ).update(response_excerpt="", error="")
    event.counts["webhook_deliveries"] = len(deliveries)
    # Conversions carry the person's click ids and answers of the platforms: they go.
    _total, deleted = Conversion.objects.filter(lead_id__in=person.lead_ids).delete()
    event.counts["ad_conversions"] = deleted.get(Conversion._meta.label, 0)


def connect() -> None:
    """Subscribe integrations' part of the erasure (IntegrationsConfig.ready)."""
    events.subscribe(PersonErasing, person_erase_integrations, order=ERASURE_ORDER)
