"""Every write of the capture side: submissions, leads, visitors and touchpoints.

Capture never loses a submission: the raw payload, the lead and its form-submit touchpoint
are written in one transaction; what follows runs in the same transaction only when it is a
local write (assignment), else it is recorded in the outbox in that transaction and run by a
Celery task after commit (the owner's notification: submission_follow_up).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from campaigns.models import Channel
from campaigns.rules import classify
from campaigns.selectors import campaign_id_for
from clm import events
from clm.events import LeadCaptured, LeadsTouchesChanged
from clm.mail import mail_subject
from leads.classification import (
    OFFLINE_RULE,
    continued,
    previous_touch,
    stored,
    touches_after,
    touchpoints_settle,
)
from leads.models import CaptureForm, Lead, Submission, Touchpoint, Visitor, normalise_email
from leads.selectors import leads_with_email
from leads.serializers import (
    CLICK_ID_FIELDS,
    UTM_FIELDS,
    CaptureInput,
    validate_custom_fields,
)
from outbox.services import outbox_enqueue


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


def _tracking_values(data: dict[str, Any]) -> dict[str, Any]:
    """UTM tags and click ids from the fields, else from landing_url's query string."""
    from urllib.parse import parse_qs

    values = {name: str(data.get(name) or "") for name in UTM_FIELDS}
    click_ids = {name: str(data[name]) for name in CLICK_ID_FIELDS if data.get(name)}
    landing = str(data.get("landing_url") or "")
    if landing:
        try:
            query = parse_qs(urlsplit(landing).query, max_num_fields=100)
        except ValueError:
            query = {}
        if not any(values.values()):
            for name in UTM_FIELDS:
                values[name] = (query.get(name) or [""])[0][:255]
        for name in CLICK_ID_FIELDS:
            if name not in click_ids and query.get(name):
                click_ids[name] = query[name][0][:500]
    return {**values, "click_ids": click_ids}


def _own_domains_for(form: CaptureForm | None) -> tuple[str, ...]:
    hosts = [urlsplit(o).hostname or "" for o in (form.allowed_origins if form else []) or []]
    return tuple(h for h in hosts if h)


def touchpoint_build(
    *,
    kind: str,
    occurred_at: datetime,
    url: str = "",
    referrer: str = "",
    title: str = "",
    tracking: dict[str, Any] | None = None,
    lead: Lead | None = None,
    visitor: Visitor | None = None,
    submission: Submission | None = None,
    default_campaign_id: int | None = None,
    previous: Callable[[], Touchpoint | None] | None = None,
) -> Touchpoint:
    """An unsaved, classified touchpoint.

    A self-referral (navigation within the site, a payment page returning) is not a new
    source: it continues the visitor's previous touch, so it takes that touch's channel,
    source, medium and campaign, as GA4 does for sessions.
    """
    tracking = tracking or {}
    click_ids = tracking.get("click_ids") or {}
    result = classify(
        utm_source=tracking.get("utm_source", ""),
        utm_medium=tracking.get("utm_medium", ""),
        utm_campaign=tracking.get("utm_campaign", ""),
        referrer=referrer,
        landing_url=url,
        click_ids=click_ids or None,
    )
    facts = result.facts
    touch = Touchpoint(
        kind=kind,
        occurred_at=occurred_at,
        lead=lead,
        visitor=visitor,
        submission=submission,
        url=url[:2000],
        referrer=referrer[:2000],
        title=title[:300],
        utm_source=tracking.get("utm_source", "")[:255],
        utm_medium=tracking.get("utm_medium", "")[:255],
        utm_campaign=tracking.get("utm_campaign", "")[:255],
        utm_term=tracking.get("utm_term", "")[:255],
        utm_content=tracking.get("utm_content", "")[:255],
        click_ids=click_ids,
        source=facts.source[:255],
        medium=facts.medium[:255],
        self_referral=facts.self_referral,
        channel_id=result.channel_id,
        matched_rule=result.match.rule_id or "",
    )
    touch.campaign_id = (
        campaign_id_for(utm_campaign=facts.campaign, source=facts.source, medium=facts.medium)
        or default_campaign_id
    )
    before = previous() if facts.self_referral and previous is not None else None
    after = continued(
        stored(touch),
        self_referral=facts.self_referral,
        previous=stored(before) if before is not None else None,
    )
    touch.channel_id, touch.matched_rule = after.channel_id, after.matched_rule
    touch.source, touch.medium, touch.campaign_id = after.source, after.medium, after.campaign_id
    return touch


