"""Signed tokens of the public nurture links: clicks, opens and unsubscribes.

The click token carries the destination itself, signed: the redirect only ever goes where the
email said, never to an address taken from the query string.
"""

from __future__ import annotations

from typing import Any

from django.core import signing

CLICK_SALT = "nurture.click"
OPEN_SALT = "nurture.open"
UNSUBSCRIBE_SALT = "nurture.unsubscribe"


def click_token(*, send_id: int, url: str) -> str:
    return signing.dumps({"s": send_id, "u": url}, salt=CLICK_SALT, compress=True)


def open_token(*, send_id: int) -> str:
    return signing.dumps(send_id, salt=OPEN_SALT)


def unsubscribe_token(*, send_id: int) -> str:
    return signing.dumps(send_id, salt=UNSUBSCRIBE_SALT)


def read(token: str, *, salt: str) -> Any:
    """The signed value, or raise signing.BadSignature."""
    return signing.loads(token, salt=salt)
