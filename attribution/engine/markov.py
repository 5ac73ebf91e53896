"""Markov-chain attribution: additive transition counts and exact removal effects.

Each path becomes ``(start) > s1 > ... > sn > (conversion)`` or ``... > (null)`` (see
``journeys`` for which paths exist). With order ``k`` a state is the tuple of the last
``min(k, i)`` channels up to touch ``i``, written oldest first and joined by ``">"``, e.g.
``"Email>Search"``; the first ``k-1`` states of a path are therefore shorter tuples (no padding
state). Repeated channels are kept as they are; for order 1 a self-loop ``A > A`` never changes a
conversion probability, so collapsing repeats would give the same removal effects.

Transition counts are additive: counts of disjoint lead-id partitions concatenated and summed by
``(from_state, to_state)`` equal the counts of the whole data, which is what the Celery
map/reduce relies on.

Removal effects are exact. With transient states T (``(start)`` and channel states) and
transition probabilities ``Q`` (T -> T) and ``r`` (T -> conversion), the conversion probability
from every state solves ``(I - Q) p = r``. Removing channel ``c`` deletes every state containing
``c`` (the traffic into them is lost, i.e. goes to null) and solves the reduced system:

    RE(c) = 1 - p_without_c(start) / p(start)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.engine.journeys import (
    CONVERSION_STATE,
    NULL_STATE,
    START_STATE,
    STATE_SEPARATOR,
    Paths,
    build_paths,
    prepare_conversions,
    prepare_members,
    prepare_touches,
)

MAX_STATES = 5000
_START, _CONVERSION, _NULL = -1, -2, -3
_COUNT_COLUMNS = ["from_state", "to_state", "count"]


def _empty_counts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "from_state": pd.Series([], dtype=str),
            "to_state": pd.Series([], dtype=str),
            "count": pd.Series([], dtype=np.int64),
        }
    )


def _state_names(codes: np.ndarray, channels: np.ndarray, base: int, order: int) -> list[str]:
    # One Python iteration per distinct state, never per touch.
    special = {_START: START_STATE, _CONVERSION: CONVERSION_STATE, _NULL: NULL_STATE}
    names = []
    for code in codes.tolist():
        if code < 0:
            names.append(special[code])
            continue
        digits = [(code // base**j) % base for j in range(order)]
        parts = [channels[d - 1] for d in reversed(digits) if d]
        names.append(STATE_SEPARATOR.join(parts))
    return names


def transition_counts_from_paths(paths: Paths, order: int = 1) -> pd.DataFrame:
    """Count ``from_state -> to_state`` transitions over all paths (order-k states)."""
    if int(order) != order or order < 1:
        raise ValueError("Markov order must be an integer >= 1")
    order = int(order)
    if paths.path.size == 0:
        return _empty_counts()
    base = len(paths.channels) + 1
    if base**order >= 2**62:
        raise ValueError(f"Markov order {order} with {base - 1} channels overflows state codes")

    digit = paths.channel + 1  # 0 means "no channel" inside a shorter-than-k tuple
    state = np.zeros(digit.size, dtype=np.int64)
    for j in range(order):
        shifted = np.zeros_like(digit)
        shifted[j:] = digit[: digit.size - j]
        state += np.where(paths.position >= j, shifted * base**j, 0)

    first = paths.position == 0
    previous = np.empty_like(state)
    previous[1:] = state[:-1]
    previous[first] = _START
    last = np.ones(state.size, dtype=bool)
    last[:-1] = paths.path[1:] != paths.path[:-1]
    terminal = np.where(paths.converted[paths.path[last]], _CONVERSION, _NULL)

    pairs = pd.DataFrame(
        {
            "from_code": np.concatenate([previous, state[last]]),
            "to_code": np.concatenate([state, terminal]),
        }
    )
    grouped = pairs.groupby(["from_code", "to_code"], sort=False).size()
    from_codes = grouped.index.get_level_values(0).to_numpy()
    to_codes = grouped.index.get_level_values(1).to_numpy()
    unique_codes, inverse = np.unique(np.concatenate([from_codes, to_codes]), return_inverse=True)
    names = np.asarray(_state_names(unique_codes, paths.channels, base, order), dtype=object)
    out = pd.DataFrame(
        {
            "from_state": pd.Series(names[inverse[: from_codes.size]], dtype=str),
            "to_state": pd.Series(names[inverse[from_codes.size :]], dtype=str),
            "count": grouped.to_numpy().astype(np.int64),
        }
    )
    return out.sort_values(["from_state", "to_state"], ignore_index=True)


def markov_transition_counts(
    touches: pd.DataFrame,
    conversions: pd.DataFrame,
    *,
    lookback_days: float | None = 90,
    order: int = 1,
    members: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Additive partial result: ``DataFrame[from_state, to_state, count]`` for these leads
    (over account journeys when ``members`` is given)."""
    paths = build_paths(
        prepare_touches(touches),
        prepare_conversions(conversions),
        lookback_days,
        None if members is None else prepare_members(members),
    )
    return transition_counts_from_paths(paths, order)


