"""The demo's known truth (demo/mix_truth.py) is one a fit can find: weekly data made from it
the way the demo generator makes its leads, fitted, holds the true return in its intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demo import mix_truth
from mix import engine


@pytest.fixture(scope="module")
def plans() -> list[mix_truth.Plan]:
    return [mix_truth.plan(np.random.default_rng(seed), weeks=104) for seed in (1, 2)]


def test_demo_spend_has_two_years_of_bursts_pauses_and_flighting_and_no_twin_channels(plans):
    for plan in plans:
        spend = plan.channel_spend
        assert len(spend) >= 104
        assert set(spend.columns) == set(mix_truth.CHANNELS)
        assert ((spend == 0).sum() >= 4).sum() >= 2  # flighting and pauses stop for weeks
        assert ((spend.max() / spend.median().clip(lower=1)) > 3).any()  # bursts
        corr = np.corrcoef(spend.to_numpy().T)
        np.fill_diagonal(corr, 0)
        assert np.abs(corr).max() < 0.8


def test_expected_leads_follow_the_truths_curves(plans):
    plan = plans[0]
    search = mix_truth.CHANNELS["Paid Search"]
    expected = engine.media_response(
        plan.channel_spend[["Paid Search"]].to_numpy(),
        decay=np.array([search.decay]),
        beta=np.array([search.max_leads]),
        k=np.array([search.k]),
    )[:, 0]
    np.testing.assert_allclose(plan.expected["Paid Search"].to_numpy(), expected)
    # half the most leads at the half-saturation spend, held for the whole carry-over
    steady = engine.media_response(
        np.full((20, 1), search.half_saturation),
        decay=np.array([search.decay]),
        beta=np.array([search.max_leads]),
        k=np.array([search.k]),
    )
    assert steady[-1, 0] == pytest.approx(search.max_leads / 2)


def test_a_fit_of_demo_like_weeks_holds_the_true_return_of_at_least_80_percent_of_channels(plans):
    inside = []
    for seed, plan in enumerate(plans, start=1):
        rng = np.random.default_rng(100 + seed)
        leads = pd.Series(rng.poisson(plan.expected.sum(axis=1)), index=plan.expected.index)
        table = engine.roas_table(engine.fit(plan.channel_spend, leads.astype(float), seed=seed))
        true = plan.true_return().reindex(table.index)
        inside += list((table.roas_low <= true) & (true <= table.roas_high))
    assert len(inside) == 2 * len(mix_truth.CHANNELS)
    assert np.mean(inside) >= 0.8
