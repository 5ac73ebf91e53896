"""Rule-based (heuristic) attribution weights, one float per journey row.

Every function returns *unnormalised* non-negative weights; ``normalise`` turns them into shares
summing to 1 per journey (falling back to linear when a journey's weights are all zero).

Role-based models (position_based, w_shaped, full_path) give each *role* (first touch,
lead-creation touch, opportunity-creation touch, last touch) its weight, and split the ``rest``
weight evenly over the touches holding no role. Two rules cover the degenerate journeys:

* Roles that fall on the same touch add up on it (one touch that is first, lead-creation and
  opportunity-creation gets 30 + 30 + 30 of W-shaped's points).
* A role that is missing from the journey (no lead-creation flag in the window, no
  ``opportunity_ts`` or no touch at/before it, or no "rest" touch at all) has its weight
  redistributed proportionally over the roles present. Because every present role puts its whole
  weight on exactly one row, this is simply dividing by the journey's weight total. Examples:
  W-shaped without an opportunity touch on 4 touches -> first 3/7, lead 3/7, others 1/14 each;
  position_based on 2 touches -> ``first/(first+last)`` and ``last/(first+last)`` (50/50 by
  default); 1 touch -> 100%.
* If every role present has weight 0 (e.g. position_based with first=last=0 on 2 touches) the
  journey falls back to linear.

The lead-creation touch is the earliest touch in the journey flagged ``is_lead_creation``; the
opportunity-creation touch is the last journey touch with ``ts <= opportunity_ts``; full path's
"last touch before the deal was won" is the journey's last touch (journeys end at the conversion).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from attribution.engine.journeys import DIRECT, Journeys, ts_ns

_NS_PER_DAY = 86_400 * 1_000_000_000


def normalise(jid: np.ndarray, n_journeys: int, weights: np.ndarray) -> np.ndarray:
    """Shares per row: ``w_i / sum_journey(w)``; a journey whose weights sum to 0 gets ``1/n``."""
    total = np.bincount(jid, weights=weights, minlength=n_journeys)
    rows = np.bincount(jid, minlength=n_journeys)
    safe_total = np.where(total > 0, total, 1.0)
    return np.where(total[jid] > 0, weights / safe_total[jid], 1.0 / np.maximum(rows, 1)[jid])


def first_in_group(mask: np.ndarray, jid: np.ndarray) -> np.ndarray:
    """Per journey, only the first row where ``mask`` holds (rows in journey order)."""
    hits = np.flatnonzero(mask)
    keep = np.ones(hits.size, dtype=bool)
    keep[1:] = jid[hits[1:]] != jid[hits[:-1]]
    out = np.zeros(mask.shape[0], dtype=bool)
    out[hits[keep]] = True
    return out


def last_in_group(mask: np.ndarray, jid: np.ndarray) -> np.ndarray:
    """Per journey, only the last row where ``mask`` holds (rows in journey order)."""
    hits = np.flatnonzero(mask)
    keep = np.ones(hits.size, dtype=bool)
    keep[:-1] = jid[hits[:-1]] != jid[hits[1:]]
    out = np.zeros(mask.shape[0], dtype=bool)
    out[hits[keep]] = True
    return out


def first_touch_weights(journeys: Journeys) -> np.ndarray:
    """Weight 1 on the first touch of the journey."""
    return (journeys.column("pos") == 0).astype(np.float64)


def last_touch_weights(journeys: Journeys) -> np.ndarray:
    """Weight 1 on the last touch before the conversion."""
    return (journeys.column("pos") == journeys.column("n") - 1).astype(np.float64)


def last_non_direct_weights(journeys: Journeys, direct_channel: str = DIRECT) -> np.ndarray:
    """Weight 1 on the last non-Direct touch; on the last touch if the whole path is Direct."""
    jid = journeys.column("jid")
    non_direct = journeys.column("channel") != direct_channel
    chosen = last_in_group(non_direct, jid)
    has_non_direct = np.bincount(jid[chosen], minlength=journeys.n_journeys) > 0
    fallback = (journeys.column("pos") == journeys.column("n") - 1) & ~has_non_direct[jid]
    return (chosen | fallback).astype(np.float64)


def linear_weights(journeys: Journeys) -> np.ndarray:
    """Equal weight on every touch: ``1/n``."""
    return np.ones(len(journeys.rows), dtype=np.float64)


def time_decay_weights(journeys: Journeys, half_life_days: float = 7.0) -> np.ndarray:
    """Exponential decay: ``w = 2^(-t/H)``, t = days from touch to conversion, H = half-life."""
    if not half_life_days > 0:
        raise ValueError("half_life_days must be positive")
    jid = journeys.column("jid")
    conv_ns = ts_ns(journeys.conversions["ts"])
    age_days = (conv_ns[jid] - ts_ns(journeys.rows["ts"])) / _NS_PER_DAY
    # Measure age from the journey's freshest touch: the ratios are unchanged but the largest
    # weight is 1, so long lookbacks with short half-lives cannot underflow to all zeros.
    last = journeys.column("pos") == journeys.column("n") - 1
    freshest = np.zeros(journeys.n_journeys)
    freshest[jid[last]] = age_days[last]
    return np.exp2(-(age_days - freshest[jid]) / float(half_life_days))


def lead_creation_mask(journeys: Journeys) -> np.ndarray:
    """The earliest touch flagged ``is_lead_creation`` in each journey (synthetic rows never)."""
    flagged = journeys.column("is_lead_creation") & ~journeys.column("synthetic")
    return first_in_group(flagged.astype(bool), journeys.column("jid"))


def opportunity_creation_mask(journeys: Journeys) -> np.ndarray:
    """The last touch with ``ts <= opportunity_ts`` in each journey (none when it is NaT)."""
    jid = journeys.column("jid")
    opportunity = journeys.conversions["opportunity_ts"]
    known = ~opportunity.isna().to_numpy()
    opp_ns = ts_ns(opportunity)
    eligible = known[jid] & (ts_ns(journeys.rows["ts"]) <= opp_ns[jid])
    eligible &= ~journeys.column("synthetic")
    return last_in_group(eligible, jid)


def role_weights(
    n_rows: int, jid: np.ndarray, roles: Sequence[tuple[np.ndarray, float]], rest_weight: float
) -> np.ndarray:
    """Role weights add up per touch; ``rest_weight`` is split evenly over role-less touches.

    Formula: ``w_i = sum_r W_r [i is role r] + W_rest [i has no role] / n_rest``; missing roles
    are redistributed later by ``normalise`` (dividing by the total of the roles present).
    """
    weights = np.zeros(n_rows, dtype=np.float64)
    has_role = np.zeros(n_rows, dtype=bool)
    for mask, weight in roles:
        weights += weight * mask
        has_role |= mask
    rest = ~has_role
    n_rest = np.bincount(jid[rest], minlength=int(jid.max()) + 1 if jid.size else 0)
    weights[rest] += rest_weight / n_rest[jid[rest]]
    return weights


def _check_weights(**weights: float) -> None:
    for name, value in weights.items():
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} weight must be a finite non-negative number, got {value!r}")


def position_based_weights(journeys: Journeys, first: float = 0.4, last: float = 0.4) -> np.ndarray:
    """U-shaped: ``first`` and ``last`` to the end touches, ``1-first-last`` evenly between."""
    _check_weights(first=first, last=last)
    if first + last > 1 + 1e-12:
        raise ValueError("position_based needs first + last <= 1")
    pos, n = journeys.column("pos"), journeys.column("n")
    roles = [(pos == 0, first), (pos == n - 1, last)]
    return role_weights(len(pos), journeys.column("jid"), roles, max(0.0, 1.0 - first - last))


def w_shaped_weights(
    journeys: Journeys,
    first: float = 0.3,
    lead: float = 0.3,
    opportunity: float = 0.3,
    rest: float = 0.1,
) -> np.ndarray:
    """W-shaped: 30% first, 30% lead-creation, 30% opportunity-creation, 10% over the others."""
    _check_weights(first=first, lead=lead, opportunity=opportunity, rest=rest)
    pos = journeys.column("pos")
    roles = [
        (pos == 0, first),
        (lead_creation_mask(journeys), lead),
        (opportunity_creation_mask(journeys), opportunity),
    ]
    return role_weights(len(pos), journeys.column("jid"), roles, rest)


def full_path_weights(
    journeys: Journeys,
    first: float = 0.225,
    lead: float = 0.225,
    opportunity: float = 0.225,
    last: float = 0.225,
    rest: float = 0.1,
) -> np.ndarray:
    """Full path: 22.5% each to first, lead-creation, opportunity-creation, last; 10% others."""
    _check_weights(first=first, lead=lead, opportunity=opportunity, last=last, rest=rest)
    pos, n = journeys.column("pos"), journeys.column("n")
    roles = [
        (pos == 0, first),
        (lead_creation_mask(journeys), lead),
        (opportunity_creation_mask(journeys), opportunity),
        (pos == n - 1, last),
    ]
    return role_weights(len(pos), journeys.column("jid"), roles, rest)
