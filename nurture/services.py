"""Every write of segments and nurture: definitions, membership refreshes, enrolments, sends,
opens, clicks and unsubscribes.

Email goes only to leads with marketing consent, checked when they are enrolled and again
right before each send; an unsubscribe withdraws the consent and stops every sequence of the
lead. Sends are rate-limited across all workers by a per-minute counter in the shared cache.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

from campaigns.services import campaign_ensure
from crm.hooks import queue_attribution_refresh
from leads.models import Lead
from leads.services import lead_withdraw_consent
from leads.touches import touchpoint_record_email_click
from nurture import events, rendering, tokens
from nurture.conditions import DefinitionError, compile_definition
from nurture.models import (
    EmailClick,
    EmailSend,
    Enrollment,
    Segment,
    SegmentChange,
    SegmentMembership,
    Sequence,
    Step,
)

log = logging.getLogger(__name__)
RATE_KEY = "nurture:sent:{minute}"


# --- Segments --------------------------------------------------------------------------------


def segment_validate_definition(definition: Any) -> None:
    """Raise ValidationError({"definition": [...]}) unless the definition compiles."""
    try:
        compile_definition(definition)
    except DefinitionError as exc:
        raise ValidationError({"definition": exc.errors}) from exc


@transaction.atomic
def segment_save(
    *,
    name: str,
    definition: Any,
    description: str = "",
    segment: Segment | None = None,
    by: Any = None,
) -> Segment:
    """Create or change a segment (its definition validated strictly), then refresh it."""
    segment_validate_definition(definition)
    segment = segment or Segment(created_by=by)
    segment.name, segment.description, segment.definition = name.strip(), description, definition
    segment.full_clean()
    segment.save()
    segment_refresh(segment=segment)
    segment.refresh_from_db()
    return segment


@dataclass(frozen=True)
class Refresh:
    """What one refresh of a segment changed."""

    joined: list[int]
    left: list[int]


@transaction.atomic
def segment_refresh(*, segment: Segment, at: datetime | None = None) -> Refresh:
    """Recompute who is in a segment; record who joined and who left; emit the change."""
    at = at or timezone.now()
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    current = set(
        Lead.objects.filter(compile_definition(segment.definition)).values_list("pk", flat=True)
    )
    stored = set(
        SegmentMembership.objects.filter(segment=segment).values_list("lead_id", flat=True)
    )
    joined, left = sorted(current - stored), sorted(stored - current)
    if left:
        for start in range(0, len(left), 5000):
            SegmentMembership.objects.filter(
                segment=segment, lead_id__in=left[start : start + 5000]
            ).delete()
    SegmentMembership.objects.bulk_create(
        [SegmentMembership(segment=segment, lead_id=pk, joined_at=at) for pk in joined],
        batch_size=2000,
    )
    SegmentChange.objects.bulk_create(
        [SegmentChange(segment=segment, lead_id=pk, kind="joined", at=at) for pk in joined]
        + [SegmentChange(segment=segment, lead_id=pk, kind="left", at=at) for pk in left],
        batch_size=2000,
    )
    Segment.objects.filter(pk=segment.pk).update(member_count=len(current), refreshed_at=at)
    if joined or left:
        sid, name = segment.pk, segment.name
        transaction.on_commit(
            lambda: events.membership_changed(
                segment_id=sid, segment_name=name, joined=joined, left=left, at=at
            )
        )
    return Refresh(joined=joined, left=left)


def segments_refresh_all() -> int:
    """Refresh every segment; returns how many memberships changed in all."""
    changed = 0
    for segment in Segment.objects.order_by("pk"):
        result = segment_refresh(segment=segment)
        changed += len(result.joined) + len(result.left)
    return changed


@transaction.atomic
def segment_delete(*, segment: Segment) -> None:
    """Delete a segment no sequence sends to."""
    if segment.sequences.exists():
        raise ValidationError(_("Sequences send to this segment; delete or move them first."))
    segment.delete()


# --- Sequences -------------------------------------------------------------------------------


def step_validate(*, subject: str, body: str) -> None:
    """Raise ValidationError per field when a subject or body has unknown merge fields."""
    errors = {}
    for name, text in (("subject", subject), ("body", body)):
        problems = rendering.template_errors(text)
        if problems:
            errors[name] = problems
    if errors:
        raise ValidationError(errors)


def sequence_register_campaign(*, sequence: Sequence) -> bool:
    """Register the campaign its emails' links are tagged with (utm_campaign = the slug,
    medium email), so the clicks count for a campaign and never show up as untracked.
    Returns whether one was created; an existing campaign is left as it is."""
    _campaign, created = campaign_ensure(
        utm_campaign=sequence.slug, name=sequence.name, channel_name="Email",
        utm_source=sequence.utm_source, utm_medium="email", owner=sequence.created_by,
    )  # fmt: skip
    return created


def sequence_set_status(*, sequence: Sequence, status: str) -> Sequence:
    """Activate, pause or return a sequence to draft; an active one needs at least one step."""
    if status not in Sequence.Status.values:
        raise ValidationError({"status": _("Unknown status.")})
    if status == Sequence.Status.ACTIVE and not sequence.steps.exists():
        raise ValidationError({"status": _("Add a step before activating the sequence.")})
    sequence.status = status
    sequence.save(update_fields=["status"])
    sequence_register_campaign(sequence=sequence)
    return sequence


def _step_delay(step: Step) -> timedelta:
    return timedelta(days=step.delay_days, hours=step.delay_hours)


def sequence_enroll(*, sequence: Sequence, now: datetime | None = None) -> int:
    """Enrol the segment's consenting leads that are not enrolled yet; returns how many."""
    now = now or timezone.now()
    first = sequence.steps.order_by("position").first()
    if first is None:
        return 0
    enrolled = Enrollment.objects.filter(sequence=sequence).values("lead_id")
    new = (
        Lead.objects.filter(
            compile_definition(sequence.segment.definition),
            consent_given=True,
            consent_withdrawn_at__isnull=True,
        )
        .exclude(pk__in=enrolled)
        .values_list("pk", flat=True)
    )
    rows = [
        Enrollment(
            sequence=sequence,
            lead_id=pk,
            next_position=first.position,
            next_due_at=now + _step_delay(first),
            enrolled_at=now,
        )
        for pk in new.iterator(chunk_size=5000)
    ]
    Enrollment.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


