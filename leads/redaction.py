"""What identifies a person being erased, and how a text loses it (leads.erasure).

Every app's eraser (a subscriber of clm.events.PersonErasing) receives the one `Person` of an
erasure: it adds the values it finds in its own rows before clearing them, names those rows (for
the admin log) and the ids its outbox messages carry, and redacts its texts with `redact`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from django.db.models import Model, Q

REDACTED = "[erased]"
# Shorter values (initials, "on", "12") would redact half of any text they are searched in.
MIN_VALUE_LENGTH = 3
# Payload values that say nothing about the person.
GENERIC_VALUES = frozenset({"yes", "true", "false", "off", "none", "null"})


@dataclass(slots=True)
class Person:
    """What identifies the person: the rows about them and the values to remove."""

    email: str
    lead_ids: list[int] = field(default_factory=list)
    submission_ids: list[int] = field(default_factory=list)
    visitor_ids: list[str] = field(default_factory=list)
    values: set[str] = field(default_factory=set)  # every value, lower case
    strong: set[str] = field(default_factory=set)  # values nobody else has, lower case
    # The rows about the person, per model (their admin log entries lose their labels).
    rows: dict[type[Model], list[Any]] = field(default_factory=dict)
    # The ids of the person's rows by the name outbox messages carry them under ("deal_id": ...).
    ids: dict[str, list[Any]] = field(default_factory=dict)
    _patterns: dict[bool, re.Pattern[str] | None] = field(default_factory=dict)

    def add(self, *values: Any, strong: bool = False) -> None:
        for value in values:
            for text in _strings(value):
                text = text.strip().lower()
                if len(text) >= MIN_VALUE_LENGTH and text not in GENERIC_VALUES:
                    self.values.add(text)
                    if strong:
                        self.strong.add(text)
        self._patterns.clear()

    def add_url(self, url: str) -> None:
        """A URL's path, query string and query values (each may carry the person)."""
        try:
            parts = urlsplit(url or "")
        except ValueError:
            self.add(url)
            return
        if parts.path.strip("/"):
            self.add(parts.path, unquote(parts.path))
            self.add(*(segment for segment in parts.path.split("/") if segment))
        if parts.query:
            self.add(parts.query, *(value for _key, value in parse_qsl(parts.query)))
        if parts.fragment:
            self.add(parts.fragment)

    def redact(self, value: Any, *, everything: bool = True) -> Any:
        """The value (text or JSON) with the person's values replaced by REDACTED: all of them
        in a row about the person, only the strong ones in a row that merely names them."""
        values = self.values if everything else self.strong
        if not values:
            return value
        if self._patterns.get(everything) is None:
            alternatives = sorted(values, key=len, reverse=True)
            self._patterns[everything] = re.compile(
                "|".join(re.escape(v) for v in alternatives), re.IGNORECASE
            )
        pattern = self._patterns[everything]
        if isinstance(value, str):
            return pattern.sub(REDACTED, value)
        if isinstance(value, dict):  # keys are field names
            return {k: self.redact(v, everything=everything) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact(v, everything=everything) for v in value]
        return value

    def text_query(self, *fields: str) -> Q:
        """Rows whose text fields contain a strong value (the address, full name, ids)."""
        query = Q(pk__in=[])
        for name in fields:
            for value in self.strong:
                query |= Q(**{f"{name}__icontains": value})
        return query


def _strings(value: Any) -> Iterator[str]:
    """The text values inside a value (JSON walked; numbers and booleans are not text)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _strings(item)


def origin(url: str) -> str:
    """Scheme and host of a URL: its path and query string may carry the person."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, parts.netloc, "", "", "")) if parts.netloc else ""


def found(queryset: Any, linked: Q, named: Q) -> list[tuple[Any, bool]]:
    """Rows about the person (found by an id they carry: True) or naming them (False)."""
    linked_ids = set(queryset.filter(linked).values_list("pk", flat=True))
    return [(row, row.pk in linked_ids) for row in queryset.filter(linked | named)]
