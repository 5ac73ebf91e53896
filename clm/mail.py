"""Email headers built from what people typed: one safe line, never a BadHeaderError."""

from __future__ import annotations

import unicodedata

SUBJECT_MAX_CHARS = 200

# Control characters (CR, LF, NUL, ...), line and paragraph separators, unpaired surrogates
# and format characters such as bidi overrides, which can disguise a subject.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def mail_subject(text: str, *, max_chars: int = SUBJECT_MAX_CHARS) -> str:
    """A one-line subject: control characters become spaces, whitespace runs one space, and
    the result is cut to `max_chars`."""
    spaced = "".join(" " if unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in text)
    return " ".join(spaced.split())[:max_chars].rstrip()