def combine_transition_counts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Reduce step: sum partial transition counts by ``(from_state, to_state)``."""
    frames = [p for p in parts if len(p)]
    if not frames:
        return _empty_counts()
    total = (
        pd.concat(frames, ignore_index=True)
        .groupby(["from_state", "to_state"], as_index=False, sort=True)["count"]
        .sum()
    )
    total["count"] = total["count"].astype(np.int64)
    return total[_COUNT_COLUMNS]


def markov_removal_effects(counts: pd.DataFrame) -> pd.Series:
    """Exact removal effect per channel: ``RE(c) = 1 - P(conv | c removed) / P(conv)``."""
    result_name = "removal_effect"
    total = combine_transition_counts([counts])
    total = total.loc[total["count"] > 0]
    from_names = total["from_state"].to_numpy(dtype=object)
    to_names = total["to_state"].to_numpy(dtype=object)
    absorbing = {CONVERSION_STATE, NULL_STATE}
    states = sorted(set(from_names) | (set(to_names) - absorbing))
    if START_STATE not in states:
        return pd.Series([], dtype=np.float64, name=result_name, index=pd.Index([], name="channel"))
    if len(states) > MAX_STATES:
        raise ValueError(
            f"{len(states)} Markov states exceed the exact-solver limit of {MAX_STATES}; "
            "lower the order or merge channels"
        )
    index = {s: i for i, s in enumerate(states)}
    size = len(states)
    transient = np.zeros((size, size))
    to_conversion = np.zeros(size)
    to_null = np.zeros(size)
    weights = total["count"].to_numpy(dtype=np.float64)
    src = np.array([index[s] for s in from_names], dtype=np.int64)
    is_conv = to_names == CONVERSION_STATE
    is_null = to_names == NULL_STATE
    inner = ~(is_conv | is_null)
    np.add.at(transient, (src[inner], [index[s] for s in to_names[inner]]), weights[inner])
    np.add.at(to_conversion, src[is_conv], weights[is_conv])
    np.add.at(to_null, src[is_null], weights[is_null])

    outgoing = transient.sum(axis=1) + to_conversion + to_null
    safe = np.where(outgoing > 0, outgoing, 1.0)
    q = transient / safe[:, None]
    r = to_conversion / safe
    start = index[START_STATE]

    def conversion_probability(keep: np.ndarray) -> float:
        """p(start) of the chain restricted to the kept states: solve (I - Q) p = r."""
        idx = np.flatnonzero(keep)
        p = np.linalg.solve(np.eye(idx.size) - q[np.ix_(idx, idx)], r[idx])
        return float(p[np.searchsorted(idx, start)])

    members = [set() if s == START_STATE else set(s.split(STATE_SEPARATOR)) for s in states]
    channels = sorted(set().union(*members))
    base = conversion_probability(np.ones(size, dtype=bool))
    effects = []
    for channel in channels:
        keep = np.array([channel not in m for m in members])
        without = conversion_probability(keep)
        effects.append(max(0.0, 1.0 - without / base) if base > 0 else 0.0)
    return pd.Series(
        np.asarray(effects, dtype=np.float64),
        index=pd.Index(channels, name="channel", dtype=str),
        name=result_name,
    )


def markov_channel_shares(counts: pd.DataFrame) -> pd.Series:
    """Removal effects normalised to sum to 1: ``RE(c) / sum(RE)`` (all 0 if no effect)."""
    effects = markov_removal_effects(counts)
    total = effects.sum()
    shares = effects / total if total > 0 else effects * 0.0
    return shares.rename("share")
