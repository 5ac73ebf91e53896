"""Every write of the capture side: submissions and leads (touchpoints and visitors:
leads.touches).

Capture never loses a submission: the raw payload, the lead and its form-submit touchpoint
are written in one transaction; what follows runs in the same transaction only when it is a
local write (assignment), else it is recorded in the outbox in that transaction and run by a
Celery task after commit (the owner's notification: submission_follow_up).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clm import events
from clm.events import LeadCaptured, LeadDetailsChanged, LeadsTouchesChanged
from clm.localcache import forget
from clm.mail import mail_subject
from leads.classification import (
    touches_after,
    touchpoints_settle,
)
from leads.heard_about import MAX_OTHER, OTHER, answer_of, form_options
from leads.models import CaptureForm, Lead, Submission, Touchpoint, normalise_email
from leads.selectors import leads_with_email
from leads.serializers import (
    CaptureInput,
    validate_custom_fields,
)
from leads.touches import (
    first_touch_fields,
    first_touch_of,
    touch_before,
    touchpoint_build,
    tracking_values,
    visitor_stitch,
    visitor_touch,
)
from outbox.services import outbox_batched, outbox_enqueue


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """What we keep about the request that carried a submission or page view."""

    ip: str = ""
    user_agent: str = ""
    origin: str = ""
    received_at: datetime = field(default_factory=timezone.now)

    @property
    def ip_hash(self) -> str:
        if not self.ip:
            return ""
        # Salted with the secret key: lets us count repeat posts without storing the IP.
        return hashlib.sha256(f"{settings.SECRET_KEY}:{self.ip}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """The answer to a capture post."""

    lead_id: int | None
    created: bool
    submission_id: int
    replayed: bool = False


class IdempotencyConflict(Exception):
    """A submission_id was reused with a different payload."""


def storable(payload: dict[str, Any]) -> dict[str, Any]:
    """The raw payload as the database can keep it: NUL (refused by PostgreSQL) becomes U+FFFD."""
    return {
        str(k).replace("\x00", "\ufffd"): v.replace("\x00", "\ufffd") if isinstance(v, str) else v
        for k, v in payload.items()
    }


def payload_hash(payload: dict[str, Any]) -> str:
    """A stable hash of a payload, ignoring the fields a retry may change."""
    stable = {k: v for k, v in payload.items() if k not in {"clm_elapsed_ms"}}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()


def submission_reject(
    *,
    form: CaptureForm | None,
    form_key: str,
    payload: dict[str, Any],
    status: str,
    reason: str,
    meta: RequestMeta,
) -> Submission:
    """Keep a rejected or spam submission with the reason; nothing reaches the CRM."""
    return Submission.objects.create(
        form=form,
        form_key=form_key[:64],
        received_at=meta.received_at,
        status=status,
        reason=reason[:2000],
        payload=storable(payload),
        payload_hash=payload_hash(payload),
        submission_id=None,
        user_agent=meta.user_agent[:400],
        ip_hash=meta.ip_hash,
        origin=meta.origin[:300],
    )


def _replay(form: CaptureForm, submission_id: str, digest: str) -> CaptureResult | None:
    # The spam check's record of a post keeps no idempotency key, so only captured posts replay.
    previous = Submission.objects.filter(form_key=form.key, submission_id=submission_id).first()
    if previous is None:
        return None
    if previous.payload_hash != digest:
        raise IdempotencyConflict(submission_id)
    return CaptureResult(previous.lead_id, previous.lead_created, previous.pk, replayed=True)


def submission_capture(
    *,
    form: CaptureForm,
    data: dict[str, Any],
    custom: dict[str, Any],
    payload: dict[str, Any],
    meta: RequestMeta,
    held: Submission | None = None,
    answer: tuple[str, str] = ("", ""),
) -> CaptureResult:
    """Store a valid submission, its lead (new or returning) and its form-submit touchpoint.

    Idempotent on `submission_id`: the same payload again returns the first result; a
    different payload under the same id raises IdempotencyConflict. `held` is a post the
    spam check kept that an admin released: it becomes the accepted submission. `answer`
    is the post's "How did you hear about us?" (key, free text: leads.heard_about.answer_of).
    """
    digest = payload_hash(payload)
    submission_id = data.get("submission_id") or None
    if submission_id:
        replay = _replay(form, submission_id, digest)
        if replay is not None:
            return replay
    for attempt in range(2):
        try:
            with transaction.atomic(), outbox_batched():
                return _capture(
                    form, data, custom, payload, meta, digest, submission_id, held, answer
                )
        except IntegrityError:
            # A concurrent post won a race: the same submission_id (answer as it did), or the
            # same new email (the lead exists now, so one more try adds a touch to it). Or a
            # row kept per process (form, owner, webhook endpoint) was deleted a moment ago:
            # the retry reads them afresh.
            forget()
            if submission_id:
                replay = _replay(form, submission_id, digest)
                if replay is not None:
                    return replay
            if attempt:
                raise
    raise AssertionError("unreachable")


def _split_name(data: dict[str, Any]) -> tuple[str, str]:
    first, last = data.get("first_name", ""), data.get("last_name", "")
    if not first and not last and data.get("name"):
        parts = data["name"].strip().split(None, 1)
        first = parts[0][:100]
        last = parts[1][:100] if len(parts) > 1 else ""
    return first, last


def _capture(
    form: CaptureForm,
    data: dict[str, Any],
    custom: dict[str, Any],
    payload: dict[str, Any],
    meta: RequestMeta,
    digest: str,
    submission_id: str | None,
    held: Submission | None = None,
    answer: tuple[str, str] = ("", ""),
) -> CaptureResult:
    now = meta.received_at
    heard_about, heard_about_other = answer
    first, last = _split_name(data)
    email = normalise_email(data["email"])
    lead = leads_with_email(email).select_for_update().first()
    created = lead is None
    if lead is None:
        lead = Lead.objects.create(
            email=email,
            first_name=first,
            last_name=last,
            phone=data.get("phone", ""),
            company=data.get("company", ""),
            custom=custom,
            form=form,
            heard_about=heard_about,
            heard_about_other=heard_about_other,
            created_at=now,
        )
    lead_updates: dict[str, Any] = {}
    if not created:
        # A returning lead: fill what was missing, never overwrite what sales may have fixed.
        for name, value in (
            ("first_name", first),
            ("last_name", last),
            ("phone", data.get("phone", "")),
            ("company", data.get("company", "")),
        ):
            if value and not getattr(lead, name):
                lead_updates[name] = value
        # Custom fields likewise: an anonymous post only adds the keys the lead has no value for.
        missing = {k: v for k, v in custom.items() if lead.custom.get(k) in (None, "")}
        if missing:
            lead_updates["custom"] = {**lead.custom, **missing}
        # The first answer stays; what sales set on the lead page (even blank) too.
        if heard_about and not lead.heard_about and lead.heard_about_edited_at is None:
            lead_updates.update(
                heard_about=heard_about,
                heard_about_other=heard_about_other,
                # Not the post's time: a replayed post must still move the newest change.
                heard_about_changed_at=timezone.now(),
            )
    # Withdrawn consent is never restored by a post anyone can send with the address.
    consent_ignored = bool(data.get("consent")) and lead.consent_withdrawn_at is not None
    if data.get("consent") and not consent_ignored:
        lead_updates.update(
            consent_given=True,
            consent_version=form.consent_version,
            consent_text=form.consent_text,
            consent_at=now,
            consent_page=data.get("landing_url", "")[:2000],
        )
    reason = (
        "consent=yes not recorded: the person withdrew consent on "
        f"{lead.consent_withdrawn_at:%Y-%m-%d %H:%M} UTC"
        if consent_ignored
        else ""
    )
    if held is not None:
        submission = held
        submission.status, submission.lead, submission.lead_created = (
            Submission.Status.ACCEPTED,
            lead,
            created,
        )
        submission.consent_ignored = consent_ignored
        submission.reason = "\n".join(r for r in (submission.reason, reason) if r)[:2000]
        submission.heard_about, submission.heard_about_other = heard_about, heard_about_other
        submission.save(
            update_fields=[
                "status", "lead", "lead_created", "consent_ignored", "reason", "heard_about",
                "heard_about_other",
            ]
        )  # fmt: skip
    else:
        submission = Submission.objects.create(
            form=form,
            form_key=form.key,
            received_at=now,
            status=Submission.Status.ACCEPTED,
            reason=reason,
            payload=storable(payload),
            payload_hash=digest,
            submission_id=submission_id,
            lead=lead,
            lead_created=created,
            consent_ignored=consent_ignored,
            heard_about=heard_about,
            heard_about_other=heard_about_other,
            user_agent=meta.user_agent[:400],
            ip_hash=meta.ip_hash,
            origin=meta.origin[:300],
        )
    visitor, stitched, new_visitor = None, 0, False
    if data.get("visitor_id"):
        visitor = visitor_touch(visitor_id=data["visitor_id"], at=now, lead=lead)
        # A browser first seen now has no page views: nothing to stitch.
        new_visitor = visitor.first_seen == now
        if not new_visitor:
            stitched = visitor_stitch(visitor=visitor, lead=lead, lead_is_new=created)
    touch = touchpoint_build(
        kind=Touchpoint.Kind.FORM_SUBMIT,
        occurred_at=now,
        url=data.get("landing_url", ""),
        referrer=data.get("referrer", ""),
        title=form.name,
        tracking=tracking_values(data),
        lead=lead,
        visitor=visitor,
        submission=submission,
        default_campaign_id=form.default_campaign_id,
        previous=lambda: touch_before(visitor=visitor, lead=lead, at=now),
    )
    streams = {"visitor_ids": [visitor.pk] if visitor else [], "lead_ids": [lead.pk]}
    # A new lead from a new browser (or none) has no touches yet: nothing to land inside.
    fresh = created and (visitor is None or new_visitor)
    settle = not fresh and (stitched or touches_after(**streams, at=now))
    touch.save()
    if settle:
        touchpoints_settle(**streams)  # the touch landed inside a visit: what follows continues it
    lead_updates["latest_touch"] = touch
    if created:
        lead_updates["creation_touch"] = touch
    if stitched or not lead.first_touch_id:
        lead_updates.update(
            first_touch_fields(first_touch_of(lead) if stitched or not created else touch)
        )
    for name, value in lead_updates.items():
        setattr(lead, name, value)
    Lead.objects.filter(pk=lead.pk).update(**lead_updates)
    if not created and "first_channel_id" in lead_updates:
        # A new lead's day is marked by its creation.
        events.announce(LeadsTouchesChanged(lead_ids=(lead.pk,)))
    changed = tuple(name for name in ("company", "heard_about") if name in lead_updates)
    if not created and changed:
        # The account (crm) may now be known; the self-reported rollups (crm) recount the answer.
        events.announce(LeadDetailsChanged(lead_id=lead.pk, fields=changed))
    if created:
        # Assignment (crm), scoring (insights), the lead.created webhook (integrations).
        events.announce(LeadCaptured(lead=lead, form=form, touch=touch))
    outbox_enqueue(task="leads.tasks.submission_follow_up", kwargs={"submission_id": submission.pk})
    return CaptureResult(lead.pk, created, submission.pk)


class NotCapturable(Exception):
    """A held post that cannot be captured (its form is gone, or it is not valid)."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


