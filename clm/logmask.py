"""Keep personal data and secrets out of the logs.

Every log record of the process is masked when it is created (a log record factory, installed
by clm.apps), so it does not matter which handler, formatter or library writes it: email
addresses, bearer/API tokens, passwords, session and CSRF cookies, share-link tokens and
`token=` style query parameters become placeholders. The exception text of a record is
formatted and masked up front too (a database error can quote the row it failed on).
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-']{1,64}@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
SECRET_PARAM_RE = re.compile(
    r"(?i)\b(password|passwd|secret|token|api[_-]?key|access[_-]?key|sessionid|csrftoken|"
    r"csrfmiddlewaretoken|authorization|email)(\"?\s*[=:]\s*\"?)(?:bearer\s+|basic\s+)?"
    r"[^\s&;,\"']+"
)
BEARER_RE = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}")
SHARE_PATH_RE = re.compile(r"(/shared/)[^/\s?#]+")

EMAIL_MASK = "[email]"
SECRET_MASK = "[redacted]"  # noqa: S105 - the placeholder, not a secret


def mask(text: str) -> str:
    """The text with emails, tokens and secrets replaced by placeholders."""
    if not text:
        return text
    text = SECRET_PARAM_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{SECRET_MASK}", text)
    text = BEARER_RE.sub(lambda m: f"{m.group(1)} {SECRET_MASK}", text)
    text = SHARE_PATH_RE.sub(lambda m: f"{m.group(1)}{SECRET_MASK}", text)
    return EMAIL_RE.sub(EMAIL_MASK, text)


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask a record in place: its message (args merged in) and its exception text."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string must not break logging
        message = str(record.msg)
    record.msg, record.args = mask(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    return record


class PersonalDataFilter(logging.Filter):
    """The same masking as a logging filter, for handlers configured outside Django."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def install_record_factory() -> None:
    """Mask every record the process creates from now on (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "clm_masking", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(previous(*args, **kwargs))

    factory.clm_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
