"""GA4-compatible marketing channel classification, free of any Django import.

A touch (one arrival of a visitor, or one contact logged by sales) is reduced to normalised
``TouchFacts`` by ``extract_facts``; an ordered list of ``Rule`` objects, compiled once with
``compile_rules``, maps those facts to a channel with ``classify`` (first match wins).

Evidence order in ``extract_facts``:

1. explicit UTM tags (the ``utm_*`` arguments, else the landing URL's query string);
2. ad-platform click ids (``gclid`` and friends), which fill in whatever UTM left out;
3. the referrer: our own site or a known redirector (payment, webmail, sign-in) is not a new
   source; a search engine is Organic Search; any other host is a referral, which the source
   categories then turn into Organic Social / Video / Shopping where they apply;
4. otherwise Direct.

Every input is untrusted: malformed parts are treated as absent and nothing here raises on
bad touch data. Only rule compilation raises (``RuleError``), because rules are configuration.
"""

from __future__ import annotations

import csv
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote_plus

__all__ = [
    "CATEGORIES",
    "CONDITION_FIELDS",
    "CONDITION_OPS",
    "DEFAULT_CATEGORIES_CSV",
    "DIRECT_MEDIUM",
    "DIRECT_SOURCE",
    "REDIRECTOR_DOMAINS",
    "REDIRECTOR_HOST_PREFIXES",
    "UNASSIGNED",
    "Channel",
    "CompiledRules",
    "Condition",
    "Match",
    "Rule",
    "RuleError",
    "SourceCategories",
    "TouchFacts",
    "classify",
    "classify_touch",
    "compile_rules",
    "default_categories",
    "default_compiled_rules",
    "extract_facts",
    "registrable_label",
]

UNASSIGNED: Final = "Unassigned"
DIRECT_SOURCE: Final = "(direct)"
DIRECT_MEDIUM: Final = "(none)"

DEFAULT_CATEGORIES_CSV: Final = (
    Path(__file__).resolve().parent / "data" / "ga4_source_categories.csv"
)

CATEGORIES: Final = frozenset({"SEARCH", "SOCIAL", "SHOPPING", "VIDEO"})
_CATEGORY_PREFIX: Final = "SOURCE_CATEGORY_"

# Real UTM values are short; anything this long is junk (or an injection attempt) and would
# also overflow the CRM's varchar columns, so it is dropped rather than truncated.
MAX_FIELD_LENGTH: Final = 255
# Browsers cap Referer at a few KB and most servers refuse request lines above 8 KB.
MAX_URL_LENGTH: Final = 8192
_MAX_HOST_LENGTH: Final = 253
_MAX_LABEL_LENGTH: Final = 63

# Hosts that sit between two pages of the same visit: sending the visitor back to us from
# here is not a new marketing source (GA4 calls this an "unwanted referral"). A host matches
# an entry when it equals it or is a subdomain of it.
REDIRECTOR_DOMAINS: Final = frozenset(
    {
        # payment pages and 3-D Secure / wallet hand-offs
        "paypal.com",
        "paypal.me",
        "checkout.stripe.com",
        "billing.stripe.com",
        "invoice.stripe.com",
        "hooks.stripe.com",
        "pay.google.com",
        "payments.google.com",
        "pay.amazon.com",
        "payments.amazon.com",
        "klarna.com",
        "afterpay.com",
        "clearpay.co.uk",
        "adyen.com",
        "mollie.com",
        "checkout.square.site",
        "squareup.com",
        "checkout.shopify.com",
        "shop.app",
        "pay.gocardless.com",
        "checkout.paddle.com",
        "razorpay.com",
        "secure.authorize.net",
        "worldpay.com",
        "sagepay.com",
        "opayo.co.uk",
        "3dsecure.io",
        # webmail: the click came from a message, but without UTM tags we cannot tell which
        "mail.google.com",
        "inbox.google.com",
        "outlook.live.com",
        "outlook.office.com",
        "outlook.office365.com",
        "mail.yahoo.com",
        "mail.yahoo.co.jp",
        "mail.aol.com",
        "mail.yandex.ru",
        "mail.yandex.com",
        "mail.proton.me",
        "mail.protonmail.com",
        "mail.zoho.com",
        "mail.zoho.eu",
        "mail.gmx.net",
        "mail.gmx.com",
        "navigator-bs.gmx.com",
        "email.t-online.de",
        # single sign-on round trips
        "accounts.google.com",
        "login.microsoftonline.com",
        "login.live.com",
        "appleid.apple.com",
    }
)
# Many ISPs and hosting panels serve webmail from a ``webmail.`` host of their own domain.
REDIRECTOR_HOST_PREFIXES: Final = ("webmail.",)

