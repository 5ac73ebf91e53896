"""Erasure of a person (right to erasure): every value that says who they were goes, every
figure stays.

The lead row keeps its id, stage, owner and dates; its touchpoints keep kind, channel,
campaign and time; its deals keep amount, stage and dates: every attribution result and ROI
figure is the same before and after. What goes: contact fields and custom values, raw
submission payloads (also rejected ones posted with the address), visitor ids, page titles,
paths and query strings, UTM terms and contents (and sources, mediums and campaigns that are
not a campaign's own tags), click ids, notes, deal names, nurture click addresses, webhook
bodies, alert texts, outbox and dead-letter texts, admin log labels.

Rows of the log-like tables (outbox, dead letters, webhooks, admin log, alerts) are found two
ways: by the ids they carry (lead, submission, deal, delivery ...): every value of the person in
them is replaced by "[erased]"; and by a text search for the person's unmistakable ("strong")
values (address, full name, phone, visitor and click ids): in such a row, which may be about
someone else (a colleague's form message naming the person), only those are replaced.

One transaction: the lead rows are locked first (SELECT ... FOR UPDATE, which PostgreSQL only
allows inside a transaction), so a capture or a CRM write cannot interleave.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit, urlunsplit

from django.apps import apps
from django.db import models, transaction
from django.db.models import Model, Q
from django.utils import timezone

from campaigns.models import Campaign
from leads.models import Erasure, Lead, Submission, Touchpoint, Visitor
from leads.privacy import email_hash, normalise_email
from leads.selectors import leads_with_email
from outbox.models import DeadLetter, OutboxMessage

ERASED_DOMAIN = "erased.invalid"
REDACTED = "[erased]"
# Shorter values (initials, "on", "12") would redact half of any text they are searched in.
MIN_VALUE_LENGTH = 3
# Payload values that say nothing about the person.
GENERIC_VALUES = frozenset({"yes", "true", "false", "off", "none", "null"})
# Payload keys whose values are the form's wording, not the person's.
GENERIC_KEYS = frozenset({"consent", "submission_id", "website"})
UTM_KEPT_IF_CAMPAIGN = ("utm_source", "utm_medium", "utm_campaign")
# Searched for in texts about the person unless a campaign's; a medium ("email", "cpc") is the
# vocabulary of channels, never the person's (it is still cleared on their touchpoints).
UTM_PERSONAL = ("utm_source", "utm_campaign")
# The apps whose texts the last sweep searches for the person (Django's own are handled above:
# the admin log; users are staff, not people whose data is erased).
SWEPT_APPS = ("clm", "campaigns", "leads", "crm", "attribution", "nurture", "insights", "outbox",
              "integrations")  # fmt: skip
# Large tables whose texts are the machine's own words (model names, rollup keys, score
# factors), and touchpoints (the person's own are rewritten; the table is too large to scan).
NOT_SWEPT = frozenset({
    "leads.Touchpoint", "leads.Erasure", "attribution.AttributionResult",
    "attribution.AttributionSummary", "attribution.CreditLedger", "attribution.RunPartition",
    "crm.DailyCount", "crm.RollupMark", "insights.LeadScore", "insights.ChannelInterval",
})  # fmt: skip
CLASSIFIER_MARKERS = frozenset({"", "(direct)", "(none)"})  # campaigns.channeling


@dataclass(frozen=True, slots=True)
class ErasureResult:
    erasure: Erasure
    lead_id: int | None
    counts: dict[str, int]


@dataclass(slots=True)
class _Person:
    """What identifies the person: the rows about them and the values to remove."""

    email: str
    lead_ids: list[int] = field(default_factory=list)
    submission_ids: list[int] = field(default_factory=list)
    visitor_ids: list[str] = field(default_factory=list)
    deal_ids: list[int] = field(default_factory=list)
    values: set[str] = field(default_factory=set)  # every value, lower case
    strong: set[str] = field(default_factory=set)  # values nobody else has, lower case
    _patterns: dict[bool, re.Pattern[str] | None] = field(default_factory=dict)

    def add(self, *values: Any, strong: bool = False) -> None:
        for value in values:
            for text in _strings(value):
                text = text.strip().lower()
                if len(text) >= MIN_VALUE_LENGTH and text not in GENERIC_VALUES:
                    self.values.add(text)
                    if strong:
                        self.strong.add(text)
        self._patterns.clear()

    def add_url(self, url: str) -> None:
        """A URL's path, query string and query values (each may carry the person)."""
        try:
            parts = urlsplit(url or "")
        except ValueError:
            self.add(url)
            return
        if parts.path.strip("/"):
            self.add(parts.path, unquote(parts.path))
            self.add(*(segment for segment in parts.path.split("/") if segment))
        if parts.query:
            self.add(parts.query, *(value for _key, value in parse_qsl(parts.query)))
        if parts.fragment:
            self.add(parts.fragment)

    def redact(self, value: Any, *, everything: bool = True) -> Any:
        """The value (text or JSON) with the person's values replaced by REDACTED: all of them
        in a row about the person, only the strong ones in a row that merely names them."""
        values = self.values if everything else self.strong
        if not values:
            return value
        if self._patterns.get(everything) is None:
            alternatives = sorted(values, key=len, reverse=True)
            self._patterns[everything] = re.compile(
                "|".join(re.escape(v) for v in alternatives), re.IGNORECASE
            )
        pattern = self._patterns[everything]
        if isinstance(value, str):
            return pattern.sub(REDACTED, value)
        if isinstance(value, dict):  # keys are field names
            return {k: self.redact(v, everything=everything) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact(v, everything=everything) for v in value]
        return value

    def text_query(self, *fields: str) -> Q:
        """Rows whose text fields contain a strong value (the address, full name, ids)."""
        query = Q(pk__in=[])
        for name in fields:
            for value in self.strong:
                query |= Q(**{f"{name}__icontains": value})
        return query


