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

Each app erases its own rows: leads its submissions, touchpoints, visitors and leads, then it
announces clm.events.PersonErasing and the higher apps (crm, nurture, integrations, insights)
clear theirs, in the same transaction; leads ends with the rows of the log-like tables (outbox,
admin log) and the sweep of every other text. What identifies the person, and how a text loses
it, is leads.redaction.

One transaction: the lead rows are locked first (SELECT ... FOR UPDATE, which PostgreSQL only
allows inside a transaction), so a capture or a CRM write cannot interleave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Campaign
from clm import events
from clm.events import PersonErasing
from leads.models import Erasure, Lead, Submission, Touchpoint, Visitor
from leads.privacy import email_hash, normalise_email
from leads.redaction import Person, found, origin
from leads.selectors import leads_with_email
from outbox.models import DeadLetter, OutboxMessage

ERASED_DOMAIN = "erased.invalid"
# Payload keys whose values are the form's wording, not the person's.
GENERIC_KEYS = frozenset({"consent", "submission_id", "website"})
UTM_KEPT_IF_CAMPAIGN = ("utm_source", "utm_medium", "utm_campaign")
# Searched for in texts about the person unless a campaign's; a medium ("email", "cpc") is the
# vocabulary of channels, never the person's (it is still cleared on their touchpoints).
UTM_PERSONAL = ("utm_source", "utm_campaign")
# The apps whose texts the last sweep searches for the person (Django's own are handled above:
# the admin log; users are staff, not people whose data is erased). By label, through Django's
# app registry: the sweep reads any model's text fields and imports none of these apps.
SWEPT_APPS = ("clm", "campaigns", "leads", "crm", "attribution", "nurture", "insights", "outbox",
              "integrations")  # fmt: skip
# Large tables whose texts are the machine's own words (model names, rollup keys, score
# factors), and touchpoints (the person's own are rewritten; the table is too large to scan).
NOT_SWEPT = frozenset({
    "leads.Touchpoint", "leads.Erasure", "attribution.AttributionResult",
    "attribution.AttributionSummary", "attribution.CreditLedger", "attribution.RunPartition",
    "attribution.LeadCredit", "attribution.LeadMark",
    "crm.DailyCount", "crm.RollupMark", "insights.LeadScore", "insights.ChannelInterval",
})  # fmt: skip
CLASSIFIER_MARKERS = frozenset({"", "(direct)", "(none)"})  # campaigns.channeling


@dataclass(frozen=True, slots=True)
class ErasureResult:
    erasure: Erasure
    lead_id: int | None
    counts: dict[str, int]


def _campaign_tags() -> dict[str, set[str]]:
    """The UTM tags campaigns are defined by: the marketer's values, not the person's."""

    tags: dict[str, set[str]] = {name: set() for name in UTM_KEPT_IF_CAMPAIGN}
    for row in Campaign.objects.values(*UTM_KEPT_IF_CAMPAIGN):
        for name, value in row.items():
            if value:
                tags[name].add(value.strip().lower())
    return tags


def _collect(email: str, leads: list[Lead], submissions: list[Submission]) -> Person:
    """Every value of the person in leads' rows, read before any of it is cleared (the higher
    apps add theirs when they hear PersonErasing)."""
    person = Person(email=email, lead_ids=[lead.pk for lead in leads])
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
    person.rows.update({
        Lead: person.lead_ids,
        Submission: person.submission_ids,
        Visitor: person.visitor_ids,
        Touchpoint: list(_touchpoints(person).values_list("pk", flat=True)),
    })  # fmt: skip
    person.ids.update({"lead_id": person.lead_ids, "submission_id": person.submission_ids})
    return person


def _touchpoints(person: Person) -> Any:
    """The person's touchpoints: of their leads, their browsers and their submissions."""
    return Touchpoint.objects.filter(
        Q(lead_id__in=person.lead_ids)
        | Q(visitor_id__in=person.visitor_ids)
        | Q(submission_id__in=person.submission_ids)
    )


def _erase_touchpoints(person: Person) -> int:
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
        touch.url, touch.click_ids = origin(touch.url), {}
    Touchpoint.objects.bulk_update(
        touches,
        ["url", "referrer", "title", "click_ids", "source", "medium", "utm_term", "utm_content",
         *UTM_KEPT_IF_CAMPAIGN],
        batch_size=500,
    )  # fmt: skip
    return len(touches)


def _by_ids(field_name: str, ids_of: dict[str, list[Any]]) -> Q:
    """Rows whose JSON `field_name` names one of the person's rows (lead_id=..., ...)."""
    query = Q(pk__in=[])
    for key, ids in ids_of.items():
        if ids:
            query |= Q(**{f"{field_name}__{key}__in": ids})
    return query


def _erase_outbox(person: Person) -> int:
    """Outbox messages and dead letters about the person: the texts (errors, tracebacks, kwargs)
    lose every value of the person; the ids in the kwargs stay so the work can still run."""
    messages = found(
        OutboxMessage.objects.all(), _by_ids("kwargs", person.ids), person.text_query("last_error")
    )
    for message, linked in messages:
        message.kwargs = person.redact(message.kwargs, everything=linked)
        message.last_error = person.redact(message.last_error, everything=linked)
    OutboxMessage.objects.bulk_update([m for m, _ in messages], ["kwargs", "last_error"])
    letters = found(
        DeadLetter.objects.all(),
        _by_ids("kwargs", person.ids),
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


def _erase_admin_log(person: Person) -> int:
    """Admin log entries of the person's rows lose their label and message; any other entry that
    names the person loses the person's values."""
    about = Q(pk__in=[])
    for model, ids in person.rows.items():
        if ids:
            content_type = ContentType.objects.get_for_model(model)
            about |= Q(content_type=content_type, object_id__in=[str(pk) for pk in ids])
    named = person.text_query("object_repr", "change_message")
    entries_found = found(LogEntry.objects.select_related("content_type"), about, named)
    for entry, linked in entries_found:
        if linked:
            label = entry.content_type.name if entry.content_type else "row"
            entry.object_repr = f"{label} {entry.object_id} (erased)"[:200]
            entry.change_message = ""
        else:
            entry.object_repr = person.redact(entry.object_repr, everything=False)[:200]
            entry.change_message = person.redact(entry.change_message, everything=False)
    entries = [entry for entry, _ in entries_found]
    LogEntry.objects.bulk_update(entries, ["object_repr", "change_message"])
    return len(entries)


def _sweep(person: Person) -> int:
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
        # The option chosen stays (a source, like the touches' channels); their own words go.
        heard_about_other="",
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
    counts: dict[str, int] = {}
    counts["submissions"] = Submission.objects.filter(pk__in=person.submission_ids).update(
        payload={}, payload_hash="", reason="", user_agent="", ip_hash="", origin="",
        submission_id=None, heard_about_other="",
    )  # fmt: skip
    for submission in mentions:  # e.g. a colleague's message naming the person
        submission.payload = person.redact(submission.payload, everything=False)
    Submission.objects.bulk_update(mentions, ["payload"])
    counts["submissions_mentioning"] = len(mentions)
    counts["touchpoints"] = _erase_touchpoints(person)
    # crm (notes, deals), nurture (click addresses), integrations (webhook bodies) and insights
    # (alerts) erase their own rows, adding their rows and ids to the person's.
    events.announce(PersonErasing(person=person, counts=counts, at=now))
    counts["outbox"] = _erase_outbox(person)
    counts["admin_log"] = _erase_admin_log(person)
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
