"""Self-reported attribution beside the software's: what leads said brought them ("How did you
hear about us?") against their first-touch channel, and against the channels the chosen model
credits with their won revenue.

Rows are the answers of the leads captured in the dashboard's period; the channel filter
applies to the columns (the first-touch channel; in the credited view, the credited channel),
the campaign filter likewise. Free-text "Other" answers are grouped case- and
whitespace-insensitively, most frequent first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Max, QuerySet, Sum
from django.utils.translation import gettext as _

from attribution import selectors
from attribution.models import AttributionRun, CreditLedger
from campaigns.models import Channel
from clm.dashcache import cached_figure
from clm.filters import Filters, day_bounds
from crm import rollups
from crm.models import DailyCount
from leads.heard_about import OTHER, normalise_text
from leads.models import Lead
from leads.selectors import heard_about_labels

Kind = DailyCount.Kind
MAX_FREE_TEXTS = 30
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Cell:
    """Leads and won revenue of one answer x channel (or a total)."""

    leads: int = 0
    revenue: Decimal = Decimal("0.00")


@dataclass(slots=True)
class MatrixRow:
    key: str
    label: str
    cells: list[Cell]
    total: Cell


@dataclass(slots=True)
class Matrix:
    """Answers (rows) x channels (columns), with row and column totals."""

    columns: list[str]
    rows: list[MatrixRow] = field(default_factory=list)
    totals: list[Cell] = field(default_factory=list)
    total: Cell = field(default_factory=Cell)


def _build(
    cells: dict[tuple[str, int | None], Cell],
    labels: dict[str, str],
    row_totals: dict[str, int] | None = None,
    grand_leads: int | None = None,
) -> Matrix:
    """A matrix from (answer, channel id) -> Cell. Leads add up across a row unless
    `row_totals` gives distinct counts (a lead credited in several channels counts once)."""
    names = dict(Channel.objects.values_list("pk", "name"))
    by_column: dict[int | None, Cell] = {}
    by_row: dict[str, Cell] = {}
    for (key, channel), cell in cells.items():
        for bucket, at in ((by_column, channel), (by_row, key)):
            old = bucket.get(at, Cell())
            bucket[at] = Cell(old.leads + cell.leads, old.revenue + cell.revenue)  # type: ignore[index]
    columns = sorted(by_column, key=lambda c: (-by_column[c].leads, names.get(c, "") if c else "~"))
    rows = sorted(by_row, key=lambda k: (-by_row[k].leads, labels.get(k, k)))
    if row_totals is not None:
        by_row = {k: Cell(row_totals.get(k, 0), by_row[k].revenue) for k in rows}
    matrix = Matrix(columns=[names.get(c, "") if c else _("No touch") for c in columns])
    for key in rows:
        matrix.rows.append(
            MatrixRow(
                key=key,
                label=labels.get(key, key),
                cells=[cells.get((key, c), Cell()) for c in columns],
                total=by_row[key],
            )
        )
    matrix.totals = [by_column[c] for c in columns]
    leads = sum(c.leads for c in by_row.values()) if grand_leads is None else grand_leads
    matrix.total = Cell(leads, sum((c.revenue for c in by_row.values()), Decimal("0.00")))
    return matrix


def _answered(f: Filters) -> QuerySet[Lead]:
    since, until = day_bounds(f.start, f.end)
    return Lead.objects.filter(created_at__gte=since, created_at__lt=until).exclude(heard_about="")


def _answered_by_first_touch(f: Filters) -> QuerySet[Lead]:
    """The answered leads whose first touch passes the channel and campaign filters."""
    leads = _answered(f)
    if f.channel_id:
        leads = leads.filter(first_channel_id=f.channel_id)
    if f.campaign_id:
        leads = leads.filter(first_campaign_id=f.campaign_id)
    return leads


def against_first_touch(f: Filters, labels: dict[str, str]) -> Matrix:
    """Leads and their won deals' revenue by answer x first-touch channel: from the daily
    rollups (crm answer and answer_won rows, per capture day), not a count of the leads."""
    cells: dict[tuple[str, int | None], Cell] = {}
    rows = (
        rollups.counts((Kind.ANSWER, Kind.ANSWER_WON), f=f)
        .values("kind", "key", "channel_id")
        .annotate(n=Sum("count"), amount=Sum("amount"))
        .order_by()
    )
    for row in rows:
        at = (row["key"], row["channel_id"])
        cell = cells.get(at, Cell())
        if row["kind"] == Kind.ANSWER:
            cells[at] = Cell(row["n"], cell.revenue)
        else:
            cells[at] = Cell(cell.leads, Decimal(row["amount"] or 0).quantize(CENT))
    return _build(cells, labels)


def against_credited(run: AttributionRun, f: Filters, labels: dict[str, str]) -> Matrix:
    """Won leads and credited revenue by answer x channel credited by the run's model `f.model`
    (the per-deal ledger); a lead counts once per channel that got credit for it.

    The counts read the run's ledger and the answers of its converting leads: they are cached
    per run version (its refreshes) and the newest change of an existing lead's answer
    (Lead.heard_about_changed_at), so new leads and other edits do not recount them.
    """
    version = (selectors.run_version(run), answers_version())
    query = repr((f.model, f.start, f.end, f.channel_id, f.campaign_id))
    counted = cached_figure("self-reported", version, query, lambda: _credited_counts(run, f))
    cells = {
        (answer, channel): Cell(n, (Decimal(cents) / 100).quantize(CENT))
        for answer, channel, n, cents in counted["cells"]
    }
    return _build(cells, labels, row_totals=counted["rows"], grand_leads=counted["leads"])


def answers_version() -> tuple[Any, ...]:
    """When an existing lead's answer last changed (a later post's first answer, sales' edit):
    a new lead's answer comes before any credit of its deals, which a refresh then adds."""
    return tuple(Lead.objects.aggregate(Max("heard_about_changed_at")).values())