def _strings(value: Any) -> Iterator[str]:
    """The text values inside a value (JSON walked; numbers and booleans are not text)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _strings(item)


def _origin(url: str) -> str:
    """Scheme and host of a URL: its path and query string may carry the person."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, parts.netloc, "", "", "")) if parts.netloc else ""


def _campaign_tags() -> dict[str, set[str]]:
    """The UTM tags campaigns are defined by: the marketer's values, not the person's."""

    tags: dict[str, set[str]] = {name: set() for name in UTM_KEPT_IF_CAMPAIGN}
    for row in Campaign.objects.values(*UTM_KEPT_IF_CAMPAIGN):
        for name, value in row.items():
            if value:
                tags[name].add(value.strip().lower())
    return tags


def _collect(email: str, leads: list[Lead], submissions: list[Submission]) -> _Person:
    """Every value of the person, read before any of it is cleared."""
    from crm.models import Activity, Deal, LeadFeedback

    person = _Person(email=email, lead_ids=[lead.pk for lead in leads])
    person.submission_ids = [s.pk for s in submissions]
    addresses = {email, *(lead.email for lead in leads)}
    for address in addresses:
        person.add(address, quote(address), quote(address, safe=""), strong=True)
    for lead in leads:
        if lead.first_name and lead.last_name:  # a first name alone is other people's too
            full_name = f"{lead.first_name} {lead.last_name}"
            person.add(full_name, quote_plus(full_name), quote(full_name), strong=True)
        digits = re.sub(r"\D", "", lead.phone)
        person.add(lead.phone, strong=len(digits) >= 7)
        person.add(lead.first_name, lead.last_name, lead.company, lead.custom)
        person.add_url(lead.consent_page)
    for submission in submissions:
        payload = submission.payload if isinstance(submission.payload, dict) else {}
        person.add(*(v for k, v in payload.items() if k not in GENERIC_KEYS and "utm_" not in k))
        for key in ("landing_url", "referrer"):
            if isinstance(payload.get(key), str):
                person.add_url(payload[key])
    person.visitor_ids = list(
        Visitor.objects.filter(lead_id__in=person.lead_ids).values_list("pk", flat=True)
    )
    person.add(person.visitor_ids, strong=True)
    tags = _campaign_tags()
    for touch in _touchpoints(person):
        person.add(touch.title, touch.utm_term, touch.utm_content)
        person.add(*(touch.click_ids or {}).values(), strong=True)
        for name in UTM_PERSONAL:
            value = getattr(touch, name)
            if value and value.strip().lower() not in tags[name]:
                person.add(value)
        person.add_url(touch.url)
        person.add_url(touch.referrer)
    for submission in submissions:  # utm values posted with the form, unless a campaign's own
        payload = submission.payload if isinstance(submission.payload, dict) else {}
        for key in ("utm_term", "utm_content", *UTM_PERSONAL):
            value = payload.get(key)
            if isinstance(value, str) and value.strip().lower() not in tags.get(key, set()):
                person.add(value)
    person.add(
        *Activity.objects.filter(lead_id__in=person.lead_ids).values_list("notes", flat=True)
    )
    person.add(
        *LeadFeedback.objects.filter(lead_id__in=person.lead_ids).values_list("note", flat=True)
    )
    for pk, name, reason in Deal.objects.filter(lead_id__in=person.lead_ids).values_list(
        "pk", "name", "close_reason"
    ):
        person.deal_ids.append(pk)
        person.add(name, reason)
    return person


