"""GA4's source categories (SEARCH, SOCIAL, SHOPPING, VIDEO): which site a source or referrer
host is, with parent-domain and brand-name fallbacks; free of any Django import. The channel
rules (campaigns.channeling) match on them.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Final

from campaigns.touch_urls import brand_index, clean, is_ip_host, normalise_host

DEFAULT_CATEGORIES_CSV: Final = (
    Path(__file__).resolve().parent / "data" / "ga4_source_categories.csv"
)

CATEGORIES: Final = frozenset({"SEARCH", "SOCIAL", "SHOPPING", "VIDEO"})
_CATEGORY_PREFIX: Final = "SOURCE_CATEGORY_"


def canonical_category(value: str) -> str | None:
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
            key = clean(source)
            canonical = canonical_category(category) if isinstance(category, str) else None
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
        return clean(source) in self._by_source

    def items(self) -> list[tuple[str, str]]:
        """The listed (source, category) pairs, e.g. to seed a database table."""
        return list(self._by_source.items())

    def _lookup(self, source_or_host: str) -> str | None:
        """Uncached body of ``category_of``."""
        key = clean(source_or_host)
        if not key:
            return None
        found = self._by_source.get(key)
        if found is not None or "." not in key or " " in key:
            return found
        host = normalise_host(key)
        if not host or is_ip_host(host):
            return None
        labels = host.split(".")
        brand_at = brand_index(labels)
        if brand_at < 0:
            return None
        # Walk up through the parents down to the registrable domain ("m.facebook.com" ->
        # "facebook.com"), then try the brand alone ("www.google.co.uk" -> "google").
        for start in range(0 if host != key else 1, brand_at + 1):
            found = self._by_source.get(".".join(labels[start:]))
            if found is not None:
                return found
        return self._by_source.get(labels[brand_at])


@lru_cache(maxsize=1)
def default_categories() -> SourceCategories:
    """The bundled GA4 source categories, loaded once."""
    return SourceCategories.from_csv(DEFAULT_CATEGORIES_CSV)
