"""The mix model on simulated data whose truth is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mix import engine
from mix.engine import LiftTest


@pytest.fixture(scope="module")
def truth() -> engine.Truth:
    return engine.simulate(seed=11, weeks=104, channels=8)


@pytest.fixture(scope="module")
def fitted(truth: engine.Truth) -> engine.MixFit:
    return engine.fit(truth.spend, truth.outcome, seed=3)


def test_simulated_spend_has_bursts_pauses_and_flighting(truth):
    assert len(truth.spend) >= 104 and truth.spend.shape[1] >= 8
    paused_weeks = (truth.spend == 0).sum()
    assert (paused_weeks > 4).sum() >= 2  # flighting and paused channels stop for weeks
    peaks = truth.spend.max() / truth.spend.median().clip(lower=1)
    assert (peaks > 3).any()  # bursts


def test_90_percent_intervals_contain_the_true_roas_of_at_least_80_percent_of_channels():
    inside = []
    for seed in (1, 2, 3):
        truth = engine.simulate(seed=seed, weeks=104, channels=8)
        table = engine.roas_table(engine.fit(truth.spend, truth.outcome, seed=seed))
        true = truth.roas.reindex(table.index)
        inside += list((table.roas_low <= true) & (true <= table.roas_high))
    assert len(inside) == 24
    assert np.mean(inside) >= 0.8


def test_the_same_seed_gives_the_same_numbers(truth, fitted):
    again = engine.fit(truth.spend, truth.outcome, seed=3)
    pd.testing.assert_frame_equal(engine.roas_table(again), engine.roas_table(fitted))


def test_contributions_add_up_to_the_fitted_weeks(truth, fitted):
    frame = engine.contributions(fitted)
    assert list(frame.columns) == ["base", *truth.spend.columns, "actual"]
    modelled = frame.drop(columns="actual").sum(axis=1)
    # the model's mean explains the outcome within its noise
    assert np.abs(modelled - frame["actual"]).mean() < 0.15 * frame["actual"].mean()


def test_a_lift_test_moves_its_channel_toward_the_measured_value(truth, fitted):
    channel = truth.spend.columns[2]
    weeks = truth.spend.index[60:80]
    measured = float(truth.contributions.loc[weeks, channel].sum())
    before = fitted.contribution_draws()[:, 60:80, 2].sum(axis=1)
    test = LiftTest(channel, weeks[0], weeks[-1], measured, measured * 0.9, measured * 1.1)
    after_fit = engine.fit(truth.spend, truth.outcome, lift_tests=[test], seed=3)
    after = after_fit.contribution_draws()[:, 60:80, 2].sum(axis=1)
    assert abs(after.mean() - measured) < abs(before.mean() - measured)
    assert np.quantile(after, 0.95) - np.quantile(after, 0.05) < (
        np.quantile(before, 0.95) - np.quantile(before, 0.05)
    )


def test_an_attributed_roas_acts_as_a_weak_prior_centre(truth, fitted):
    channel = truth.spend.columns[0]
    before = engine.roas_table(fitted).loc[channel, "roas_median"]
    target = before * 3
    pulled = engine.fit(
        truth.spend, truth.outcome, attributed_roas=pd.Series({channel: target}), seed=3
    )
    after = engine.roas_table(pulled).loc[channel, "roas_median"]
    assert before < after < target


def test_response_curves_mark_todays_spend_and_the_diminishing_point(fitted):
    curves, points = engine.response_curves(fitted)
    assert set(curves.channel) == set(fitted.channels)
    one = curves[curves.channel == fitted.channels[0]]
    assert one.outcome.is_monotonic_increasing and (one.low <= one.outcome).all()
    assert (one.outcome <= one.high + 1e-9).all()
    assert (points.diminishing_low <= points.diminishing).all()
    assert (points.current >= 0).all()


def test_the_optimiser_proposal_does_better_in_truth_than_the_current_split(truth, fitted):
    current = engine.recent_spend(fitted)
    total = float(current.sum())
    proposal = engine.optimise(
        fitted, total=total, current=current, lower=current * 0.5, upper=current * 1.5 + 1
    )
    assert proposal.feasible
    assert proposal.proposed.sum() == pytest.approx(total, rel=1e-6)
    assert (proposal.proposed >= proposal.lower - 1e-6).all()
    assert (proposal.proposed <= proposal.upper + 1e-6).all()
    assert truth.weekly_outcome(proposal.proposed) > truth.weekly_outcome(current)
    mean, low, high = proposal.proposed_outcome
    assert low <= mean <= high and proposal.gain[0] > 0


def test_infeasible_bounds_propose_no_change(fitted):
    current = engine.recent_spend(fitted)
    proposal = engine.optimise(
        fitted, total=float(current.sum()), current=current, lower=current * 2
    )
    assert not proposal.feasible
    pd.testing.assert_series_equal(proposal.proposed, proposal.current)
    assert proposal.gain == (0.0, 0.0, 0.0)