def _previous_touch(
    *, visitor: Visitor | None, lead: Lead | None, at: datetime | None = None
) -> Touchpoint | None:
    """The touch a self-referral at `at` (default: now) continues (leads.classification)."""
    return previous_touch(
        visitor_id=visitor.pk if visitor is not None else None,
        lead_id=lead.pk if lead is not None else None,
        at=at or timezone.now(),
    )


def visitor_touch(*, visitor_id: str, at: datetime, lead: Lead | None = None) -> Visitor:
    """The visitor with this id, created on first sight (race-safe); last seen moved on."""
    Visitor.objects.bulk_create(
        [Visitor(id=visitor_id, first_seen=at, last_seen=at, lead=lead)], ignore_conflicts=True
    )
    updates: dict[str, Any] = {"last_seen": Greatest("last_seen", Value(at))}
    if lead is not None:
        updates["lead"] = lead
    Visitor.objects.filter(pk=visitor_id).update(**updates)
    return Visitor(id=visitor_id, first_seen=at, last_seen=at, lead=lead)


def first_touch_fields(first: Touchpoint | None) -> dict[str, Any]:
    """The lead fields that follow its first touch: the touch, its channel and campaign."""
    return {
        "first_touch": first,
        "first_channel_id": first.channel_id if first else None,
        "first_campaign_id": first.campaign_id if first else None,
    }


def leads_first_touch_sync(*, touch_ids: Iterable[int]) -> int:
    """Copy the channel and campaign of these touchpoints to the leads they are first touch of.

    For writers that change touchpoints in bulk (reclassification, campaign linking).
    """
    first = Touchpoint.objects.filter(pk=OuterRef("first_touch_id"))
    leads = Lead.objects.filter(first_touch_id__in=list(touch_ids))
    events.announce(LeadsTouchesChanged(lead_ids=tuple(leads.values_list("pk", flat=True))))
    return leads.update(
        first_channel_id=Subquery(first.values("channel_id")[:1]),
        first_campaign_id=Subquery(first.values("campaign_id")[:1]),
    )


def touchpoints_link_campaign(
    *, campaign_id: int, utm_campaign: str, utm_source: str = "", utm_medium: str = ""
) -> int:
    """Attach touchpoints with this campaign's UTM values that have no campaign yet."""
    touches = Touchpoint.objects.filter(campaign__isnull=True, utm_campaign__iexact=utm_campaign)
    if utm_source:
        touches = touches.filter(utm_source__iexact=utm_source)
    if utm_medium:
        touches = touches.filter(utm_medium__iexact=utm_medium)
    rows = list(touches.values_list("pk", "visitor_id", "lead_id"))
    ids = [pk for pk, _visitor, _lead in rows]
    linked = Touchpoint.objects.filter(pk__in=ids).update(campaign_id=campaign_id)
    leads_first_touch_sync(touch_ids=ids)
    if rows:
        # The page views that continue these touches in their visits follow them.
        touchpoints_settle(
            visitor_ids={visitor for _pk, visitor, _lead in rows if visitor},
            lead_ids={lead for _pk, _visitor, lead in rows if lead},
        )
    return linked


def _first_touch_of(lead: Lead) -> Touchpoint | None:
    """The lead's earliest touch that may be its first: late-stitched ones never are."""
    return (
        Touchpoint.objects.filter(lead=lead, late_stitched=False)
        .order_by("occurred_at", "id")
        .first()
    )


def lead_refresh_touches(*, lead: Lead) -> None:
    """Set the lead's first and latest touch from its touchpoints."""
    touches = Touchpoint.objects.filter(lead=lead).order_by("occurred_at", "id")
    updates = {**first_touch_fields(_first_touch_of(lead)), "latest_touch": touches.last()}
    for name, value in updates.items():
        setattr(lead, name, value)
    Lead.objects.filter(pk=lead.pk).update(**updates)
    events.announce(LeadsTouchesChanged(lead_ids=(lead.pk,)))