def submission_release(*, submission: Submission, by: Any) -> CaptureResult | None:
    """Capture a post the spam check held back ("not spam"), exactly as capture would have
    when it arrived; None when it is no longer held (already released: nothing changes)."""
    with transaction.atomic():
        held = (
            Submission.objects.select_for_update()
            .filter(pk=submission.pk, status=Submission.Status.SPAM)
            .first()
        )
        if held is None:
            return None
        if held.form is None:
            raise NotCapturable({"__all__": ["The form of this post no longer exists."]})
        payload = {str(k): str(v) for k, v in held.payload.items()}
        serializer = CaptureInput(data=payload)
        valid = serializer.is_valid()
        custom, custom_errors = validate_custom_fields(held.form, payload)
        heard_about, heard_about_other, answer_errors = answer_of(held.form, payload)
        errors = {**(serializer.errors if not valid else {}), **custom_errors, **answer_errors}
        if errors:
            raise NotCapturable(errors)
        meta = RequestMeta(
            user_agent=held.user_agent, origin=held.origin, received_at=held.received_at
        )
        data = dict(serializer.validated_data)
        data.pop("submission_id", None)  # the held row is the submission: nothing to replay
        result = submission_capture(
            form=held.form, data=data, custom=custom, payload=payload, meta=meta, held=held,
            answer=(heard_about, heard_about_other),
        )  # fmt: skip
        Submission.objects.filter(pk=held.pk).update(released_at=timezone.now(), released_by=by)
    return result