def _rows_of(person: _Person) -> dict[type[Model], list[Any]]:
    """The ids of every row about the person, per model (what admin log entries point at)."""
    from crm.models import Activity, Deal, LeadFeedback
    from nurture.models import EmailSend, Enrollment

    of_leads = Q(lead_id__in=person.lead_ids)
    return {
        Lead: person.lead_ids,
        Submission: person.submission_ids,
        Visitor: person.visitor_ids,
        Touchpoint: list(_touchpoints(person).values_list("pk", flat=True)),
        Deal: person.deal_ids,
        Activity: list(Activity.objects.filter(of_leads).values_list("pk", flat=True)),
        LeadFeedback: list(LeadFeedback.objects.filter(of_leads).values_list("pk", flat=True)),
        EmailSend: list(EmailSend.objects.filter(of_leads).values_list("pk", flat=True)),
        Enrollment: list(Enrollment.objects.filter(of_leads).values_list("pk", flat=True)),
    }


def _touchpoints(person: _Person) -> Any:
    """The person's touchpoints: of their leads, their browsers and their submissions."""
    return Touchpoint.objects.filter(
        Q(lead_id__in=person.lead_ids)
        | Q(visitor_id__in=person.visitor_ids)
        | Q(submission_id__in=person.submission_ids)
    )


def _erase_touchpoints(person: _Person) -> int:
    """Kind, channel, campaign and time stay (what attribution reads); what the person typed,
    read, came from or was tagged with goes. A campaign's own UTM tags stay (the marketer's)."""
    tags = _campaign_tags()
    touches = list(_touchpoints(person))
    for touch in touches:
        for name in UTM_KEPT_IF_CAMPAIGN:
            if getattr(touch, name).strip().lower() not in tags[name]:
                setattr(touch, name, "")
        # The classifier's effective source and medium: a campaign's tags or its own markers
        # stay; a referrer's host (maybe the person's own site) or a personal tag goes.
        for name, kept in (("source", tags["utm_source"]), ("medium", tags["utm_medium"])):
            if getattr(touch, name).strip().lower() not in kept | CLASSIFIER_MARKERS:
                setattr(touch, name, "")
        touch.utm_term = touch.utm_content = touch.title = touch.referrer = ""
        touch.url, touch.click_ids = _origin(touch.url), {}
    Touchpoint.objects.bulk_update(
        touches,
        ["url", "referrer", "title", "click_ids", "source", "medium", "utm_term", "utm_content",
         *UTM_KEPT_IF_CAMPAIGN],
        batch_size=500,
    )  # fmt: skip
    return len(touches)


def _webhook_deliveries(person: _Person) -> list[Any]:
    """Deliveries that carried the person: an event about their lead or deal, or their values."""
    from integrations.models import WebhookDelivery

    about = person.text_query("body", "last_error")
    for key, ids in (("lead_id", person.lead_ids), ("deal_id", person.deal_ids)):
        for pk in ids:  # the bodies are compact JSON (no spaces), as signed and sent
            about |= Q(body__contains=f'"{key}":{pk},') | Q(body__contains=f'"{key}":{pk}}}')
    return list(WebhookDelivery.objects.filter(about).only("pk", "event", "last_error"))


def _erase_webhooks(person: _Person, deliveries: list[Any]) -> int:
    """Each body becomes a stub naming the event; the receivers' answers and errors go."""
    from integrations.models import WebhookAttempt, WebhookDelivery

    for delivery in deliveries:
        delivery.body = json.dumps({"event": delivery.event, "erased": True})
        delivery.last_error = person.redact(delivery.last_error)
    WebhookDelivery.objects.bulk_update(deliveries, ["body", "last_error"])
    WebhookAttempt.objects.filter(
        Q(delivery__in=deliveries) | person.text_query("response_excerpt", "error")
    ).update(response_excerpt="", error="")
    return len(deliveries)


def _found(queryset: Any, linked: Q, named: Q) -> list[tuple[Any, bool]]:
    """Rows about the person (found by an id they carry: True) or naming them (False)."""
    linked_ids = set(queryset.filter(linked).values_list("pk", flat=True))
    return [(row, row.pk in linked_ids) for row in queryset.filter(linked | named)]


