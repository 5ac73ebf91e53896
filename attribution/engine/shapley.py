"""Exact Shapley-value attribution over channel sets, from additive coalition counts.

A path's *coalition* is its set of distinct channels, written canonically as the sorted channel
names joined by ``"|"`` (``"Email|Search"``). ``shapley_coalition_counts`` counts, per
coalition, the converting paths (``conversions``), their ``value_cents`` and all paths including
null ones (``journeys``, informative only); the counts are additive over lead-id partitions.

Characteristic function (the standard one for path data): the worth of a channel set ``S`` is
what the journeys using only channels from ``S`` produced,

    v(S) = sum over coalitions T subset of S of m(T)     (m = conversions or value_cents)

and the Shapley value is the usual exact average of marginal contributions,

    phi_i = sum over S not containing i of |S|! (n-|S|-1)! / n! * (v(S + i) - v(S)).

``v`` is computed for all ``2^n`` sets with a subset-sum (zeta) transform, so the cost is
``O(n 2^n)``; beyond ``max_channels`` (default 15) a ``ValueError`` is raised. Non-converting
paths have ``m = 0`` and so do not move the values. Channels that never appear in a coalition
with a non-zero metric are null players: they get 0 and do not count towards ``max_channels``.
(For this ``v`` the result equals splitting every coalition's metric evenly over its members,
``phi_i = sum over T containing i of m(T)/|T|``, which the tests use as a cross-check.)
"""

from __future__ import annotations

from math import factorial
from typing import Literal

import numpy as np
import pandas as pd

from attribution.engine.journeys import (
    COALITION_SEPARATOR,
    Paths,
    build_paths,
    prepare_conversions,
    prepare_members,
    prepare_touches,
)

MAX_CHANNELS = 15
_BITS_PER_WORD = 62  # stays clear of the int64 sign bit
_COLUMNS = ["coalition", "conversions", "value_cents", "journeys"]
Metric = Literal["conversions", "value_cents"]


def _empty_counts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "coalition": pd.Series([], dtype=str),
            "conversions": pd.Series([], dtype=np.int64),
            "value_cents": pd.Series([], dtype=np.int64),
            "journeys": pd.Series([], dtype=np.int64),
        }
    )


def coalition_counts_from_paths(paths: Paths) -> pd.DataFrame:
    """Per coalition: converting paths, their value and all paths (vectorised bitmasks)."""
    if paths.n_paths == 0:
        return _empty_counts()
    n_channels = len(paths.channels)
    pair = np.unique(paths.path * n_channels + paths.channel)
    pair_path, pair_code = pair // n_channels, pair % n_channels
    starts = np.flatnonzero(np.append(True, pair_path[1:] != pair_path[:-1]))

    n_words = -(-n_channels // _BITS_PER_WORD)
    words = {}
    for w in range(n_words):
        in_word = pair_code // _BITS_PER_WORD == w
        bits = np.where(in_word, np.left_shift(1, pair_code % _BITS_PER_WORD), 0).astype(np.int64)
        words[f"w{w}"] = np.add.reduceat(bits, starts)
    frame = pd.DataFrame(words)
    frame["conversions"] = paths.converted.astype(np.int64)
    frame["value_cents"] = np.where(paths.converted, paths.value_cents, 0).astype(np.int64)
    frame["journeys"] = np.ones(paths.n_paths, dtype=np.int64)
    grouped = frame.groupby(list(words), as_index=False, sort=False).sum()

    # Channel codes follow sorted names, so appending in code order yields canonical strings.
    text = np.full(len(grouped), "", dtype=object)
    for code, name in enumerate(paths.channels):
        word = grouped[f"w{code // _BITS_PER_WORD}"].to_numpy()
        has = (word >> (code % _BITS_PER_WORD)) & 1 == 1
        text[has] = text[has] + (name + COALITION_SEPARATOR)
    out = pd.DataFrame(
        {
            "coalition": pd.Series(text, dtype=str).str.slice(0, -1),
            "conversions": grouped["conversions"].to_numpy(np.int64),
            "value_cents": grouped["value_cents"].to_numpy(np.int64),
            "journeys": grouped["journeys"].to_numpy(np.int64),
        }
    )
    return out.sort_values("coalition", ignore_index=True)


def shapley_coalition_counts(
    touches: pd.DataFrame,
    conversions: pd.DataFrame,
    *,
    lookback_days: float | None = 90,
    members: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Additive partial result: ``DataFrame[coalition, conversions, value_cents, journeys]``
    (over account journeys when ``members`` is given)."""
    paths = build_paths(
        prepare_touches(touches),
        prepare_conversions(conversions),
        lookback_days,
        None if members is None else prepare_members(members),
    )
    return coalition_counts_from_paths(paths)


def combine_coalition_counts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Reduce step: sum partial coalition counts by coalition."""
    frames = [p for p in parts if len(p)]
    if not frames:
        return _empty_counts()
    total = (
        pd.concat(frames, ignore_index=True)
        .groupby("coalition", as_index=False, sort=True)[_COLUMNS[1:]]
        .sum()
    )
    for column in _COLUMNS[1:]:
        total[column] = total[column].astype(np.int64)
    return total[_COLUMNS]


def _split(coalitions: pd.Series) -> pd.Series:
    members = coalitions.str.split(COALITION_SEPARATOR).explode()
    return members[members.notna() & (members != "")]


def shapley_values(
    counts: pd.DataFrame, *, metric: Metric = "conversions", max_channels: int = MAX_CHANNELS
) -> pd.Series:
    """Exact Shapley value per channel for ``v(S) = sum_{T subset of S} m(T)`` (see module)."""
    if metric not in ("conversions", "value_cents"):
        raise ValueError("metric must be 'conversions' or 'value_cents'")
    total = combine_coalition_counts([counts]) if len(counts) else _empty_counts()
    every_channel = sorted(set(_split(total["coalition"])))
    measure = total[metric].to_numpy(dtype=np.float64)
    productive = total.loc[measure != 0].reset_index(drop=True)
    members = _split(productive["coalition"])
    players = sorted(set(members))
    n = len(players)
    if n > max_channels:
        raise ValueError(
            f"exact Shapley values over {n} channels exceed max_channels={max_channels} "
            f"(2^{n} coalitions); merge channels or raise max_channels"
        )
    values = dict.fromkeys(every_channel, 0.0)
    if n:
        bit = pd.Series(np.left_shift(1, np.arange(n)), index=players)
        masks = (
            pd.Series(bit.loc[members.to_numpy()].to_numpy(), index=members.index)
            .groupby(level=0)
            .sum()
            .reindex(range(len(productive)), fill_value=0)
            .to_numpy(np.int64)
        )
        worth = np.zeros(2**n)
        np.add.at(worth, masks, productive[metric].to_numpy(dtype=np.float64))
        for i in range(n):  # zeta transform: worth[S] becomes sum of m(T) over T subset of S
            view = worth.reshape(-1, 2, 2**i)
            view[:, 1, :] += view[:, 0, :]
        size = np.zeros(2**n, dtype=np.int64)
        for i in range(n):
            size += (np.arange(2**n) >> i) & 1
        weight = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
        for i, player in enumerate(players):
            view = worth.reshape(-1, 2, 2**i)
            without_size = size.reshape(-1, 2, 2**i)[:, 0, :]
            gain = view[:, 1, :] - view[:, 0, :]
            values[player] = float(np.sum(weight[without_size] * gain))
    return pd.Series(
        list(values.values()),
        index=pd.Index(list(values), name="channel", dtype=str),
        name="shapley_value",
        dtype=np.float64,
    )