def visitor_stitch(*, visitor: Visitor, lead: Lead, lead_is_new: bool) -> int:
    """Join a visitor's anonymous page views to the lead it turned into.

    For a lead that already existed, the views from before its creation are joined but flagged
    late_stitched: an anonymous post (anyone may send any visitor id and backdated views) must
    not move a known lead's first touch earlier.
    """
    anonymous = Touchpoint.objects.filter(visitor_id=visitor.pk, lead__isnull=True)
    if lead_is_new:
        return anonymous.update(lead=lead)
    late = anonymous.filter(occurred_at__lt=lead.created_at).update(lead=lead, late_stitched=True)
    return late + anonymous.update(lead=lead)


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
) -> CaptureResult:
    """Store a valid submission, its lead (new or returning) and its form-submit touchpoint.

    Idempotent on `submission_id`: the same payload again returns the first result; a
    different payload under the same id raises IdempotencyConflict. `held` is a post the
    spam check kept that an admin released: it becomes the accepted submission.
    """
    digest = payload_hash(payload)
    submission_id = data.get("submission_id") or None
    if submission_id:
        replay = _replay(form, submission_id, digest)
        if replay is not None:
            return replay
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _capture(form, data, custom, payload, meta, digest, submission_id, held)
        except IntegrityError:
            # A concurrent post won a race: the same submission_id (answer as it did), or the
            # same new email (the lead exists now, so one more try adds a touch to it).
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
) -> CaptureResult:
    now = meta.received_at
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
        submission.save(
            update_fields=["status", "lead", "lead_created", "consent_ignored", "reason"]
        )
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
            user_agent=meta.user_agent[:400],
            ip_hash=meta.ip_hash,
            origin=meta.origin[:300],
        )
    visitor, stitched = None, 0
    if data.get("visitor_id"):
        visitor = visitor_touch(visitor_id=data["visitor_id"], at=now, lead=lead)
        stitched = visitor_stitch(visitor=visitor, lead=lead, lead_is_new=created)
    touch = touchpoint_build(
        kind=Touchpoint.Kind.FORM_SUBMIT,
        occurred_at=now,
        url=data.get("landing_url", ""),
        referrer=data.get("referrer", ""),
        title=form.name,
        tracking=_tracking_values(data),
        lead=lead,
        visitor=visitor,
        submission=submission,
        default_campaign_id=form.default_campaign_id,
        previous=lambda: _previous_touch(visitor=visitor, lead=lead, at=now),
    )
    streams = {"visitor_ids": [visitor.pk] if visitor else [], "lead_ids": [lead.pk]}
    settle = stitched or touches_after(**streams, at=now)
    touch.save()
    if settle:
        touchpoints_settle(**streams)  # the touch landed inside a visit: what follows continues it
    lead_updates["latest_touch"] = touch
    if created:
        lead_updates["creation_touch"] = touch
    if stitched or not lead.first_touch_id:
        lead_updates.update(
            first_touch_fields(_first_touch_of(lead) if stitched or not created else touch)
        )
    for name, value in lead_updates.items():
        setattr(lead, name, value)
    Lead.objects.filter(pk=lead.pk).update(**lead_updates)
    if not created and "first_channel_id" in lead_updates:
        # A new lead's day is marked by its creation.
        events.announce(LeadsTouchesChanged(lead_ids=(lead.pk,)))
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
        errors = {**(serializer.errors if not valid else {}), **custom_errors}
        if errors:
            raise NotCapturable(errors)
        meta = RequestMeta(
            user_agent=held.user_agent, origin=held.origin, received_at=held.received_at
        )
        data = dict(serializer.validated_data)
        data.pop("submission_id", None)  # the held row is the submission: nothing to replay
        result = submission_capture(
            form=held.form, data=data, custom=custom, payload=payload, meta=meta, held=held
        )
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