def _erase_alerts(person: _Person) -> int:
    """Alerts about the person's leads (contact SLA) name them in their title."""
    from insights.models import Alert

    about = Q(pk__in=[])
    for lead_id in person.lead_ids:
        about |= Q(key=f"lead:{lead_id}") | Q(data__lead_id=lead_id)
    found = _found(Alert.objects.all(), about, person.text_query("title", "detail"))
    for alert, linked in found:
        lead_id = alert.data.get("lead_id") if isinstance(alert.data, dict) else None
        if linked and lead_id:
            alert.title = f"Lead {lead_id} (erased)"
        alert.title = person.redact(alert.title, everything=linked)
        alert.detail = person.redact(alert.detail, everything=linked)
        alert.data = person.redact(alert.data, everything=linked)
    Alert.objects.bulk_update([alert for alert, _ in found], ["title", "detail", "data"])
    return len(found)


def _by_ids(field_name: str, ids_of: dict[str, list[Any]]) -> Q:
    """Rows whose JSON `field_name` names one of the person's rows (lead_id=..., ...)."""
    query = Q(pk__in=[])
    for key, ids in ids_of.items():
        if ids:
            query |= Q(**{f"{field_name}__{key}__in": ids})
    return query


def _erase_outbox(person: _Person, *, delivery_ids: list[str], send_ids: list[int]) -> int:
    """Outbox messages and dead letters about the person: the texts (errors, tracebacks, kwargs)
    lose every value of the person; the ids in the kwargs stay so the work can still run."""

    ids_of = {
        "lead_id": person.lead_ids, "submission_id": person.submission_ids,
        "deal_id": person.deal_ids, "delivery_id": delivery_ids, "send_id": send_ids,
    }  # fmt: skip
    messages = _found(
        OutboxMessage.objects.all(), _by_ids("kwargs", ids_of), person.text_query("last_error")
    )
    for message, linked in messages:
        message.kwargs = person.redact(message.kwargs, everything=linked)
        message.last_error = person.redact(message.last_error, everything=linked)
    OutboxMessage.objects.bulk_update([m for m, _ in messages], ["kwargs", "last_error"])
    letters = _found(
        DeadLetter.objects.all(),
        _by_ids("kwargs", ids_of),
        person.text_query("error", "traceback"),
    )
    for letter, linked in letters:
        letter.args = person.redact(letter.args, everything=linked)
        letter.kwargs = person.redact(letter.kwargs, everything=linked)
        letter.error = person.redact(letter.error, everything=linked)
        letter.traceback = person.redact(letter.traceback, everything=linked)
    DeadLetter.objects.bulk_update(
        [letter for letter, _ in letters], ["args", "kwargs", "error", "traceback"]
    )
    return len(messages) + len(letters)


