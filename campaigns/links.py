"""Tracked links: UTM hygiene, the sources and mediums each channel allows, near-duplicates.

Which source and medium land in which channel is not a second list to keep in step with the
rules: it is found by running the stored channel rules (the real classifier) over common
sources and mediums, the ones in the default channel group and the ones seen on traffic
(which the caller passes in: touches are leads', a layer up).
A link is then checked the same way: its tagged URL is classified and must land in the
campaign's channel.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.cache import cache
from django.utils.translation import gettext as _

from campaigns import default_rules
from campaigns.channeling import UNASSIGNED

UTM_VALUE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_SEEN = 500
MAX_CANDIDATES = 60
# Gives the utm_source and utm_medium values of stored touches, most used first: leads reads
# them (leads.selectors.utm_values_seen) and the page passes that function in; it is called
# only when the values are needed (placements are cached per rules version).
Seen = Callable[[], tuple[list[str], list[str]]]

COMMON_SOURCES = (
    "google", "bing", "duckduckgo", "yahoo", "facebook", "instagram", "linkedin", "twitter",
    "x", "tiktok", "reddit", "pinterest", "youtube", "vimeo", "amazon", "ebay", "newsletter",
    "email", "sms", "partner", "affiliate", "spotify", "podcast", "firebase", "gdn", "criteo",
    "taboola", "outbrain", "event", "webinar", "saastr",
)  # fmt: skip
COMMON_MEDIUMS = (
    "cpc", "ppc", "paid_social", "paid_search", "paid_video", "paid_shopping", "cpm", "cpv",
    "retargeting", "display", "banner", "social", "organic", "referral", "link", "email",
    "affiliate", "audio", "sms", "push", "mobile_push", "video", "event", "webinar",
    "conference", "tradeshow", "offline", "call",
)  # fmt: skip


def clean_value(raw: str) -> tuple[str, str | None]:
    """A UTM value in lower case; with the reason it is refused, if it is."""
    value = (raw or "").strip().lower()
    if not value:
        return value, None
    if any(c.isspace() for c in value):
        suggestion = re.sub(r"\s+", "_", value)
        return value, _("no spaces: use “%(s)s”") % {"s": suggestion}
    if not UTM_VALUE.match(value):
        return value, _("only a-z, 0-9, “.”, “_” and “-”, starting with a letter or digit")
    return value, None


def normalised(value: str) -> str:
    """What two spellings of the same source share: face-book, Facebook, facebook."""
    return re.sub(r"[^a-z0-9]", "", (value or "").lower())


def tagged_url(
    *, destination: str, utm_campaign: str, source: str, medium: str, content: str = "",
    term: str = "",
) -> str:  # fmt: skip
    """The destination with UTM tags (replacing any it had), other query values kept."""
    parts = urlsplit(destination)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_")
    ]
    tags = [("utm_source", source), ("utm_medium", medium), ("utm_campaign", utm_campaign)]
    tags += [(k, v) for k, v in (("utm_content", content), ("utm_term", term)) if v]
    return urlunsplit(parts._replace(query=urlencode(query + tags)))


def _candidates(seen: Seen) -> tuple[list[str], list[str]]:
    from campaigns.models import TrackedLink

    sources = set(COMMON_SOURCES)
    mediums = set(COMMON_MEDIUMS)
    for values in (
        default_rules.DISPLAY_MEDIUMS, default_rules.SOCIAL_MEDIUMS,
        default_rules.REFERRAL_MEDIUMS, default_rules.EMAIL_VALUES,
        default_rules.SALES_CALL_MEDIUMS, default_rules.EVENT_MEDIUMS,
        default_rules.OFFLINE_MEDIUMS,
    ):  # fmt: skip
        mediums.update(values)
    sources.update(TrackedLink.objects.values_list("source", flat=True).distinct()[:MAX_CANDIDATES])
    mediums.update(TrackedLink.objects.values_list("medium", flat=True).distinct()[:MAX_CANDIDATES])
    seen_sources, seen_mediums = seen()
    sources.update(v.strip().lower() for v in seen_sources[:MAX_CANDIDATES])
    mediums.update(v.strip().lower() for v in seen_mediums[:MAX_CANDIDATES])
    keep = [v for v in sources if v and clean_value(v)[1] is None]
    return sorted(keep), sorted(m for m in mediums if m and clean_value(m)[1] is None)


@dataclass
class Placements:
    """The sources and mediums whose links land in one channel."""

    sources: list[str] = field(default_factory=list)
    mediums: list[str] = field(default_factory=list)


def placements_by_channel(*, seen: Seen) -> dict[str, Placements]:
    """Channel name -> sources and mediums that classify into it (cached per rules version),
    trying the common values and the ones `seen` on traffic."""
    import hashlib

    from campaigns.rules import classify, rules_version

    key = "campaigns:placements:" + hashlib.sha256(rules_version().encode()).hexdigest()[:24]
    cached = cache.get(key)
    if cached is not None:
        return cached
    sources, mediums = _candidates(seen)
    found: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for source in sources:
        for medium in mediums:
            channel = classify(utm_source=source, utm_medium=medium, utm_campaign="x").match
            if channel.channel != UNASSIGNED:
                found[channel.channel][0].add(source)
                found[channel.channel][1].add(medium)
    result = {name: Placements(sorted(s), sorted(m)) for name, (s, m) in found.items()}
    cache.set(key, result, 600)
    return result


def near_duplicates(value: str, *, kind: str, seen: Seen) -> list[str]:
    """Values already used (on links and touchpoints) that differ from `value` only in case
    or punctuation: `face-book` when `facebook` exists."""
    from campaigns.models import TrackedLink

    key = normalised(value)
    if not key:
        return []
    field_name = "source" if kind == "source" else "medium"
    seen_links = set(TrackedLink.objects.values_list(field_name, flat=True).distinct()[:MAX_SEEN])
    used = seen_links | set(seen()[0 if kind == "source" else 1])
    return sorted({s for s in used if s != value and normalised(s) == key})


@dataclass
class LinkCheck:
    """A placement checked: the tagged URL, the channel it lands in, errors and warnings."""

    url: str = ""
    channel: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, object]:
        return {"url": self.url, "channel": self.channel, "ok": self.ok, "errors": self.errors,
                "warnings": self.warnings}  # fmt: skip


def check_link(
    *, campaign: object, destination: str, source: str, medium: str, content: str = "",
    term: str = "", seen: Seen,
) -> tuple[LinkCheck, dict[str, str]]:  # fmt: skip
    """Clean and check a placement for `campaign`; returns the check and the cleaned values.
    `seen` gives the sources and mediums on stored traffic (leads.selectors.utm_values_seen)."""
    from campaigns.rules import classify

    result = LinkCheck()
    values: dict[str, str] = {}
    for name, raw in (("source", source), ("medium", medium), ("content", content),
                      ("term", term)):  # fmt: skip
        value, problem = clean_value(raw)
        values[name] = value
        if problem:
            result.errors.setdefault(name, []).append(problem)
        elif raw.strip() and raw.strip() != value:
            result.warnings.append(
                _("%(name)s written in lower case: “%(v)s”") % {"name": name, "v": value}
            )
    for name in ("source", "medium"):
        if not values[name]:
            result.errors.setdefault(name, []).append(_("required"))
    dest = (destination or "").strip()
    if not dest.startswith(("https://", "http://")) or not urlsplit(dest).hostname:
        result.errors.setdefault("destination", []).append(_("a full http(s):// address"))
    for name in ("source", "medium"):
        fixed = getattr(campaign, f"utm_{name}", "")
        if fixed and values[name] and values[name] != fixed:
            result.errors.setdefault(name, []).append(
                _("this campaign only claims %(name)s “%(v)s”") % {"name": name, "v": fixed}
            )
    channel = getattr(campaign, "channel", None)
    allowed = placements_by_channel(seen=seen).get(channel.name) if channel else None
    if allowed and values["medium"] and values["medium"] not in allowed.mediums:
        result.errors.setdefault("medium", []).append(
            _("not a medium of %(channel)s; use one of: %(list)s")
            % {"channel": channel.name, "list": ", ".join(allowed.mediums[:12])}
        )
    if result.errors.get("destination"):
        return result, values
    result.url = tagged_url(
        destination=dest,
        utm_campaign=campaign.utm_campaign,
        **values,  # type: ignore[attr-defined]
    )
    if values["source"] and values["medium"]:
        result.channel = classify(landing_url=result.url).match.channel
        if result.channel == UNASSIGNED:
            result.errors.setdefault("medium", []).append(
                _("this source and medium land in no channel (Unassigned)")
            )
        elif channel and result.channel != channel.name:
            result.errors.setdefault("medium", []).append(
                _("this link would count as %(got)s, not %(want)s")
                % {"got": result.channel, "want": channel.name}
            )
        elif not channel:
            result.warnings.append(
                _("the campaign has no channel; this link counts as %s") % result.channel
            )
    for name in ("source", "medium"):
        for twin in near_duplicates(values[name], kind=name, seen=seen):
            result.warnings.append(
                _("%(name)s “%(v)s” looks like “%(twin)s”, already in use")
                % {"name": name, "v": values[name], "twin": twin}
            )
    return result, values