# Click-id parameter -> (source, medium) it implies, in order of precedence when several are
# present. fbclid is appended by Facebook to *every* outbound link, paid or not, so on its own
# it only proves the visitor came from Facebook: Organic Social, unless a UTM medium says paid.
_CLICK_ID_EVIDENCE: Final[tuple[tuple[str, str, str], ...]] = (
    ("gclid", "google", "cpc"),
    ("wbraid", "google", "cpc"),
    ("gbraid", "google", "cpc"),
    ("dclid", "google", "cpc"),
    ("msclkid", "bing", "cpc"),
    ("yclid", "yandex", "cpc"),
    ("ttclid", "tiktok", "cpc"),
    ("li_fat_id", "linkedin", "cpc"),
    ("twclid", "twitter", "cpc"),
    ("sccid", "snapchat", "cpc"),
    ("epik", "pinterest", "cpc"),
    ("rdt_cid", "reddit", "cpc"),
    ("fbclid", "facebook", "social"),
)
CLICK_ID_NAMES: Final = frozenset(name for name, _, _ in _CLICK_ID_EVIDENCE)
_UTM_KEYS: Final = ("utm_source", "utm_medium", "utm_campaign")
_WANTED_QUERY_KEYS: Final = CLICK_ID_NAMES | frozenset(_UTM_KEYS)

# Public suffixes with two labels, enough to find the brand label of the hosts in GA4's list
# and of the common search engines without shipping the full Public Suffix List.
_TWO_LEVEL_SUFFIXES: Final = frozenset(
    f"{second}.{tld}"
    for tld, seconds in {
        "uk": "co org ac gov me ltd plc net sch nhs police",
        "au": "com net org edu gov asn id",
        "nz": "co net org ac govt school geek gen",
        "jp": "co ne or ac go ad ed gr lg",
        "kr": "co or ne ac go re",
        "id": "co or web ac go net sch my biz",
        "br": "com net org gov edu art blog",
        "in": "co net org ac gov firm gen ind",
        "za": "co org net ac gov web",
        "il": "co org net ac gov muni",
        "th": "co in ac go or net",
        "cn": "com net org gov edu ac",
        "tw": "com net org gov edu idv",
        "hk": "com net org gov edu idv",
        "mx": "com net org gob edu",
        "ar": "com net org gob edu int",
        "tr": "com net org gov edu biz info gen web",
        "sg": "com net org gov edu per",
        "my": "com net org gov edu name",
        "ph": "com net org gov edu",
        "vn": "com net org gov edu",
        "pk": "com net org gov edu",
        "sa": "com net org gov edu",
        "eg": "com net org gov edu",
        "ng": "com net org gov edu",
        "co": "com net org gov edu",
        "pe": "com net org gob edu",
        "ve": "com net org gob edu co",
        "ua": "com net org gov edu",
        "pl": "com net org gov edu",
        "ru": "com net org",
        "ke": "co or ne ac go",
        "ec": "com net org gob edu",
        "uy": "com net org gub edu",
        "do": "com net org gob edu",
        "gt": "com net org gob edu",
        "bd": "com net org gov edu",
        "np": "com net org gov edu",
        "lb": "com net org gov edu",
        "kw": "com net org gov edu",
        "qa": "com net org gov edu",
        "om": "com net org gov edu co",
        "cr": "co ac or go",
        "hu": "co org",
        "cy": "com net org gov ac",
        "mt": "com net org gov edu",
        "ge": "com net org gov edu",
    }.items()
    for second in seconds.split()
)

_URL_SCHEME_RE: Final = re.compile(r"[a-z][a-z0-9+.\-]*:", re.IGNORECASE)
_HOST_PORT_RE: Final = re.compile(r"[^:/?#\\]+:\d{1,5}(?:[/?#\\]|$)")
# Backslash ends the authority too: browsers read "https://a.com\\@b.com" as host a.com.
_AUTHORITY_END_RE: Final = re.compile(r"[/?#\\]")
_BAD_ESCAPE_RE: Final = re.compile(r"%(?![0-9a-fA-F]{2})")
_LABEL_RE: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?")
_URL_STRIP: Final = "".join(chr(c) for c in range(0x21))
_REMOVED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


