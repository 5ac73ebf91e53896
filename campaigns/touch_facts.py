"""The facts of a touch, free of any Django import: a touch (one arrival of a visitor, or one
contact logged by sales) is reduced to normalised ``TouchFacts`` by ``extract_facts``, which
the channel rules (campaigns.channeling) then classify.

Evidence order in ``extract_facts``:

1. explicit UTM tags (the ``utm_*`` arguments, else the landing URL's query string);
2. ad-platform click ids (``gclid`` and friends), which fill in whatever UTM left out;
3. the referrer: our own site or a known redirector (payment, webmail, sign-in) is not a new
   source; a search engine is Organic Search; any other host is a referral, which the source
   categories then turn into Organic Social / Video / Shopping where they apply;
4. otherwise Direct.

Every input is untrusted: malformed parts are treated as absent and nothing here raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from campaigns.source_categories import SourceCategories, default_categories
from campaigns.touch_urls import clean, parse_query, registrable_label, split_url

DIRECT_SOURCE: Final = "(direct)"
DIRECT_MEDIUM: Final = "(none)"

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
        host, _ = split_url(domain.strip().lstrip("."))
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
    landing_host, query = split_url(landing_url)
    params = parse_query(query, _WANTED_QUERY_KEYS)

    source, medium, campaign = clean(utm_source), clean(utm_medium), clean(utm_campaign)
    if not (source or medium or campaign):
        # Tags captured separately (a form's hidden fields) describe the same arrival more
        # reliably than the landing URL, so the URL only counts when none were given.
        source = clean(params.get("utm_source"))
        medium = clean(params.get("utm_medium"))
        campaign = clean(params.get("utm_campaign"))

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

    referrer_host, _ = split_url(referrer)
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
