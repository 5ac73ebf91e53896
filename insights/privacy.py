"""insights' share of an erasure (clm.events.PersonErasing): alerts about the person's leads
(the contact SLA names them in its title) lose the person's values."""

from __future__ import annotations

from django.db.models import Q

from clm import events
from clm.events import PersonErasing
from insights.models import Alert
from leads.redaction import found

ERASURE_ORDER = 40  # after crm (crm.privacy.ERASURE_ORDER), whose notes are the person's values


def person_erase_insights(event: PersonErasing) -> None:
    """An alert about the person's lead loses every value of theirs; one that names them, the
    strong ones (address, full name, ids)."""
    person = event.person
    about = Q(pk__in=[])
    for lead_id in person.lead_ids:
        about |= Q(key=f"lead:{lead_id}") | Q(data__lead_id=lead_id)
    rows = found(Alert.objects.all(), about, person.text_query("title", "detail"))
    for alert, linked in rows:
        lead_id = alert.data.get("lead_id") if isinstance(alert.data, dict) else None
        if linked and lead_id:
            alert.title = f"Lead {lead_id} (erased)"
        alert.title = person.redact(alert.title, everything=linked)
        alert.detail = person.redact(alert.detail, everything=linked)
        alert.data = person.redact(alert.data, everything=linked)
    Alert.objects.bulk_update([alert for alert, _ in rows], ["title", "detail", "data"])
    event.counts["alerts"] = len(rows)


def connect() -> None:
    """Subscribe insights' part of the erasure (InsightsConfig.ready)."""
    events.subscribe(PersonErasing, person_erase_insights, order=ERASURE_ORDER)