def submission_follow_up(*, submission_id: int) -> bool:
    """The work after a capture commits: e-mail a new lead's owner, then stamp the submission.

    Idempotent: the submission is locked and stamped, so a redelivered task does nothing
    (a worker killed between the e-mail and the commit sends it once more: at least once).
    Returns False when there was nothing (more) to do.
    """
    from django.core.mail import send_mail

    with transaction.atomic():
        submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if submission is None or submission.followed_up_at is not None:
            return False
        lead = Lead.objects.select_related("owner").filter(pk=submission.lead_id).first()
        owner = lead.owner if lead is not None else None
        if submission.lead_created and owner is not None and owner.email:
            name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.email
            send_mail(
                subject=mail_subject(f"New lead: {name}"),
                message=f"{name} <{lead.email}> {lead.company}\nForm: {submission.form_key}\n",
                from_email=None,
                recipient_list=[owner.email],
            )
        submission.followed_up_at = timezone.now()
        submission.save(update_fields=["followed_up_at"])
    return True


def lead_withdraw_consent(*, lead: Lead) -> bool:
    """The lead no longer agrees to marketing email; True when it had agreed until now.

    What they once agreed to (text, version, page, time) is kept as the record of that consent;
    the withdrawal is recorded too, so no later anonymous post can grant it again.
    """
    now = timezone.now()
    changed = Lead.objects.filter(pk=lead.pk, consent_given=True).update(consent_given=False)
    Lead.objects.filter(pk=lead.pk, consent_withdrawn_at__isnull=True).update(
        consent_withdrawn_at=now
    )
    lead.consent_given = False
    lead.consent_withdrawn_at = lead.consent_withdrawn_at or now
    return bool(changed)


