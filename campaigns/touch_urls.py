"""URL and host normalisation of untrusted touch data, free of any Django import: the host
and query string of a URL, a host's brand label, a tag cleaned for comparison. Used by the
channel classifier (campaigns.channeling) and its source categories.

Every input is untrusted: malformed parts are treated as absent and nothing here raises.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Final
from urllib.parse import unquote_plus

# Real UTM values are short; anything this long is junk (or an injection attempt) and would
# also overflow the CRM's varchar columns, so it is dropped rather than truncated.
MAX_FIELD_LENGTH: Final = 255
# Browsers cap Referer at a few KB and most servers refuse request lines above 8 KB.
MAX_URL_LENGTH: Final = 8192
_MAX_HOST_LENGTH: Final = 253
_MAX_LABEL_LENGTH: Final = 63

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


@lru_cache(maxsize=65536)
def clean_cached(value: str) -> str:
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


def clean(value: object) -> str:
    """Normalise an untrusted scalar; non-strings and oversized strings count as absent."""
    if not isinstance(value, str) or not value or len(value) > MAX_FIELD_LENGTH:
        return ""
    return clean_cached(value)


@lru_cache(maxsize=16384)
def normalise_host(raw: str) -> str:
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


def is_ip_host(host: str) -> bool:
    """True when ``host`` is an IP literal, which has no parent domain or brand."""
    return host.startswith("[") or host.rpartition(".")[2].isdigit()


def split_url(url: object) -> tuple[str, str]:
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
    return normalise_host(host)


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


def parse_query(query: str, wanted: frozenset[str]) -> dict[str, str]:
    """Pick the `wanted` parameters (UTM tags, click ids) out of a query string (first
    non-empty wins)."""
    found: dict[str, str] = {}
    if not query:
        return found
    for part in query.split("&"):
        raw_key, _, raw_value = part.partition("=")
        key = _decode_component(raw_key).strip().lower()
        if key not in wanted or key in found:
            continue
        value = _decode_component(raw_value)
        if value.strip():
            found[key] = value
    return found


def brand_index(labels: Sequence[str]) -> int:
    """Index of the label just before the public suffix, or -1 when the host is a suffix."""
    if len(labels) < 2:
        return -1
    suffix_size = 2 if f"{labels[-2]}.{labels[-1]}" in _TWO_LEVEL_SUFFIXES else 1
    return len(labels) - suffix_size - 1


def registrable_label(host: str) -> str:
    """Return the brand label of a host: the label just before its public suffix ("" if none)."""
    if not host or is_ip_host(host):
        return ""
    labels = host.split(".")
    index = brand_index(labels)
    return labels[index] if index >= 0 else ""
