"""Every write of touchpoints and visitors: a touch built and classified, page views stored
from track.js, offline touches logged by sales, clicks in our emails; a visitor seen and
stitched to its lead; a lead's first and latest touch kept in step (LeadsTouchesChanged).
Form captures (leads.services) build their form-submit touch here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from campaigns.models import Channel
from campaigns.rules import classify
from campaigns.selectors import campaign_id_for
from clm import events
from clm.events import LeadsTouchesChanged
from leads.classification import (
    OFFLINE_RULE,
    continued,
    previous_touch,
    stored,
    touches_after,
    touchpoints_settle,
)
from leads.models import Lead, Submission, Touchpoint, Visitor
from leads.serializers import CLICK_ID_FIELDS, UTM_FIELDS

if TYPE_CHECKING:
    from leads.services import RequestMeta


def tracking_values(data: dict[str, Any]) -> dict[str, Any]:
    """UTM tags and click ids from the fields, else from landing_url's query string."""
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


def touch_before(
    *, visitor: Visitor | None, lead: Lead | None, at: datetime | None = None
) -> Touchpoint | None:
    """The touch a self-referral at `at` (default: now) continues (leads.classification)."""
    return previous_touch(
        visitor_id=visitor.pk if visitor is not None else None,
        lead_id=lead.pk if lead is not None else None,
        at=at or timezone.now(),
    )


def visitor_touch(*, visitor_id: str, at: datetime, lead: Lead | None = None) -> Visitor:
    """The visitor with this id, created on first sight (race-safe); last seen moved on.

    One statement (an upsert), so a capture spends one round trip on its visitor. The
    returned visitor's `first_seen` is the stored one: `at` when it was first seen now.
    """
    table = connection.ops.quote_name(Visitor._meta.db_table)
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    when = connection.ops.adapt_datetimefield_value(at)
    # The model's table name and a function name; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (id, first_seen, last_seen, lead_id) VALUES (%s, %s, %s, %s) "  # noqa: S608  # nosec B608
        f"ON CONFLICT (id) DO UPDATE SET last_seen = {greatest}({table}.last_seen, "
        f"excluded.last_seen), lead_id = COALESCE(excluded.lead_id, {table}.lead_id) "
        "RETURNING first_seen"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [visitor_id, when, when, lead.pk if lead is not None else None])
        (first_seen,) = cursor.fetchone()
    return Visitor(id=visitor_id, first_seen=at if first_seen == when else None, last_seen=at,
                   lead=lead)  # fmt: skip


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


def first_touch_of(lead: Lead) -> Touchpoint | None:
    """The lead's earliest touch that may be its first: late-stitched ones never are."""
    return (
        Touchpoint.objects.filter(lead=lead, late_stitched=False)
        .order_by("occurred_at", "id")
        .first()
    )


def lead_refresh_touches(*, lead: Lead) -> None:
    """Set the lead's first and latest touch from its touchpoints."""
    touches = Touchpoint.objects.filter(lead=lead).order_by("occurred_at", "id")
    updates = {**first_touch_fields(first_touch_of(lead)), "latest_touch": touches.last()}
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


def page_views_record(*, events: list[dict[str, Any]], meta: RequestMeta) -> int:
    """Store page-view touchpoints from track.js, classified, joined to a known lead."""
    return page_views_store(requests=[(events, meta.received_at)])


def _visitors_seen(seen: dict[str, tuple[datetime, datetime]]) -> None:
    """Create or move on these visitors in one statement: {id: (first seen, last seen)}.

    A known visitor keeps its first sighting and takes the later of the two last sightings,
    as if each request had been stored on its own.
    """
    if not seen:
        return
    table = connection.ops.quote_name(Visitor._meta.db_table)
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    adapt = connection.ops.adapt_datetimefield_value
    rows = ", ".join(["(%s, %s, %s)"] * len(seen))
    params: list[Any] = []
    for vid in sorted(seen):
        first, last = seen[vid]
        params += [vid, adapt(first), adapt(last)]
    # The model's table name and a function name; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (id, first_seen, last_seen) VALUES {rows} "  # noqa: S608  # nosec B608
        f"ON CONFLICT (id) DO UPDATE SET last_seen = {greatest}({table}.last_seen, "
        "excluded.last_seen)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def page_views_store(*, requests: list[tuple[list[dict[str, Any]], datetime]]) -> int:
    """Store the page views of several track requests, each (events, received at), in one
    transaction with one insert: what storing each request on its own in that order stores.

    Used by the track endpoint directly (no buffer configured) and by the drainer of the
    page-view buffer (leads.pageviews).
    """
    timed = []
    seen: dict[str, tuple[datetime, datetime]] = {}
    for request_events, now in requests:
        for event in request_events:
            at = now
            if event.get("ts"):
                at = datetime.fromtimestamp(event["ts"] / 1000, tz=UTC)
                # A browser clock far off is not trusted: keep the time the server saw.
                if abs(at - now) > timedelta(days=1):
                    at = now
            timed.append((at, event))
            vid = event["visitor_id"]
            first, last = seen.get(vid, (now, now))
            seen[vid] = (min(first, now), max(last, now))
    timed.sort(key=lambda pair: pair[0])
    with transaction.atomic():
        ids = sorted(seen)
        _visitors_seen(seen)
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
                tracking=tracking_values({"landing_url": event["url"]}),
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
        latest: dict[int, Touchpoint] = {}
        for vid, touch in last_touch.items():
            if lead_of.get(vid) and touch.pk:
                latest[lead_of[vid]] = touch
        if latest:
            Lead.objects.bulk_update(
                [Lead(pk=pk, latest_touch=touch) for pk, touch in latest.items()],
                ["latest_touch"],
            )
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
        tracking=tracking_values({"landing_url": url}),
        lead=lead,
        previous=lambda: touch_before(visitor=None, lead=lead, at=occurred_at),
    )
    settle = touches_after(lead_ids=[lead.pk], at=occurred_at)
    touch.save()
    if settle:
        touchpoints_settle(lead_ids=[lead.pk])
    lead_refresh_touches(lead=lead)
    return touch
