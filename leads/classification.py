"""One classification of touchpoints that sees each touch's place in its visit.

A touch is first classified alone by the channel rules (campaigns.rules.classify). A
self-referral (navigation within the site, a payment page sending the visitor back) is not a
new source: it continues the touch before it, as GA4 continues a session, and takes that
touch's channel, rule, source, medium and campaign. "The touch before it" is the latest
earlier touch of the same visitor, in (occurred_at, id) order; when the visitor has none (or
the touch has no visitor), the latest earlier touch of the same lead. A self-referral with no
touch before it keeps its own classification.

Capture, track, email clicks, reclassification, the dry-run and the rule bench all go
through `continued` below, so classifying stored touches again with unchanged rules
reproduces exactly what capture stored. Touches logged by sales (kind offline, matched_rule
"offline") carry a channel a person chose: the rules leave them alone, but they do continue
visits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from campaigns.channeling import CompiledRules
from campaigns.rules import classify
from leads.models import Lead, Touchpoint

OFFLINE_RULE = "offline"
# What the classification decides on a stored touch (and what an undo restores).
FIELDS = ("channel", "matched_rule", "source", "medium", "campaign", "self_referral")


@dataclass(frozen=True, slots=True)
class Channeled:
    """The channel, rule, source, medium and campaign a touch is counted under."""

    channel_id: int
    matched_rule: str
    source: str
    medium: str
    campaign_id: int | None


def continued(own: Channeled, *, self_referral: bool, previous: Channeled | None) -> Channeled:
    """What a touch counts as: a self-referral continues the touch before it, else itself."""
    return previous if self_referral and previous is not None else own


def stored(touch: Any) -> Channeled:
    """What a stored (or just built) touch counts as now."""
    return Channeled(
        touch.channel_id, touch.matched_rule, touch.source, touch.medium, touch.campaign_id
    )


class VisitChain:
    """The latest touch so far per visitor and per lead, for a walk in (occurred_at, id) order.

    Carried across batches, so a batch boundary never breaks a visit.
    """

    def __init__(self) -> None:
        self.by_visitor: dict[str, Channeled] = {}
        self.by_lead: dict[int, Channeled] = {}

    def previous(self, *, visitor_id: str | None, lead_id: int | None) -> Channeled | None:
        """The touch a self-referral of this visitor (else this lead) continues."""
        found = self.by_visitor.get(visitor_id) if visitor_id else None
        if found is None and lead_id:
            found = self.by_lead.get(lead_id)
        return found

    def add(
        self, *, visitor_id: str | None = None, lead_id: int | None = None, value: Channeled
    ) -> None:
        if visitor_id:
            self.by_visitor[visitor_id] = value
        if lead_id:
            self.by_lead[lead_id] = value


def previous_touch(
    *, visitor_id: str | None, lead_id: int | None, at: datetime, before_id: int | None = None
) -> Touchpoint | None:
    """The stored touch a self-referral at `at` continues: the visitor's, else the lead's.

    `before_id` is the touch's own id when it is stored (ties on time go by id); a touch not
    stored yet comes after every stored touch of the same time.
    """
    earlier = Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=before_id or 2**62)
    for name, value in (("visitor_id", visitor_id), ("lead_id", lead_id)):
        if value:
            found = (
                Touchpoint.objects.filter(earlier, **{name: value})
                .order_by("-occurred_at", "-id")
                .first()
            )
            if found is not None:
                return found
    return None


@dataclass(frozen=True, slots=True)
class Reclassified:
    """One stored touch: what it counts as now and what the rules say it should."""

    touch_id: int
    before: Channeled
    after: Channeled
    self_referral_before: bool
    self_referral_after: bool

    @property
    def changed(self) -> bool:
        return self.before != self.after or self.self_referral_before != self.self_referral_after


WALK_FIELDS = (
    "id", "kind", "occurred_at", "visitor_id", "lead_id", "utm_source", "utm_medium",
    "utm_campaign", "referrer", "url", "click_ids", "channel_id", "matched_rule", "source",
    "medium", "campaign_id", "self_referral",
)  # fmt: skip


def _window(latest: int, chain: VisitChain) -> Any:
    """The latest `latest` touches (whole instants), with the chain seeded by what the touch
    before the window of each of their visitors and leads counts as now."""
    edge = Touchpoint.objects.order_by("-occurred_at", "-id").values_list("occurred_at")
    cutoff = edge[latest - 1 : latest].first()
    if cutoff is None:
        return Touchpoint.objects.all()
    window = Touchpoint.objects.filter(occurred_at__gte=cutoff[0])
    earlier = Touchpoint.objects.filter(occurred_at__lt=cutoff[0])
    for name in ("visitor_id", "lead_id"):
        rows = earlier.filter(**{f"{name}__in": window.exclude(**{name: None}).values(name)})
        columns = (name, "channel_id", "matched_rule", "source", "medium", "campaign_id")
        for key, *value in rows.order_by(name, "occurred_at", "id").values_list(*columns):
            chain.add(**{name: key}, value=Channeled(*value))  # the last one per key stays
    return window


def touchpoints_walk(
    *, compiled: CompiledRules | None = None, latest: int | None = None, chunk_size: int = 5000
) -> Iterator[Reclassified]:
    """Every stored touch (or the `latest` ones) in (occurred_at, id) order, classified in its
    visit by `compiled` (default: the stored rules).

    With `latest`, a visit that began before the window continues what its touch before the
    window counts as now (exact for the stored rules; a candidate rule is not applied to it).
    """
    chain = VisitChain()
    # An erased person's touches lost the referrer, tags and click ids the rules read, but
    # keep their channel so attribution is unchanged: the rules can no longer judge them.
    erased = set(Lead.objects.filter(erased_at__isnull=False).values_list("id", flat=True))
    touches = _window(latest, chain) if latest else Touchpoint.objects.all()
    rows = touches.order_by("occurred_at", "id")
    for row in rows.values_list(*WALK_FIELDS).iterator(chunk_size):
        values = dict(zip(WALK_FIELDS, row, strict=True))
        before = Channeled(
            values["channel_id"], values["matched_rule"], values["source"], values["medium"],
            values["campaign_id"],
        )  # fmt: skip
        if values["lead_id"] in erased:
            chain.add(visitor_id=values["visitor_id"], lead_id=values["lead_id"], value=before)
            sr = values["self_referral"]
            yield Reclassified(values["id"], before, before, sr, sr)
            continue
        if values["kind"] == Touchpoint.Kind.OFFLINE and values["matched_rule"] == OFFLINE_RULE:
            own, self_referral = before, False
        else:
            result = classify(
                utm_source=values["utm_source"],
                utm_medium=values["utm_medium"],
                utm_campaign=values["utm_campaign"],
                referrer=values["referrer"],
                landing_url=values["url"],
                click_ids=values["click_ids"] or None,
                compiled=compiled,
            )
            self_referral = result.facts.self_referral
            own = Channeled(
                result.channel_id, result.match.rule_id or "", result.facts.source[:255],
                result.facts.medium[:255], values["campaign_id"],
            )  # fmt: skip
        previous = chain.previous(visitor_id=values["visitor_id"], lead_id=values["lead_id"])
        after = continued(own, self_referral=self_referral, previous=previous)
        chain.add(visitor_id=values["visitor_id"], lead_id=values["lead_id"], value=after)
        yield Reclassified(values["id"], before, after, values["self_referral"], self_referral)


def _streams(*, visitor_ids: Iterable[str], lead_ids: Iterable[int]) -> Q:
    """Every touch a self-referral of these visitors or leads may continue, and every touch
    that may continue one of theirs: the visitors' and leads' touches, and those of the
    other visitors of these leads (a walk over them needs nothing outside them)."""
    visitor_ids, lead_ids = {v for v in visitor_ids if v}, {n for n in lead_ids if n}
    linked = Touchpoint.objects.filter(Q(visitor_id__in=visitor_ids) | Q(lead_id__in=lead_ids))
    lead_ids |= set(linked.exclude(lead_id=None).values_list("lead_id", flat=True).distinct())
    visitor_ids |= set(
        Touchpoint.objects.filter(lead_id__in=lead_ids)
        .exclude(visitor_id=None)
        .values_list("visitor_id", flat=True)
        .distinct()
    )
    return Q(visitor_id__in=visitor_ids) | Q(lead_id__in=lead_ids)


def touches_after(
    *, visitor_ids: Iterable[str] = (), lead_ids: Iterable[int] = (), at: datetime
) -> bool:
    """True when these visitors or leads have a stored touch later than `at`: a touch added
    at `at` then lands inside a visit, and the visit must be settled."""
    return Touchpoint.objects.filter(
        _streams(visitor_ids=visitor_ids, lead_ids=lead_ids), occurred_at__gt=at
    ).exists()


def touchpoints_settle(*, visitor_ids: Iterable[str] = (), lead_ids: Iterable[int] = ()) -> int:
    """After touches were added inside visits (or joined to a lead), let every self-referral
    of these visitors and leads continue what now comes before it; how many changed.

    Only the continuation is settled; the rules are not applied again (that is
    reclassification's job, which an admin confirms).
    """
    from leads.touches import leads_first_touch_sync

    scope = _streams(visitor_ids=visitor_ids, lead_ids=lead_ids)
    chain = VisitChain()
    changed = []
    rows = Touchpoint.objects.filter(scope).order_by("occurred_at", "id")
    only = ("channel_id", "matched_rule", "source", "medium", "campaign_id")
    for touch in rows.only("id", "visitor_id", "lead_id", "self_referral", *only):
        previous = chain.previous(visitor_id=touch.visitor_id, lead_id=touch.lead_id)
        now = stored(touch)
        after = continued(now, self_referral=touch.self_referral, previous=previous)
        chain.add(visitor_id=touch.visitor_id, lead_id=touch.lead_id, value=after)
        if after != now:
            touch.channel_id, touch.matched_rule, touch.source = after.channel_id, \
                after.matched_rule, after.source  # fmt: skip
            touch.medium, touch.campaign_id = after.medium, after.campaign_id
            changed.append(touch)
    if changed:
        with transaction.atomic():
            Touchpoint.objects.bulk_update(changed, list(FIELDS[:5]), batch_size=1000)
            leads_first_touch_sync(touch_ids=[t.pk for t in changed])
    return len(changed)


def visits_continue(touches: Iterable[Any]) -> None:
    """Let the self-referrals among unsaved touches continue the touch before them, in
    (occurred_at, id) order (for writers that build whole journeys, e.g. the demo)."""
    chain = VisitChain()
    for touch in sorted(touches, key=lambda t: (t.occurred_at, t.id or 0)):
        previous = chain.previous(visitor_id=touch.visitor_id, lead_id=touch.lead_id)
        after = continued(stored(touch), self_referral=touch.self_referral, previous=previous)
        touch.channel_id, touch.matched_rule = after.channel_id, after.matched_rule
        touch.source, touch.medium, touch.campaign_id = (
            after.source,
            after.medium,
            after.campaign_id,
        )
        chain.add(visitor_id=touch.visitor_id, lead_id=touch.lead_id, value=after)