@transaction.atomic
def capture_form_save(*, form: CaptureForm) -> CaptureForm:
    """Validate and save a capture form (its key is made once and never changes)."""
    form.full_clean()
    form.save()
    return form


@transaction.atomic
def lead_heard_about_set(*, lead: Lead, heard_about: str, other: str = "") -> Lead:
    """Sales set how the lead heard of us (blank clears it); no capture post changes it after.

    `heard_about` is an option of the lead's form (else of the default list) or "other"."""
    heard_about, other = heard_about.strip(), " ".join(other.split())
    keys = [k for k, _label in form_options(lead.form)]
    if heard_about and heard_about not in (*keys, OTHER):
        raise ValidationError({"heard_about": _("Choose one of the options.")})
    if len(other) > MAX_OTHER or not other.isprintable():
        raise ValidationError({"heard_about_other": _("At most 200 characters of plain text.")})
    lead.heard_about = heard_about
    lead.heard_about_other = other if heard_about == OTHER else ""
    lead.heard_about_edited_at = lead.heard_about_changed_at = timezone.now()
    Lead.objects.filter(pk=lead.pk).update(
        heard_about=lead.heard_about,
        heard_about_other=lead.heard_about_other,
        heard_about_edited_at=lead.heard_about_edited_at,
        heard_about_changed_at=lead.heard_about_changed_at,
    )
    # The self-reported rollups (crm) count answers per capture day.
    events.announce(LeadDetailsChanged(lead_id=lead.pk, fields=("heard_about",)))
    return lead
