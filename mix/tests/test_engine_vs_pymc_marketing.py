"""The mix engine against pymc-marketing (PyMC Labs) on the same simulated weeks.

Optional: pymc-marketing lives in the ``compare`` dependency group, which ``make install`` does
not install, so the test skips with a message when it is absent; ``make compare`` installs the
group and runs it (a fit takes one to two minutes on two cores, most of it NUTS sampling).

The two models are not the same model, on purpose: pymc-marketing's ``MMM`` with geometric
adstock (8 weeks, as ours) and its default logistic saturation, 2 Fourier pairs, fitted by NUTS;
ours has exponential saturation and is fitted by Metropolis chains around a Laplace proposal
(README, "Marketing mix model"). So they are compared on what a user reads off both, the
return per unit of spend of each channel over the whole period, and on the known truth of the
simulation:

* every channel's two 90% intervals overlap (no channel where one model is sure of something
  the other rules out);
* the two posterior means rank the channels alike (Spearman's rho) and agree in level (the
  median ratio of their means);
* each model's 90% interval holds the true return for most channels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mix import engine
from mix.tests.pymc_reference import pymc_marketing_roas

pymc_marketing = pytest.importorskip(
    "pymc_marketing",
    reason="pymc-marketing is in the optional compare group: make compare installs it",
)

SEED = 0


@pytest.fixture(scope="module")
def both() -> tuple[engine.Truth, pd.DataFrame, pd.DataFrame]:
    truth = engine.simulate(seed=SEED, weeks=104, channels=8)
    ours = engine.roas_table(engine.fit(truth.spend, truth.outcome, seed=SEED))
    theirs = pymc_marketing_roas(truth, seed=SEED)
    table = pd.DataFrame(
        {
            "true": truth.roas,
            "ours": ours.roas,
            "ours_low": ours.roas_low,
            "ours_high": ours.roas_high,
            "pymc_marketing": theirs.roas,
            "pm_low": theirs.roas_low,
            "pm_high": theirs.roas_high,
        }
    )
    print("\nreturn per unit of spend, 104 weeks x 8 channels, seed", SEED)
    print(table.round(2).to_string())
    return truth, ours, theirs


def test_the_two_models_90_percent_intervals_overlap_for_every_channel(both):
    _, ours, theirs = both
    overlap = (ours.roas_low <= theirs.roas_high) & (theirs.roas_low <= ours.roas_high)
    assert overlap.all(), overlap[~overlap].index.tolist()


def test_the_two_models_rank_and_size_the_channels_alike(both):
    _, ours, theirs = both
    rho = ours.roas.rank().corr(theirs.roas.rank())
    assert rho >= 0.7, rho
    ratio = float(np.median(theirs.roas / ours.roas))
    assert 0.6 <= ratio <= 1.6, ratio


def test_each_model_holds_the_true_return_for_most_channels(both):
    truth, ours, theirs = both
    true = truth.roas
    for name, table in (("ours", ours), ("pymc-marketing", theirs)):
        inside = (table.roas_low <= true) & (true <= table.roas_high)
        assert inside.mean() >= 0.75, (name, inside[~inside].index.tolist())