def _credited_counts(run: AttributionRun, f: Filters) -> dict[str, Any]:
    """One query: the ledger's rows of the run and model joined to their answered leads of the
    period, summed per answer, channel and lead (a lead's rows for one channel are one row
    here); the distinct counts per cell, per answer and overall are taken from those rows."""
    ledger, lead = CreditLedger._meta.db_table, Lead._meta.db_table
    since, until = day_bounds(f.start, f.end)
    where, params = ["c.run_id = %s", "c.model = %s"], [run.pk, f.model]
    where += ["l.created_at >= %s", "l.created_at < %s", "l.heard_about <> %s"]
    params += [since, until, ""]
    if f.channel_id:
        where.append("c.channel_id = %s")
        params.append(f.channel_id)
    if f.campaign_id:
        where.append("c.campaign_id = %s")
        params.append(f.campaign_id)
    # Table names come from the models; every value is a query parameter.
    sql = (
        f"SELECT l.heard_about, c.channel_id, c.lead_id, SUM(c.value_cents) "  # noqa: S608  # nosec B608
        f"FROM {ledger} c JOIN {lead} l ON l.id = c.lead_id "
        f"WHERE {' AND '.join(where)} GROUP BY l.heard_about, c.channel_id, c.lead_id"
    )
    leads: dict[tuple[str, int | None], int] = Counter()
    cents: dict[tuple[str, int | None], int] = Counter()
    per_answer: dict[str, set[int]] = {}
    everyone: set[int] = set()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for answer, channel_id, lead_id, value in cursor.fetchall():
            leads[(answer, channel_id)] += 1
            cents[(answer, channel_id)] += int(value or 0)
            per_answer.setdefault(answer, set()).add(lead_id)
            everyone.add(lead_id)
    return {
        "cells": [
            (answer, channel, n, cents[(answer, channel)]) for (answer, channel), n in leads.items()
        ],
        "rows": {answer: len(ids) for answer, ids in per_answer.items()},
        "leads": len(everyone),
    }


def free_texts(f: Filters) -> list[tuple[str, int]]:
    """The "Other" answers, grouped (case and whitespace ignored), most frequent first."""
    leads = _answered_by_first_touch(f).filter(heard_about=OTHER).exclude(heard_about_other="")
    texts = leads.order_by().values_list("heard_about_other", flat=True)  # counted: no sort
    counts = Counter(normalise_text(t) for t in texts)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FREE_TEXTS]


def self_reported(run: AttributionRun | None, f: Filters) -> dict[str, Any]:
    """The dashboard panel: both matrices and the grouped free texts."""
    labels = heard_about_labels()
    return {
        "first_touch": against_first_touch(f, labels),
        "credited": against_credited(run, f, labels) if run is not None else None,
        "free_texts": free_texts(f),
    }