def page_views_record(*, events: list[dict[str, Any]], meta: RequestMeta) -> int:
    """Store page-view touchpoints from track.js, classified, joined to a known lead."""
    now = meta.received_at
    timed = []
    for event in events:
        at = now
        if event.get("ts"):
            at = datetime.fromtimestamp(event["ts"] / 1000, tz=UTC)
            # A browser clock far off is not trusted: keep the time the server saw.
            if abs(at - now) > timedelta(days=1):
                at = now
        timed.append((at, event))
    timed.sort(key=lambda pair: pair[0])
    with transaction.atomic():
        ids = sorted({event["visitor_id"] for _, event in timed})
        Visitor.objects.bulk_create(
            [Visitor(id=vid, first_seen=now, last_seen=now) for vid in ids], ignore_conflicts=True
        )
        Visitor.objects.filter(pk__in=ids).update(last_seen=Greatest("last_seen", Value(now)))
        # Locked (in id order) so a capture stitching the same visitor waits for us or we for
        # it: either way these page views end up on the lead.
        lead_of = dict(
            Visitor.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("id")
            .values_list("id", "lead_id")
        )
        # A view with a time before its lead existed, from a browser other than the one whose
        # form created the lead (one joined to it later by an anonymous post), is anyone's
        # word: kept, flagged, never that lead's first touch (see visitor_stitch). The creating
        # browser's own views often arrive just after its form (beacons): they count.
        created_of = {
            pk: (created_at, creator)
            for pk, created_at, creator in Lead.objects.filter(
                pk__in={pk for pk in lead_of.values() if pk}
            ).values_list("pk", "created_at", "creation_touch__visitor_id")
        }
        last_touch: dict[str, Touchpoint] = {}
        touches = []
        lead_ids = {lead_id for lead_id in lead_of.values() if lead_id}
        settle = bool(timed) and touches_after(visitor_ids=ids, lead_ids=lead_ids, at=timed[0][0])
        for at, event in timed:
            vid = event["visitor_id"]

            def previous(vid: str = vid, at: datetime = at) -> Touchpoint | None:
                if vid not in last_touch:
                    return previous_touch(visitor_id=vid, lead_id=lead_of.get(vid), at=at)
                return last_touch[vid]

            touch = touchpoint_build(
                kind=Touchpoint.Kind.PAGE_VIEW,
                occurred_at=at,
                url=event["url"],
                referrer=event.get("referrer", ""),
                title=event.get("title", ""),
                tracking=_tracking_values({"landing_url": event["url"]}),
                visitor=Visitor(id=vid),
                previous=previous,
            )
            touch.lead_id = lead_of.get(vid)
            created_at, creator = created_of.get(touch.lead_id, (at, vid))
            touch.late_stitched = at < created_at and creator != vid
            last_touch[vid] = touch
            touches.append(touch)
        Touchpoint.objects.bulk_create(touches)
        if settle:  # some arrived inside visits stored already (late or backdated events)
            touchpoints_settle(visitor_ids=ids, lead_ids=lead_ids)
        for vid, touch in last_touch.items():
            if lead_of.get(vid) and touch.pk:
                Lead.objects.filter(pk=lead_of[vid]).update(latest_touch=touch)
    return len(touches)


def touchpoint_record_offline(
    *,
    lead: Lead,
    occurred_at: datetime,
    channel_name: str,
    campaign_id: int | None = None,
    title: str = "",
) -> Touchpoint:
    """An offline touch logged by sales (event, inbound call) that counts in attribution."""

    channel = Channel.objects.get(name=channel_name)
    settle = touches_after(lead_ids=[lead.pk], at=occurred_at)
    touch = Touchpoint.objects.create(
        kind=Touchpoint.Kind.OFFLINE,
        occurred_at=occurred_at,
        lead=lead,
        title=title[:300],
        source="offline",
        medium=channel_name.lower()[:255],
        channel=channel,
        campaign_id=campaign_id,
        matched_rule=OFFLINE_RULE,
    )
    if settle:
        touchpoints_settle(lead_ids=[lead.pk])
    lead_refresh_touches(lead=lead)
    return touch


def touchpoint_record_email_click(
    *, lead: Lead, occurred_at: datetime, url: str, title: str = ""
) -> Touchpoint:
    """A click on a link of an email we sent, classified by its UTM tags like any touch.

    The url is the tagged destination (utm_medium=email ...), so the channel rules put it in
    Email and the campaign with that utm_campaign (if registered) gets it.
    """
    touch = touchpoint_build(
        kind=Touchpoint.Kind.EMAIL_CLICK,
        occurred_at=occurred_at,
        url=url,
        title=title,
        tracking=_tracking_values({"landing_url": url}),
        lead=lead,
        previous=lambda: _previous_touch(visitor=None, lead=lead, at=occurred_at),
    )
    settle = touches_after(lead_ids=[lead.pk], at=occurred_at)
    touch.save()
    if settle:
        touchpoints_settle(lead_ids=[lead.pk])
    lead_refresh_touches(lead=lead)
    return touch


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