class RuleError(ValueError):
    """A channel rule cannot be compiled; ``rule_id`` names the offending rule."""

    def __init__(self, rule_id: str | None, message: str) -> None:
        self.rule_id = rule_id
        super().__init__(f"rule {rule_id!r}: {message}")


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _clean_cached(value: str) -> str:
    """Trim, collapse whitespace and case-fold one (already length-checked) string."""
    if value.isascii() and value.isprintable():
        return " ".join(value.split()).lower()
    # Controls, format characters and lone surrogates cannot be told apart by eye and would
    # break UTF-8 encoding on the way to the database, so they are dropped outright.
    kept = "".join(
        ch for ch in value if unicodedata.category(ch) not in _REMOVED_CATEGORIES or ch.isspace()
    )
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", kept).casefold())
    return " ".join(folded.split())


def _clean(value: object) -> str:
    """Normalise an untrusted scalar; non-strings and oversized strings count as absent."""
    if not isinstance(value, str) or not value or len(value) > MAX_FIELD_LENGTH:
        return ""
    return _clean_cached(value)


@lru_cache(maxsize=16384)
def _normalise_host(raw: str) -> str:
    """Lower-case, IDNA-encode and validate a bare host name; return "" when it is not valid."""
    host = raw.strip().rstrip(".").lower()
    if not host or len(host) > 1024:
        return ""
    if host.startswith("["):
        if not host.endswith("]"):
            return ""
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            return ""
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except (UnicodeError, ValueError):
            return ""
    if len(host) > _MAX_HOST_LENGTH:
        return ""
    for label in host.split("."):
        if len(label) > _MAX_LABEL_LENGTH or not _LABEL_RE.fullmatch(label):
            return ""
    return host


def _is_ip_host(host: str) -> bool:
    """True when ``host`` is an IP literal, which has no parent domain or brand."""
    return host.startswith("[") or host.rpartition(".")[2].isdigit()