@dataclass(frozen=True)
class Enrolment:
    """What enrolling chosen leads did: enrolled, already in the sequence, without consent."""

    enrolled: int
    already: int
    no_consent: int


def sequence_enroll_leads(
    *, sequence: Sequence, lead_ids: list[int], now: datetime | None = None
) -> Enrolment:
    """Enrol chosen leads (e.g. ticked in the work queue) in an active or paused sequence with
    steps; leads without marketing consent are skipped, as at every send."""
    if sequence.status == Sequence.Status.DRAFT:
        raise ValidationError({"sequence": _("Activate the sequence first.")})
    first = sequence.steps.order_by("position").first()
    if first is None:
        raise ValidationError({"sequence": _("The sequence has no steps.")})
    now = now or timezone.now()
    ids = set(lead_ids)
    already = set(
        Enrollment.objects.filter(sequence=sequence, lead_id__in=ids).values_list(
            "lead_id", flat=True
        )
    )
    consenting = set(
        Lead.objects.filter(
            pk__in=ids - already, consent_given=True, consent_withdrawn_at__isnull=True
        ).values_list("pk", flat=True)
    )
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                sequence=sequence,
                lead_id=pk,
                next_position=first.position,
                next_due_at=now + _step_delay(first),
                enrolled_at=now,
            )
            for pk in sorted(consenting)
        ],
        ignore_conflicts=True,
    )
    return Enrolment(
        enrolled=len(consenting),
        already=len(already),
        no_consent=len(ids) - len(already) - len(consenting),
    )


def _take_send_slot(now: datetime) -> bool:
    """One send of this minute's budget (CLM_NURTURE_RATE_PER_MINUTE), shared by all workers."""
    key = RATE_KEY.format(minute=now.strftime("%Y%m%d%H%M"))
    cache.add(key, 0, 120)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, 120)
        used = 1
    return used <= settings.CLM_NURTURE_RATE_PER_MINUTE


def _public(path: str) -> str:
    return settings.CLM_PUBLIC_URL.rstrip("/") + path


