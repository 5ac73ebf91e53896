"""Email domains as companies: the registrable domain of an address, and free-mail providers.

Pure functions, no database: crm groups leads into accounts by the domain these return, and
insights scores a free-mail address differently from a corporate one. The free-mail list here
is the default that crm's data migration seeds into its admin-editable table.
"""

from __future__ import annotations

import re

# Second-level labels under a country code that are sold as public suffixes (acme.co.uk,
# acme.co.id, acme.com.au): the registrable domain keeps one more label under them.
MULTI_PART_SECOND_LEVELS = frozenset(
    ["co", "com", "net", "org", "ac", "gov", "edu", "or", "ne", "go", "web", "my", "biz", "ltd",
     "plc", "sch", "mil", "gob", "nic", "in", "id", "nom", "gen", "firm", "info"]
)  # fmt: skip
# A few public suffixes that are not "<label>.<country code>".
EXTRA_PUBLIC_SUFFIXES = frozenset(
    ["com.de", "co.com", "us.com", "uk.com", "eu.com", "github.io", "herokuapp.com",
     "blogspot.com", "azurewebsites.net", "cloudfront.net", "appspot.com", "vercel.app",
     "netlify.app", "pages.dev", "workers.dev"]
)  # fmt: skip

# Providers anyone can open an address at: their domains never group people into an account.
# "name.*" stands for the provider's domain under any suffix (yahoo.co.id, gmx.de, ...).
FREE_MAIL_DEFAULTS: tuple[str, ...] = (
    "gmail.com", "googlemail.com", "yahoo.*", "ymail.com", "rocketmail.com", "hotmail.*",
    "outlook.*", "live.*", "msn.com", "windowslive.com", "passport.com", "icloud.com", "me.com",
    "mac.com", "aol.*", "aim.com", "proton.me", "protonmail.*", "pm.me", "gmx.*", "web.de",
    "t-online.de", "freenet.de", "mail.com", "email.com", "usa.com", "mail.ru", "inbox.ru",
    "list.ru", "bk.ru", "rambler.ru", "yandex.*", "ya.ru", "qq.com", "foxmail.com", "163.com",
    "126.com", "yeah.net", "sina.com", "sina.cn", "sohu.com", "aliyun.com", "naver.com",
    "daum.net", "hanmail.net", "zoho.com", "zohomail.com", "fastmail.*", "hey.com",
    "tutanota.*", "tuta.io", "mailbox.org", "posteo.de", "hushmail.com", "lycos.com",
    "rediffmail.com", "libero.it", "virgilio.it", "tiscali.it", "alice.it", "orange.fr",
    "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "btinternet.com", "sky.com",
    "virginmedia.com", "blueyonder.co.uk", "talktalk.net", "comcast.net", "verizon.net",
    "att.net", "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net", "earthlink.net",
    "juno.com", "shaw.ca", "rogers.com", "sympatico.ca", "bigpond.com", "optusnet.com.au",
    "xtra.co.nz", "seznam.cz", "wp.pl", "o2.pl", "onet.pl", "interia.pl", "abv.bg", "ukr.net",
    "terra.com.br", "uol.com.br", "bol.com.br", "telkom.net", "plasa.com", "mailinator.com",
    "guerrillamail.com", "10minutemail.com", "yopmail.com", "duck.com", "skiff.com",
)  # fmt: skip

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def normalise_domain(value: str) -> str:
    """The host name of `value` (a domain, an address or a URL) lower-cased, "" when not one."""
    host = value.strip().lower()
    if "@" in host:
        host = host.rsplit("@", 1)[1]
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host).split("/", 1)[0].split(":", 1)[0]
    host = host.strip(".")
    if host.startswith("www."):
        host = host[4:]
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return ""
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return ""
    if labels[-1].isdigit():  # an IP address is no company
        return ""
    return host


def registrable_domain(value: str) -> str:
    """The domain a company registered: eu.acme.com -> acme.com, mail.acme.co.uk -> acme.co.uk."""
    host = normalise_domain(value)
    if not host:
        return ""
    labels = host.split(".")
    keep = 2
    last_two = ".".join(labels[-2:])
    if last_two in EXTRA_PUBLIC_SUFFIXES or (
        len(labels[-1]) == 2 and labels[-2] in MULTI_PART_SECOND_LEVELS
    ):
        keep = 3
    if len(labels) < keep:
        return ""  # the address is at a public suffix itself (co.uk)
    return ".".join(labels[-keep:])


def matches_free_mail(domain: str, patterns: frozenset[str] | tuple[str, ...]) -> bool:
    """True when the registrable `domain` is one of `patterns` ("gmail.com", "yahoo.*")."""
    domain = registrable_domain(domain)
    if not domain:
        return False
    if domain in patterns:
        return True
    name = domain.split(".", 1)[0]
    return f"{name}.*" in patterns


def is_free_mail(email_or_domain: str) -> bool:
    """True when the address (or domain) is at a free-mail provider of the default list."""
    return matches_free_mail(email_or_domain, FREE_MAIL_PATTERNS)


FREE_MAIL_PATTERNS = frozenset(FREE_MAIL_DEFAULTS)