def _split_url(url: object) -> tuple[str, str]:
    """Return (normalised host, raw query) of an untrusted URL; absent parts are ""."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        return "", ""
    if "\t" in url or "\n" in url or "\r" in url:
        # Browsers silently drop these anywhere in a URL, so we do too.
        url = url.replace("\t", "").replace("\n", "").replace("\r", "")
    url = url.strip(_URL_STRIP)
    head = url[:8].lower()
    if head.startswith("https://"):
        rest = url[8:]
    elif head.startswith("http://"):
        rest = url[7:]
    elif url.startswith(("//", "\\\\")):
        rest = url[2:]
    elif url.startswith(("/", "?")):
        # A path (e.g. Django's request.get_full_path()): no host, but the query still counts.
        return "", _query_part(url)
    elif _URL_SCHEME_RE.match(url) and not _HOST_PORT_RE.match(url):
        # javascript:, data:, mailto:, android-app:... carry no web host we could credit.
        return "", ""
    else:
        rest = url
    delimiter = _AUTHORITY_END_RE.search(rest)
    end = delimiter.start() if delimiter else len(rest)
    authority = rest[:end]
    if rest is url and "." not in authority and not authority.startswith("["):
        # Without a scheme a bare word ("pricing?x=1") is a relative path, not a host.
        return "", _query_part(url)
    return _host_from_authority(authority), _query_part(rest[end:])


def _query_part(tail: str) -> str:
    """Return the query string (between '?' and '#') of a URL tail."""
    start = tail.find("?")
    if start == -1:
        return ""
    query = tail[start + 1 :]
    hash_at = query.find("#")
    return query if hash_at == -1 else query[:hash_at]


def _host_from_authority(authority: str) -> str:
    """Strip userinfo and port from a URL authority and normalise the host."""
    authority = authority.rpartition("@")[2]
    if not authority or "%" in authority:
        return ""
    if authority.startswith("["):
        close = authority.find("]")
        if close == -1:
            return ""
        host, port = authority[: close + 1], authority[close + 1 :]
        if port and not port.startswith(":"):
            return ""
        port = port[1:]
    else:
        host, _, port = authority.partition(":")
    if port and (not port.isascii() or not port.isdigit() or int(port) > 65535):
        return ""
    return _normalise_host(host)


def _decode_component(text: str) -> str:
    """Percent-decode one query key or value; "" when its encoding is broken."""
    if "%" not in text and "+" not in text:
        return text
    if _BAD_ESCAPE_RE.search(text):
        return ""
    decoded = unquote_plus(text)
    # unquote_plus swaps undecodable UTF-8 for U+FFFD instead of raising; such a value is
    # corrupt, not a tag anyone chose.
    if "\ufffd" in decoded and "\ufffd" not in text:
        return ""
    return decoded


def _parse_query(query: str) -> dict[str, str]:
    """Pick the UTM and click-id parameters out of a query string (first non-empty wins)."""
    found: dict[str, str] = {}
    if not query:
        return found
    for part in query.split("&"):
        raw_key, _, raw_value = part.partition("=")
        key = _decode_component(raw_key).strip().lower()
        if key not in _WANTED_QUERY_KEYS or key in found:
            continue
        value = _decode_component(raw_value)
        if value.strip():
            found[key] = value
    return found


def _brand_index(labels: Sequence[str]) -> int:
    """Index of the label just before the public suffix, or -1 when the host is a suffix."""
    if len(labels) < 2:
        return -1
    suffix_size = 2 if f"{labels[-2]}.{labels[-1]}" in _TWO_LEVEL_SUFFIXES else 1
    return len(labels) - suffix_size - 1


def registrable_label(host: str) -> str:
    """Return the brand label of a host: the label just before its public suffix ("" if none)."""
    if not host or _is_ip_host(host):
        return ""
    labels = host.split(".")
    index = _brand_index(labels)
    return labels[index] if index >= 0 else ""


# --------------------------------------------------------------------------------------------
# Source categories
# --------------------------------------------------------------------------------------------


def _canonical_category(value: str) -> str | None:
    """Map "SOURCE_CATEGORY_SEARCH" / "search" to "SEARCH"; None when it is not a category."""
    name = value.strip().upper()
    name = name.removeprefix(_CATEGORY_PREFIX)
    return name if name in CATEGORIES else None


class SourceCategories:
    """GA4's source -> category list with parent-domain and brand-name fallbacks."""

    __slots__ = ("_by_source", "category_of")

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        by_source: dict[str, str] = {}
        for source, category in pairs:
            key = _clean(source)
            canonical = _canonical_category(category) if isinstance(category, str) else None
            if not key:
                continue
            if canonical is None:
                raise ValueError(f"unknown source category {category!r} for source {source!r}")
            # The first listing wins so that an edited list can override by putting its
            # corrections first.
            by_source.setdefault(key, canonical)
        self._by_source: dict[str, str] = by_source
        # Memoised per instance so that an edited list never serves another list's answers.
        self.category_of: Callable[[str], str | None] = lru_cache(maxsize=16384)(self._lookup)

    @classmethod
    def from_csv(cls, path: str | Path = DEFAULT_CATEGORIES_CSV) -> SourceCategories:
        """Load a ``source,source_category`` CSV such as GA4's published list."""
        with Path(path).open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"source", "source_category"} <= set(reader.fieldnames):
                raise ValueError(f"{path}: expected columns source,source_category")
            return cls((row["source"] or "", row["source_category"] or "") for row in reader)

    def __len__(self) -> int:
        """Number of listed sources."""
        return len(self._by_source)

    def __contains__(self, source: object) -> bool:
        """True when ``source`` is listed verbatim (no parent or brand fallback)."""
        return _clean(source) in self._by_source

    def items(self) -> list[tuple[str, str]]:
        """The listed (source, category) pairs, e.g. to seed a database table."""
        return list(self._by_source.items())

    def _lookup(self, source_or_host: str) -> str | None:
        """Uncached body of ``category_of``."""
        key = _clean(source_or_host)
        if not key:
            return None
        found = self._by_source.get(key)
        if found is not None or "." not in key or " " in key:
            return found
        host = _normalise_host(key)
        if not host or _is_ip_host(host):
            return None
        labels = host.split(".")
        brand_index = _brand_index(labels)
        if brand_index < 0:
            return None
        # Walk up through the parents down to the registrable domain ("m.facebook.com" ->
        # "facebook.com"), then try the brand alone ("www.google.co.uk" -> "google").
        for start in range(0 if host != key else 1, brand_index + 1):
            found = self._by_source.get(".".join(labels[start:]))
            if found is not None:
                return found
        return self._by_source.get(labels[brand_index])


