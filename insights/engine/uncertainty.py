"""Bootstrap intervals on attributed revenue and ROI per channel.

Credits in: ``unit`` (a converting journey: the deal id), ``key`` (channel), ``value`` (credited
revenue in currency units). Resampling whole journeys keeps the credits of one deal together,
so the interval reflects how few (or how many) deals stand behind a channel's figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def bootstrap_totals(
    credits: pd.DataFrame,
    spend: pd.Series,
    *,
    samples: int = 400,
    level: float = 0.9,
    seed: int = 0,
    min_deals: float = 20,
) -> pd.DataFrame:
    """Per key: revenue, deals, spend, ROI and their `level` percentile intervals.

    ROI = (revenue - spend) / spend with spend fixed (it is known); `small_sample` when fewer
    than `min_deals` credited deals stand behind the revenue.
    """
    keys = sorted(set(credits["key"]) | set(spend.index))
    columns = [
        "key",
        "deals",
        "revenue",
        "revenue_low",
        "revenue_high",
        "spend",
        "roi",
        "roi_low",
        "roi_high",
        "small_sample",
    ]
    if not keys:
        return pd.DataFrame(columns=columns)
    matrix = (
        credits.pivot_table(index="unit", columns="key", values="value", aggfunc="sum")
        .reindex(columns=keys)
        .fillna(0.0)
    )
    shares = (
        credits.assign(one=1.0)
        .pivot_table(index="unit", columns="key", values="one", aggfunc="max")
        .reindex(columns=keys)
        .fillna(0.0)
    )
    m = matrix.to_numpy(float)
    n = len(m)
    rng = np.random.default_rng(seed)
    totals = []
    for start in range(0, samples, 100):
        size = min(100, samples - start)
        counts = rng.multinomial(n, np.full(n, 1 / n), size=size) if n else np.zeros((size, 0))
        totals.append(counts @ m if n else np.zeros((size, len(keys))))
    draws = np.vstack(totals)
    tail = (1 - level) / 2
    low = np.quantile(draws, tail, axis=0)
    high = np.quantile(draws, 1 - tail, axis=0)
    revenue = m.sum(axis=0)
    deals = shares.to_numpy(float).sum(axis=0)
    cost = spend.reindex(keys).fillna(0.0).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = np.where(cost > 0, (revenue - cost) / cost, np.nan)
        roi_low = np.where(cost > 0, (low - cost) / cost, np.nan)
        roi_high = np.where(cost > 0, (high - cost) / cost, np.nan)
    return pd.DataFrame(
        {
            "key": keys,
            "deals": deals,
            "revenue": revenue,
            "revenue_low": low,
            "revenue_high": high,
            "spend": cost,
            "roi": roi,
            "roi_low": roi_low,
            "roi_high": roi_high,
            "small_sample": deals < min_deals,
        }
    )[columns]
