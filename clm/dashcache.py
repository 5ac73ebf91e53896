"""Dashboard data cached until the data behind it changes.

The key holds a version made of cheap aggregates (newest run, last refresh, newest or last
changed deal, activity, rating, stage change, lead and spend): any write that changes a
figure changes the version, so a cached page is never stale; it only saves recomputing the
same figures for every viewer and every poll.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import cache

TTL = 600
# Figures keyed on exactly what they read (cached_figure) stay valid until that changes.
FIGURE_TTL = 24 * 3600
log = logging.getLogger(__name__)


def data_version() -> str:
    """A fingerprint of everything the dashboards read, in one query."""
    from django.db import connection

    # Fixed table and column names only; nothing here comes from input.
    sql = (
        "SELECT (SELECT MAX(id) FROM attribution_attributionrun),"
        " (SELECT MAX(finished_at) FROM attribution_attributionrun),"
        " (SELECT MAX(updated_at) FROM crm_deal), (SELECT MAX(id) FROM crm_activity),"
        " (SELECT MAX(id) FROM crm_leadfeedback), (SELECT MAX(id) FROM crm_leadhistory),"
        " (SELECT MAX(id) FROM leads_lead), (SELECT MAX(updated_at) FROM campaigns_spend),"
        # An erasure changes names shown on the dashboards (waiting leads).
        " (SELECT MAX(id) FROM leads_erasure),"
        # "How did you hear about us?": a returning lead's first answer comes with a
        # submission; sales' edits stamp the lead.
        " (SELECT MAX(id) FROM leads_submission),"
        " (SELECT MAX(heard_about_edited_at) FROM leads_lead)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    parts = (cache.get("attribution:refreshed-at"), *row)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def cached_figure(kind: str, version: Any, query: str, build: Callable[[], Any]) -> Any:
    """build() once per `version` (what the figure reads, e.g. a run and its refreshes) and
    filters `query`: for a figure that reads stored run results only, a new lead or an edit
    elsewhere does not make it recompute, as it does the whole page (cached_data). The value
    holds ids and numbers, never translated text: names and labels are added by the caller."""
    digest = hashlib.sha256(repr((version, query)).encode()).hexdigest()[:24]
    return _read_or_build(f"figure:{kind}:{digest}", FIGURE_TTL, build)


def cached_data(kind: str, user: Any, query: str, build: Callable[[], dict[str, Any]]) -> dict:
    """build() once per data version, viewer and filters; later calls read the cache."""
    from django.utils.translation import get_language

    filters = hashlib.sha256(query.encode()).hexdigest()[:16]
    # Chart labels are translated when built: one entry per language.
    language = get_language() or "en"
    key = f"dash:{kind}:{data_version()}:{getattr(user, 'pk', 0)}:{language}:{filters}"
    return _read_or_build(key, TTL, build)


def _read_or_build(key: str, ttl: int, build: Callable[[], Any]) -> Any:
    data = cache.get(key)
    if data is None:
        data = build()
        try:
            cache.set(key, data, ttl)
        except Exception:  # an unpicklable value or a cache outage: serve it uncached
            log.warning("%s not cached", key, exc_info=True)
    return data