@lru_cache(maxsize=1)
def default_categories() -> SourceCategories:
    """The bundled GA4 source categories, loaded once."""
    return SourceCategories.from_csv(DEFAULT_CATEGORIES_CSV)


# --------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TouchFacts:
    """Normalised evidence about one touch.

    Strings are trimmed, whitespace-collapsed, NFKC-normalised and case-folded; hosts are
    ASCII (IDNA), without port or trailing dot; "" means absent. ``self_referral`` is True
    when the referrer was our own site or a redirector and was therefore ignored.
    """

    source: str = ""
    medium: str = ""
    campaign: str = ""
    referrer_host: str = ""
    landing_host: str = ""
    click_ids: frozenset[str] = frozenset()
    self_referral: bool = False


@lru_cache(maxsize=1024)
def _own_domain_set(domains: tuple[object, ...]) -> frozenset[str]:
    """Normalise the site's own domains (bare hosts or URLs), dropping invalid ones."""
    own: set[str] = set()
    for domain in domains:
        if not isinstance(domain, str):
            continue
        host, _ = _split_url(domain.strip().lstrip("."))
        if host:
            own.add(host)
    return frozenset(own)


def _matches_domain(host: str, domains: Iterable[str]) -> bool:
    """True when ``host`` is one of ``domains`` or a subdomain of one."""
    return any(host == domain or host.endswith("." + domain) for domain in domains)


@lru_cache(maxsize=16384)
def _is_redirector(host: str) -> bool:
    """True for payment, webmail and sign-in hosts that bounce visitors back to us."""
    if host.startswith(REDIRECTOR_HOST_PREFIXES):
        return True
    labels = host.split(".")
    return any(".".join(labels[i:]) in REDIRECTOR_DOMAINS for i in range(len(labels) - 1))


@lru_cache(maxsize=16384)
def _referrer_evidence(
    host: str, own: frozenset[str], landing_host: str, categories: SourceCategories
) -> tuple[str, str, bool] | None:
    """(source, medium, self_referral) implied by a referrer host, or None when it is absent."""
    if not host:
        return None
    # The landing page's own host is ours even when the caller forgot to list it.
    if (
        _matches_domain(host, own)
        or (landing_host and _matches_domain(host, (landing_host.removeprefix("www."),)))
        or _is_redirector(host)
    ):
        return DIRECT_SOURCE, DIRECT_MEDIUM, True
    category_of = categories.category_of
    if category_of(host) == "SEARCH":
        # GA4 reports search engines as "<engine> / organic" rather than by host name, as long
        # as the engine's name is itself listed (so the source still reads as a search site).
        brand = registrable_label(host)
        return (brand if category_of(brand) == "SEARCH" else host), "organic", False
    # Social, video and shopping hosts stay referrals here; the category rules reclassify them.
    return host, "referral", False


def extract_facts(
    *,
    utm_source: str = "",
    utm_medium: str = "",
    utm_campaign: str = "",
    referrer: str = "",
    landing_url: str = "",
    click_ids: Mapping[str, str] | None = None,
    own_domains: Iterable[str] = (),
    categories: SourceCategories | None = None,
) -> TouchFacts:
    """Reduce one touch's raw, untrusted tracking data to normalised ``TouchFacts``.

    ``categories`` (default: the bundled GA4 list) decides which referrers are search engines.
    """
    landing_host, query = _split_url(landing_url)
    params = _parse_query(query)

    source, medium, campaign = _clean(utm_source), _clean(utm_medium), _clean(utm_campaign)
    if not (source or medium or campaign):
        # Tags captured separately (a form's hidden fields) describe the same arrival more
        # reliably than the landing URL, so the URL only counts when none were given.
        source = _clean(params.get("utm_source"))
        medium = _clean(params.get("utm_medium"))
        campaign = _clean(params.get("utm_campaign"))

    present = {name for name in params if name in CLICK_ID_NAMES}
    if click_ids:
        try:
            for name, value in click_ids.items():
                if isinstance(name, str) and isinstance(value, str) and value.strip():
                    key = name.strip().lower()
                    if key in CLICK_ID_NAMES:
                        present.add(key)
        except (AttributeError, TypeError):
            pass
    found_ids = frozenset(present)

    referrer_host, _ = _split_url(referrer)
    self_referral = False
    if source and medium:
        pass
    elif found_ids:
        for name, id_source, id_medium in _CLICK_ID_EVIDENCE:
            if name in found_ids:
                source = source or id_source
                medium = medium or id_medium
                break
    elif source or medium:
        # Partly tagged: keep what was said instead of guessing the rest from the referrer.
        pass
    else:
        if isinstance(own_domains, str):
            own_domains = (own_domains,)
        try:
            own = _own_domain_set(tuple(own_domains))
        except TypeError:
            own = frozenset()
        evidence = _referrer_evidence(
            referrer_host,
            own,
            landing_host,
            # An empty edited list is falsy (it has a length) but must still be honoured.
            default_categories() if categories is None else categories,
        )
        if evidence is None:
            source, medium = DIRECT_SOURCE, DIRECT_MEDIUM
        else:
            source, medium, self_referral = evidence

    return TouchFacts(
        source=source,
        medium=medium,
        campaign=campaign,
        referrer_host=referrer_host,
        landing_host=landing_host,
        click_ids=found_ids,
        self_referral=self_referral,
    )


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

