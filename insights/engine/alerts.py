"""Conditions worth telling someone about, found in plain frames."""

from __future__ import annotations

import pandas as pd


def rank_flips(
    revenue: pd.DataFrame, *, min_shift: int = 2, min_share: float = 0.05
) -> pd.DataFrame:
    """Channels whose revenue rank differs by at least `min_shift` places between two models.

    ``revenue``: ``model``, ``channel``, ``revenue``. Channels with under `min_share` of the
    revenue under every model are ignored (their rank is noise). One row per flipping channel:
    the model ranking it best and the one ranking it worst, with both ranks.
    """
    columns = ["channel", "best_model", "best_rank", "worst_model", "worst_rank", "shift"]
    if revenue.empty:
        return pd.DataFrame(columns=columns)
    frame = revenue.groupby(["model", "channel"], as_index=False)["revenue"].sum()
    frame["share"] = frame["revenue"] / frame.groupby("model")["revenue"].transform("sum")
    big = frame.groupby("channel")["share"].max()
    frame = frame[frame["channel"].isin(big[big >= min_share].index)].copy()
    frame["rank"] = frame.groupby("model")["revenue"].rank(ascending=False, method="min")
    rows = []
    for channel, group in frame.groupby("channel"):
        best, worst = group.loc[group["rank"].idxmin()], group.loc[group["rank"].idxmax()]
        shift = int(worst["rank"] - best["rank"])
        if shift >= min_shift:
            rows.append(
                [
                    channel,
                    best["model"],
                    int(best["rank"]),
                    worst["model"],
                    int(worst["rank"]),
                    shift,
                ]
            )
    return pd.DataFrame(rows, columns=columns).sort_values(
        ["shift", "channel"], ascending=[False, True]
    )


def drifts(
    frame: pd.DataFrame, *, metric: str, threshold: float, min_count: float, higher_is_worse: bool
) -> pd.DataFrame:
    """Keys whose metric in the recent window moved against them by more than `threshold`
    (relative change) from the baseline window.

    ``frame``: ``key``, ``baseline``, ``recent`` (metric values) and ``baseline_n``,
    ``recent_n`` (how many leads or ratings stand behind each); rows with fewer than
    `min_count` in either window are not judged.
    """
    enough = frame[(frame["baseline_n"] >= min_count) & (frame["recent_n"] >= min_count)].copy()
    enough = enough[enough["baseline"] > 0]
    enough["change"] = enough["recent"] / enough["baseline"] - 1
    bad = enough["change"] > threshold if higher_is_worse else enough["change"] < -threshold
    out = enough[bad].assign(metric=metric)
    return out.sort_values("change", ascending=not higher_is_worse)
