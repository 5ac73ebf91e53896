"""nurture's share of an erasure (clm.events.PersonErasing): the addresses the person clicked
in nurture emails keep only their site; sends and enrollments stay (what nurture counts)."""

from __future__ import annotations

from django.db.models import Q

from clm import events
from clm.events import PersonErasing
from leads.redaction import origin
from nurture.models import EmailClick, EmailSend, Enrollment

ERASURE_ORDER = 20  # after crm (crm.privacy.ERASURE_ORDER)


def person_erase_nurture(event: PersonErasing) -> None:
    """Clicked addresses lose their path and query string (which may carry the person)."""
    person = event.person
    of_leads = Q(lead_id__in=person.lead_ids)
    send_ids = list(EmailSend.objects.filter(of_leads).values_list("pk", flat=True))
    person.rows[EmailSend] = send_ids
    person.rows[Enrollment] = list(Enrollment.objects.filter(of_leads).values_list("pk", flat=True))
    person.ids["send_id"] = send_ids
    clicks = list(EmailClick.objects.filter(send_id__in=send_ids))
    for click in clicks:
        click.url = origin(click.url)
    EmailClick.objects.bulk_update(clicks, ["url"])
    event.counts["email_clicks"] = len(clicks)


def connect() -> None:
    """Subscribe nurture's part of the erasure (NurtureConfig.ready)."""
    events.subscribe(PersonErasing, person_erase_nurture, order=ERASURE_ORDER)