CONDITION_FIELDS: Final = frozenset(
    {"source", "medium", "campaign", "referrer_host", "landing_host", "click_id"}
)
CONDITION_OPS: Final = frozenset(
    {"exact", "in", "contains", "regex", "category", "ends_with", "starts_with"}
)
# Categories describe sites, so only fields that can hold a site name may use them.
_CATEGORY_FIELDS: Final = frozenset({"source", "referrer_host", "landing_host"})


@dataclass(frozen=True, slots=True)
class Condition:
    """One test on a touch field, e.g. ``Condition("medium", "regex", "^(cpc|ppc)$")``."""

    field: str
    op: str
    value: str | Sequence[str]


@dataclass(frozen=True, slots=True)
class Rule:
    """Assign ``channel`` when all ``conditions`` hold (an empty list always holds)."""

    id: str
    channel: str
    conditions: Sequence[Condition] = ()


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel of a channel group, as shown in reports."""

    name: str
    description: str
    paid: bool


@dataclass(frozen=True, slots=True)
class Match:
    """The channel a touch was put in and the id of the rule that did it (None: no rule)."""

    channel: str
    rule_id: str | None


_UNASSIGNED_MATCH: Final = Match(UNASSIGNED, None)

Predicate = Callable[[TouchFacts], bool]


@dataclass(frozen=True, slots=True, eq=False)
class CompiledRules:
    """Rules ready for ``classify``: regexes compiled, lists frozen, lookups memoised."""

    rules: tuple[Rule, ...]
    categories: SourceCategories
    _compiled: tuple[tuple[Match, tuple[Predicate, ...]], ...] = field(repr=False)
    _memo: Callable[[TouchFacts], Match] = field(repr=False)

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel names in rule order, without repeats."""
        return tuple(dict.fromkeys(rule.channel for rule in self.rules))


def _text_value(rule_id: str, condition: Condition, *, allow_empty: bool = False) -> str:
    """The condition's value as a normalised string, or a RuleError."""
    if not isinstance(condition.value, str):
        raise RuleError(rule_id, f"op {condition.op!r} needs a string value")
    value = _clean_cached(condition.value) if condition.value else ""
    if not value and not allow_empty:
        raise RuleError(rule_id, f"op {condition.op!r} needs a non-empty value")
    return value


