"""pymc-marketing's estimate of the return per unit of spend, for the comparison test and
`make bench` (section mix). Needs the optional compare dependency group."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from mix.engine import Truth
from mix.engine.model import FOURIER_ORDER, MAX_LAG


def pymc_marketing_roas(truth: Truth, *, seed: int = 0) -> pd.DataFrame:
    """pymc-marketing's return per unit of spend per channel: mean and 90% interval."""
    from pymc_marketing.mmm import MMM, GeometricAdstock, LogisticSaturation

    columns = [f"c{i}" for i in range(truth.spend.shape[1])]
    frame = truth.spend.set_axis(columns, axis=1).rename_axis("date").reset_index()
    model = MMM(
        date_column="date",
        channel_columns=columns,
        adstock=GeometricAdstock(l_max=MAX_LAG),
        saturation=LogisticSaturation(),
        yearly_seasonality=FOURIER_ORDER,
    )
    logging.getLogger("pymc").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(
            frame,
            truth.outcome.to_numpy(),
            chains=2,
            cores=2,
            tune=500,
            draws=500,
            target_accept=0.9,
            random_seed=seed,
            progressbar=False,
        )
        contribution = model.compute_channel_contribution_original_scale()
    spend = truth.spend.sum().to_numpy()
    roas = contribution.sum("date").stack(sample=("chain", "draw")).transpose("channel", "sample")
    draws = roas.to_numpy() / spend[:, None]
    return pd.DataFrame(
        {
            "roas": draws.mean(axis=1),
            "roas_low": np.quantile(draws, 0.05, axis=1),
            "roas_high": np.quantile(draws, 0.95, axis=1),
        },
        index=truth.spend.columns,
    )