def _erase_admin_log(person: _Person, objects: dict[type[Model], list[Any]]) -> int:
    """Admin log entries of the person's rows lose their label and message; any other entry that
    names the person loses the person's values."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    about = Q(pk__in=[])
    for model, ids in objects.items():
        if ids:
            content_type = ContentType.objects.get_for_model(model)
            about |= Q(content_type=content_type, object_id__in=[str(pk) for pk in ids])
    named = person.text_query("object_repr", "change_message")
    found = _found(LogEntry.objects.select_related("content_type"), about, named)
    for entry, linked in found:
        if linked:
            label = entry.content_type.name if entry.content_type else "row"
            entry.object_repr = f"{label} {entry.object_id} (erased)"[:200]
            entry.change_message = ""
        else:
            entry.object_repr = person.redact(entry.object_repr, everything=False)[:200]
            entry.change_message = person.redact(entry.change_message, everything=False)
    entries = [entry for entry, _ in found]
    LogEntry.objects.bulk_update(entries, ["object_repr", "change_message"])
    return len(entries)


def _sweep(person: _Person) -> int:
    """The net under the rest: any other text of the project's apps that still names the person
    (a campaign note, a segment rule, another lead's custom field ...) loses the strong values.

    Unique and choice fields are left alone (a person's value is never one of them), and so are
    the NOT_SWEPT tables.
    """
    if not person.strong:
        return 0
    text_fields = (models.CharField, models.TextField, models.JSONField)
    changed = 0
    for label in SWEPT_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.label in NOT_SWEPT:
                continue
            fields = [
                f for f in model._meta.concrete_fields
                if isinstance(f, text_fields) and not (f.primary_key or f.unique or f.choices)
            ]  # fmt: skip
            if not fields:
                continue
            named = person.text_query(*(f.name for f in fields))
            for row in model._base_manager.filter(named).only("pk", *(f.name for f in fields)):
                values = {}
                for f in fields:
                    value = person.redact(getattr(row, f.name), everything=False)
                    if isinstance(value, str) and f.max_length:
                        value = value[: f.max_length]
                    if value != getattr(row, f.name):
                        values[f.name] = value
                if values:
                    model._base_manager.filter(pk=row.pk).update(**values)
                    changed += 1
    return changed


def _erase_lead(lead: Lead, *, now: Any) -> None:
    """The row stays (id, stage, owner, dates: what attribution and the CRM count)."""
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


@transaction.atomic
def person_erase(*, email: str, by: Any = None) -> ErasureResult:
    """Erase (anonymise) everything that identifies the person with this email.

    Attribution inputs are kept: the lead row (id, stage, owner, dates), its touchpoints' kind,
    channel, campaign and time, and its deals' amounts, stages and dates.
    """
    from crm.models import Activity, Deal, LeadFeedback, Task
    from integrations.models import WebhookDelivery
    from nurture.models import EmailClick, EmailSend

    now, email = timezone.now(), normalise_email(email)
    # The lead of the address, whatever its case (through the unique index on lower(email)).
    leads = list(
        leads_with_email(email).select_for_update().filter(erased_at__isnull=True).order_by("pk")
    )
    lead_ids = [lead.pk for lead in leads]
    posted = Submission.objects.filter(
        Q(payload__email__iexact=email) | Q(payload__icontains=email) | Q(lead_id__in=lead_ids)
    )
    submissions, mentions = [], []  # theirs (rejected ones too), and others' that name them
    for submission in posted:
        payload = submission.payload if isinstance(submission.payload, dict) else {}
        theirs = submission.lead_id in lead_ids or (
            submission.lead_id is None and normalise_email(payload.get("email", "")) == email
        )
        (submissions if theirs else mentions).append(submission)
    person = _collect(email, leads, submissions)
    rows = _rows_of(person)
    deliveries = _webhook_deliveries(person)
    rows[WebhookDelivery] = [d.pk for d in deliveries]
    counts: dict[str, int] = {}
    counts["submissions"] = Submission.objects.filter(pk__in=person.submission_ids).update(
        payload={}, payload_hash="", reason="", user_agent="", ip_hash="", origin="",
        submission_id=None,
    )  # fmt: skip
    for submission in mentions:  # e.g. a colleague's message naming the person
        submission.payload = person.redact(submission.payload, everything=False)
    Submission.objects.bulk_update(mentions, ["payload"])
    counts["submissions_mentioning"] = len(mentions)
    counts["touchpoints"] = _erase_touchpoints(person)
    counts["activities"] = Activity.objects.filter(lead_id__in=lead_ids).update(notes="")
    counts["feedback"] = LeadFeedback.objects.filter(lead_id__in=lead_ids).update(note="")
    # A follow-up's title is free text about the person ("call Ada about her mortgage").
    counts["tasks"] = Task.objects.filter(lead_id__in=lead_ids).delete()[0]
    deals = list(Deal.objects.filter(pk__in=person.deal_ids))
    for deal in deals:
        deal.name, deal.close_reason, deal.updated_at = f"Deal {deal.pk}", "", now
    Deal.objects.bulk_update(deals, ["name", "close_reason", "updated_at"])
    counts["deals"] = len(deals)
    clicks = list(EmailClick.objects.filter(send_id__in=rows[EmailSend]))
    for click in clicks:
        click.url = _origin(click.url)
    EmailClick.objects.bulk_update(clicks, ["url"])
    counts["email_clicks"] = len(clicks)
    counts["webhook_deliveries"] = _erase_webhooks(person, deliveries)
    counts["alerts"] = _erase_alerts(person)
    counts["outbox"] = _erase_outbox(
        person, delivery_ids=[str(d.pk) for d in deliveries], send_ids=rows[EmailSend]
    )
    counts["admin_log"] = _erase_admin_log(person, rows)
    # Visitor ids are cookie identifiers of the person's browsers.
    counts["visitors"] = Visitor.objects.filter(pk__in=person.visitor_ids).delete()[0]
    for lead in leads:
        _erase_lead(lead, now=now)
    counts["other_texts"] = _sweep(person)
    counts["leads"] = len(leads)
    erasure = Erasure.objects.create(
        email_hash=email_hash(email),
        lead_id=lead_ids[0] if lead_ids else None,
        by=by if getattr(by, "pk", None) else None,
        by_label=getattr(by, "username", "") or "",
        at=now,
        counts=counts,
    )
    return ErasureResult(erasure=erasure, lead_id=erasure.lead_id, counts=counts)