def tagged_destination(*, url: str, sequence: Sequence, step: Step) -> str:
    """The destination with the sequence's UTM tags (ours replace any already there)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = [(k, v) for k, v in query if not k.lower().startswith("utm_")]
    query += [
        ("utm_source", sequence.utm_source),
        ("utm_medium", "email"),
        ("utm_campaign", sequence.slug),
        ("utm_content", f"step-{step.position}"),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _message(send: EmailSend, step: Step, lead: Lead) -> EmailMultiAlternatives:
    sequence = step.sequence

    def link(url: str) -> str:
        destination = tagged_destination(url=url, sequence=sequence, step=step)
        token = tokens.click_token(send_id=send.pk, url=destination)
        return _public(reverse("nurture-public:click", args=[token]))

    text, html = rendering.render_body(step.body, lead, link=link)
    unsubscribe = _public(
        reverse("nurture-public:unsubscribe", args=[tokens.unsubscribe_token(send_id=send.pk)])
    )
    pixel = _public(reverse("nurture-public:open", args=[tokens.open_token(send_id=send.pk)]))
    footer = escape(_("You get this email because you agreed to hear from us. Unsubscribe:"))
    text += f"\n\n--\n{footer} {unsubscribe}\n"
    html += (
        f'<p style="color:#6b7280;font-size:12px">{footer} '
        f'<a href="{escape(unsubscribe)}">{escape(_("unsubscribe"))}</a></p>'
        f'<img src="{escape(pixel)}" width="1" height="1" alt="">'
    )
    message = EmailMultiAlternatives(
        subject=rendering.render_subject(step.subject, lead),
        body=text,
        from_email=sequence.from_email or settings.DEFAULT_FROM_EMAIL,
        to=[lead.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(f"<!doctype html><html><body>{html}</body></html>", "text/html")
    return message


@transaction.atomic
def enrollment_send_next(*, enrollment_id: int, now: datetime | None = None) -> EmailSend | None:
    """Send the enrolment's due step, if it is still due and the lead still consents.

    A lead without consent is stopped, not sent to. After the send the next step is due after
    its delay; after the last step the enrolment is completed.
    """
    now = now or timezone.now()
    enrollment = (
        Enrollment.objects.select_for_update()
        .select_related("lead", "sequence")
        .filter(pk=enrollment_id, status=Enrollment.Status.ACTIVE, next_due_at__lte=now)
        .first()
    )
    if enrollment is None or enrollment.sequence.status != Sequence.Status.ACTIVE:
        return None
    lead = enrollment.lead
    if not lead.consent_given or lead.consent_withdrawn_at is not None:
        enrollment.status, enrollment.next_due_at = Enrollment.Status.STOPPED, None
        enrollment.save(update_fields=["status", "next_due_at"])
        return None
    steps = list(enrollment.sequence.steps.filter(position__gte=enrollment.next_position))
    if not steps:
        enrollment.status, enrollment.next_due_at = Enrollment.Status.COMPLETED, None
        enrollment.save(update_fields=["status", "next_due_at"])
        return None
    step = steps[0]
    step.sequence = enrollment.sequence
    send = EmailSend.objects.create(step=step, enrollment=enrollment, lead=lead, sent_at=now)
    _message(send, step, lead).send(fail_silently=False)
    if len(steps) > 1:
        enrollment.next_position = steps[1].position
        enrollment.next_due_at = now + _step_delay(steps[1])
    else:
        enrollment.status, enrollment.next_due_at = Enrollment.Status.COMPLETED, None
    enrollment.save(update_fields=["status", "next_position", "next_due_at"])
    return send


def nurture_dispatch(*, now: datetime | None = None) -> int:
    """Enrol new segment members, then send due steps within this minute's rate budget.

    Returns the number of emails sent. A send that fails is logged and retried next time.
    """
    now = now or timezone.now()
    for sequence in Sequence.objects.filter(status=Sequence.Status.ACTIVE).select_related(
        "segment"
    ):
        # Sequences made in the admin or before campaigns were registered get theirs here.
        sequence_register_campaign(sequence=sequence)
        sequence_enroll(sequence=sequence, now=now)
    due = (
        Enrollment.objects.filter(
            status=Enrollment.Status.ACTIVE,
            next_due_at__lte=now,
            sequence__status=Sequence.Status.ACTIVE,
        )
        .order_by("next_due_at", "id")
        .values_list("pk", flat=True)[: settings.CLM_NURTURE_RATE_PER_MINUTE]
    )
    sent = 0
    for enrollment_id in list(due):
        if not _take_send_slot(now):
            break
        try:
            if enrollment_send_next(enrollment_id=enrollment_id, now=now) is not None:
                sent += 1
        except Exception:  # SMTP and friends: the step stays due and is tried again
            log.exception("nurture send of enrollment %s failed", enrollment_id)
    return sent


# --- Opens, clicks, unsubscribes ---------------------------------------------------------------


def send_record_open(*, send_id: int, at: datetime | None = None) -> None:
    """Count an open of a send (the first one is kept as opened_at)."""
    at = at or timezone.now()
    EmailSend.objects.filter(pk=send_id).update(opens=F("opens") + 1)
    EmailSend.objects.filter(pk=send_id, opened_at__isnull=True).update(opened_at=at)


@transaction.atomic
def send_record_click(*, send_id: int, url: str, at: datetime | None = None) -> EmailClick | None:
    """Record a click on a link of a send, and an Email touchpoint on its lead.

    A click is also an open (images may be blocked). Returns None for an unknown send.
    """

    at = at or timezone.now()
    send = EmailSend.objects.select_related("lead", "step__sequence").filter(pk=send_id).first()
    if send is None:
        return None
    touch = touchpoint_record_email_click(
        lead=send.lead, occurred_at=at, url=url, title=send.step.subject[:300]
    )
    click = EmailClick.objects.create(send=send, url=url[:2000], clicked_at=at, touchpoint=touch)
    EmailSend.objects.filter(pk=send.pk).update(clicks=F("clicks") + 1)
    EmailSend.objects.filter(pk=send.pk, opened_at__isnull=True).update(opened_at=at)
    queue_attribution_refresh(lead_id=send.lead_id)
    return click


@transaction.atomic
def send_unsubscribe(*, send_id: int, at: datetime | None = None) -> Lead | None:
    """Withdraw the lead's marketing consent and stop all its sequences (one click, no login)."""

    at = at or timezone.now()
    send = EmailSend.objects.select_related("lead").filter(pk=send_id).first()
    if send is None:
        return None
    lead_withdraw_consent(lead=send.lead)
    EmailSend.objects.filter(pk=send.pk, unsubscribed_at__isnull=True).update(unsubscribed_at=at)
    Enrollment.objects.filter(lead=send.lead, status=Enrollment.Status.ACTIVE).update(
        status=Enrollment.Status.UNSUBSCRIBED, next_due_at=None
    )
    return send.lead
