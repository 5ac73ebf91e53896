"""Exact integer allocation of money (cents) by weights: the vectorised largest-remainder method.

Every group's total is split so that the parts are integers summing *exactly* to the total:

    raw_i   = |T| * w_i / sum(w)            (the ideal, real-valued part)
    floor_i = floor(raw_i)
    left    = |T| - sum(floor_i)            (0 <= left < n up to float noise)
    part_i  = sign(T) * (floor_i + [rank_i < left])

where rank_i orders the rows of the group by decreasing fractional part ``raw_i - floor_i``;
ties go to the earlier row (rows are expected in touch order). Negative totals are split as
``-allocate(|T|)`` so that a refund mirrors the sale it reverses.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def allocate_cents(groups: ArrayLike, weights: ArrayLike, totals: ArrayLike) -> np.ndarray:
    """Split ``totals[g]`` over the rows of each group ``g`` by ``weights``, exact to the cent.

    ``groups`` holds one integer code in ``[0, len(totals))`` per row; a group's rows need not be
    contiguous, and their relative order is the tie-break order. Returns int64 cents per row.
    Formula: largest remainder on ``|T| * w_i / sum(w)``, the sign of ``T`` applied afterwards.
    """
    g = np.asarray(groups, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    t = np.asarray(totals, dtype=np.int64)
    if g.shape != w.shape or g.ndim != 1:
        raise ValueError("groups and weights must be 1-d arrays of the same length")
    if t.ndim != 1:
        raise ValueError("totals must be a 1-d array")
    n_groups = t.shape[0]
    if g.size and (g.min() < 0 or g.max() >= n_groups):
        raise ValueError("group codes must lie in [0, len(totals))")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")

    rows_per_group = np.bincount(g, minlength=n_groups)
    weight_sum = np.bincount(g, weights=w, minlength=n_groups)
    if np.any((t != 0) & ~(weight_sum > 0)):
        # Money with nowhere to go would silently break conservation.
        raise ValueError("a group with a non-zero total has no rows or only zero weights")
    if g.size == 0:
        return np.zeros(0, dtype=np.int64)

    magnitude = np.abs(t)
    safe_sum = np.where(weight_sum > 0, weight_sum, 1.0)
    raw = magnitude[g].astype(np.float64) * (w / safe_sum[g])
    floor = np.floor(raw)
    frac = raw - floor
    floor_int = floor.astype(np.int64)

    floor_sum = np.zeros(n_groups, dtype=np.int64)
    np.add.at(floor_sum, g, floor_int)  # integer sum: float bincount could round large totals
    leftover = magnitude - floor_sum
    # divmod keeps the result exact even if float noise made `leftover` reach n (or dip below 0).
    per_row, extra = np.divmod(leftover, np.maximum(rows_per_group, 1))

    row_index = np.arange(g.size)
    order = np.lexsort((row_index, -frac, g))
    sorted_groups = g[order]
    group_start = np.searchsorted(sorted_groups, np.arange(n_groups), side="left")
    rank = np.empty(g.size, dtype=np.int64)
    rank[order] = row_index - group_start[sorted_groups]

    parts = floor_int + per_row[g] + (rank < extra[g])
    return parts * np.sign(t)[g]