def _compile_condition(
    rule_id: str, condition: Condition, category_of: Callable[[str], str | None]
) -> Predicate:
    """Turn one condition into a fast predicate over ``TouchFacts``."""
    if not isinstance(condition, Condition):
        raise RuleError(rule_id, f"not a Condition: {condition!r}")
    name, op = condition.field, condition.op
    if name not in CONDITION_FIELDS:
        raise RuleError(rule_id, f"unknown field {name!r} (use one of {sorted(CONDITION_FIELDS)})")
    if op not in CONDITION_OPS:
        raise RuleError(rule_id, f"unknown op {op!r} (use one of {sorted(CONDITION_OPS)})")

    if op == "in":
        if isinstance(condition.value, str) or not isinstance(condition.value, Iterable):
            raise RuleError(rule_id, "op 'in' needs a list of strings")
        items: set[str] = set()
        for item in condition.value:
            if not isinstance(item, str):
                raise RuleError(rule_id, f"op 'in' list holds a non-string: {item!r}")
            items.add(_clean_cached(item) if item else "")
        choices = frozenset(items)
        if name == "click_id":
            return lambda facts: not choices.isdisjoint(facts.click_ids)
        get = attrgetter(name)
        return lambda facts: get(facts) in choices

    if op == "regex":
        if not isinstance(condition.value, str):
            raise RuleError(rule_id, "op 'regex' needs a pattern string")
        try:
            pattern = re.compile(condition.value, re.IGNORECASE)
        except re.error as error:
            raise RuleError(rule_id, f"bad regex {condition.value!r}: {error}") from None
        full = pattern.fullmatch
        if name == "click_id":
            return lambda facts: any(full(cid) for cid in facts.click_ids)
        get = attrgetter(name)
        return lambda facts: full(get(facts)) is not None

    if op == "category":
        if name not in _CATEGORY_FIELDS:
            raise RuleError(rule_id, f"op 'category' only applies to {sorted(_CATEGORY_FIELDS)}")
        if not isinstance(condition.value, str) or not (
            wanted := _canonical_category(condition.value)
        ):
            raise RuleError(
                rule_id, f"unknown category {condition.value!r} (use one of {sorted(CATEGORIES)})"
            )
        get = attrgetter(name)
        return lambda facts: category_of(get(facts)) == wanted

    value = _text_value(rule_id, condition, allow_empty=op == "exact")
    if name == "click_id":
        ids = attrgetter("click_ids")
        if op == "exact":
            return lambda facts: value in ids(facts)
        if op == "contains":
            return lambda facts: any(value in cid for cid in ids(facts))
        if op == "starts_with":
            return lambda facts: any(cid.startswith(value) for cid in ids(facts))
        return lambda facts: any(cid.endswith(value) for cid in ids(facts))
    get = attrgetter(name)
    if op == "exact":
        return lambda facts: get(facts) == value
    if op == "contains":
        return lambda facts: value in get(facts)
    if op == "starts_with":
        return lambda facts: get(facts).startswith(value)
    return lambda facts: get(facts).endswith(value)


def compile_rules(
    rules: Iterable[Rule], categories: SourceCategories | None = None
) -> CompiledRules:
    """Validate and precompile an ordered rule list; raise ``RuleError`` on the first bad rule."""
    if categories is None:
        categories = default_categories()
    category_of = categories.category_of
    kept: list[Rule] = []
    compiled: list[tuple[Match, tuple[Predicate, ...]]] = []
    seen: set[str] = set()
    for rule in rules:
        if not isinstance(rule, Rule):
            raise RuleError(None, f"not a Rule: {rule!r}")
        if not isinstance(rule.id, str) or not rule.id.strip():
            raise RuleError(rule.id, "rule id must be a non-empty string")
        if rule.id in seen:
            raise RuleError(rule.id, "duplicate rule id")
        if not isinstance(rule.channel, str) or not rule.channel.strip():
            raise RuleError(rule.id, "channel must be a non-empty string")
        if isinstance(rule.conditions, (str, bytes)) or not isinstance(rule.conditions, Iterable):
            raise RuleError(rule.id, "conditions must be a list of Condition")
        seen.add(rule.id)
        predicates = tuple(
            _compile_condition(rule.id, condition, category_of) for condition in rule.conditions
        )
        kept.append(rule)
        compiled.append((Match(rule.channel, rule.id), predicates))
    table = tuple(compiled)

    def first_match(facts: TouchFacts) -> Match:
        for match, predicates in table:
            for predicate in predicates:
                if not predicate(facts):
                    break
            else:
                return match
        return _UNASSIGNED_MATCH

    # Safe to memoise: facts are immutable and the table never changes after compilation.
    memo = lru_cache(maxsize=16384)(first_match)
    return CompiledRules(tuple(kept), categories, table, memo)


def classify(facts: TouchFacts, compiled: CompiledRules) -> Match:
    """Return the first rule's channel that matches ``facts``, else Unassigned."""
    return compiled._memo(facts)


@lru_cache(maxsize=1)
def default_compiled_rules() -> CompiledRules:
    """The default GA4 + CRM rules compiled against the bundled categories, built once."""
    from campaigns.default_rules import DEFAULT_RULES  # late: default_rules imports this module

    return compile_rules(DEFAULT_RULES, default_categories())


def classify_touch(*, compiled: CompiledRules | None = None, **touch: Any) -> Match:
    """Extract facts from raw touch data (``extract_facts`` keywords) and classify them."""
    if compiled is None:
        compiled = default_compiled_rules()
    touch.setdefault("categories", compiled.categories)
    return classify(extract_facts(**touch), compiled)
