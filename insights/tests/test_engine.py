"""The pure maths, on generated data where the truth is known (runs without Django)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insights import engine

CHANNELS = ["Paid Search", "Paid Social", "Email", "Display"]


def leads(n: int, *, seed: int = 1, good_channel: str = "Email") -> pd.DataFrame:
    """Leads whose outcome depends on the channel (one converts far better), on a free-mail
    address (worse) and on the pages seen before capture (better)."""
    rng = np.random.default_rng(seed)
    channel = rng.choice(CHANNELS, n)
    free_mail = rng.random(n) < 0.3
    pages = rng.poisson(3, n)
    logit = -1.0 + 2.0 * (channel == good_channel) - 1.0 * free_mail + 0.25 * pages
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "lead_id": np.arange(n), "created_at": pd.date_range("2025-01-01", periods=n, freq="h"),
            "channel": channel, "campaign": "", "form": "Demo request",
            "journey_touches": rng.poisson(2, n), "pages_before": pages,
            "has_company": rng.random(n) < 0.7, "free_mail": free_mail,
            "has_phone": rng.random(n) < 0.5, "consent": rng.random(n) < 0.5, "label": label,
        }
    )  # fmt: skip


def test_a_channel_made_to_convert_better_gets_higher_scores_and_a_good_auc():
    data = leads(3000)
    training = engine.train_and_validate(data)
    assert training.metrics["auc"] > 0.7
    assert training.metrics["n_test"] == 600 and training.metrics["n_train"] == 2400
    scores = engine.score_points(engine.predict(data, training.model))
    by_channel = pd.Series(scores).groupby(data["channel"]).mean()
    assert by_channel.idxmax() == "Email"
    assert by_channel["Email"] > by_channel.drop("Email").max() + 20


def test_calibration_table_matches_observed_rates_on_held_out_leads():
    training = engine.train_and_validate(leads(4000, seed=3))
    table = training.calibration
    assert sum(row["n"] for row in table) == 800
    assert [row["predicted"] for row in table] == sorted(row["predicted"] for row in table)
    for row in table:
        assert abs(row["predicted"] - row["observed"]) < 0.15


def test_explanation_names_what_raised_and_lowered_a_score():
    data = leads(2000, seed=5)
    model = engine.fit(data)
    one = pd.DataFrame([{**data.iloc[0].to_dict(), "channel": "Email", "free_mail": True}])
    factors = engine.explain(one, model)[0]
    by_feature = {f["feature"]: f for f in factors}
    assert by_feature["channel"]["effect"] > 0 and "Email" in by_feature["channel"]["label"]
    assert by_feature["free_mail"]["effect"] < 0
    assert by_feature["free_mail"]["label"] == "Free-mail address"
    # The effects add up to the lead's log-odds against the average lead's.
    p = engine.predict(one, model)[0]
    average = model["intercept"] + float(np.dot(model["coef"], model["means"]))
    all_factors = engine.explain(one, model, top=99)[0]
    total = sum(f["effect"] for f in all_factors)
    assert np.log(p / (1 - p)) == pytest.approx(average + total, abs=0.02 * len(model["coef"]))


def test_too_few_or_one_sided_outcomes_are_refused():
    with pytest.raises(engine.NotEnoughData):
        engine.train_and_validate(leads(20))
    data = leads(500)
    data["label"] = 1
    with pytest.raises(engine.NotEnoughData):
        engine.train_and_validate(data)


def test_auc_is_one_half_for_ties_and_one_for_a_perfect_ranking():
    assert engine.auc(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.8])) == 1.0
    assert engine.auc(np.array([0, 1]), np.array([0.5, 0.5])) == 0.5


# --- Budget advice ---------------------------------------------------------------------------


def weekly(weeks: int = 40, *, seed: int = 2) -> pd.DataFrame:
    """Two channels with the same curve shape; Search returns far more per unit spent."""
    rng = np.random.default_rng(seed)
    rows = []
    for key, a in (("Search", 60.0), ("Display", 15.0)):
        for w in range(weeks):
            spend = float(rng.uniform(500, 3000))
            revenue = a * spend**0.7 * float(rng.lognormal(0, 0.1))
            rows.append({"key": key, "week": w, "spend": spend, "revenue": revenue, "deals": 8.0})
    return pd.DataFrame(rows)


def test_curves_recover_diminishing_returns():
    curves = engine.fit_curves(weekly())
    assert curves.loc["Search", "b"] == pytest.approx(0.7, abs=0.08)
    assert curves.loc["Search", "a"] > 2 * curves.loc["Display", "a"]


def test_advice_moves_money_towards_the_higher_marginal_roi_within_bounds():
    current = pd.Series({"Search": 1500.0, "Display": 1500.0})
    advice = engine.advise(
        weekly(),
        current=current,
        lower=pd.Series({"Search": 500.0, "Display": 700.0}),
        upper=pd.Series({"Search": 2200.0, "Display": 3000.0}),
        samples=50,
    )
    rows = advice.rows
    assert rows.loc["Search", "recommended"] == pytest.approx(2200.0)  # up to its bound
    assert rows.loc["Display", "recommended"] == pytest.approx(800.0)
    assert advice.total == pytest.approx(3000.0)
    assert rows.loc["Search", "marginal_roi_current"] > rows.loc["Display", "marginal_roi_current"]
    assert advice.expected_change > 0
    assert advice.change_low <= advice.expected_change <= advice.change_high
    assert advice.probability_better > 0.9


def test_unbounded_allocation_equalises_marginal_returns():
    curves = pd.DataFrame({"a": [50.0, 20.0], "b": [0.6, 0.6]}, index=["A", "B"])
    x = engine.allocate(curves, total=1000.0, lower=pd.Series(0.0, index=curves.index),
                        upper=pd.Series(1e9, index=curves.index))  # fmt: skip
    assert x.sum() == pytest.approx(1000.0)
    marginal = engine.marginal_roas(curves["a"], curves["b"], x)
    assert marginal["A"] == pytest.approx(marginal["B"], rel=1e-3)


def test_a_thin_channel_is_pulled_towards_the_pooled_return():
    data = weekly()
    thin = data["key"] == "Display"
    data.loc[thin, "deals"] = 0.02  # under one deal behind all its revenue
    curves = engine.fit_curves(data)
    pooled = data["revenue"].sum() / data["spend"].sum()
    fitted_roas = curves.loc["Display", "a"] * curves.loc["Display", "mean_spend"] ** (
        curves.loc["Display", "b"] - 1
    )
    raw_roas = data.loc[thin, "revenue"].sum() / data.loc[thin, "spend"].sum()
    assert abs(fitted_roas - pooled) < abs(raw_roas - pooled) * 0.15


# --- Bootstrap intervals ---------------------------------------------------------------------


def credits(deals: int, *, seed: int = 4) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    rows = []
    for unit in range(deals):
        value = float(rng.lognormal(np.log(8000), 0.5))
        channels = rng.choice(["Search", "Email", "Display"], size=2, p=[0.5, 0.3, 0.2])
        for ch in channels:
            rows.append({"unit": unit, "key": str(ch), "value": value / 2})
    frame = pd.DataFrame(rows)
    # Spend grows with the data so ROI stays comparable.
    spend = pd.Series({"Search": 1500.0, "Email": 200.0, "Display": 1200.0}) * deals
    return frame, spend


def test_intervals_contain_the_estimate_and_shrink_as_data_grows():
    widths = []
    for n in (40, 400, 4000):
        frame, spend = credits(n)
        table = engine.bootstrap_totals(frame, spend, samples=300).set_index("key")
        row = table.loc["Search"]
        assert row["revenue_low"] <= row["revenue"] <= row["revenue_high"]
        assert row["roi_low"] <= row["roi"] <= row["roi_high"]
        widths.append(row["roi_high"] - row["roi_low"])
    assert widths[0] > 2 * widths[1] > 4 * widths[2]


def test_a_channel_with_few_deals_is_flagged_as_a_small_sample():
    frame, spend = credits(60)
    table = engine.bootstrap_totals(frame, spend, samples=100, min_deals=30).set_index("key")
    assert table.loc["Search", "deals"] >= 30 and not table.loc["Search", "small_sample"]
    assert table.loc["Display", "deals"] < 30 and table.loc["Display", "small_sample"]


# --- Alerts ----------------------------------------------------------------------------------


def test_a_channel_ranked_first_by_one_model_and_third_by_another_is_a_rank_flip():
    revenue = pd.DataFrame(
        [
            ("first_touch", "Display", 500), ("first_touch", "Search", 300),
            ("first_touch", "Email", 200),
            ("last_touch", "Display", 100), ("last_touch", "Search", 500),
            ("last_touch", "Email", 400),
        ],
        columns=["model", "channel", "revenue"],
    )  # fmt: skip
    flips = engine.rank_flips(revenue)
    assert list(flips["channel"]) == ["Display"]
    row = flips.iloc[0]
    assert (row["best_model"], row["best_rank"]) == ("first_touch", 1)
    assert (row["worst_model"], row["worst_rank"]) == ("last_touch", 3)
    assert engine.rank_flips(revenue[revenue["model"] == "last_touch"]).empty


def test_drift_flags_a_cost_per_lead_rise_only_with_enough_leads():
    frame = pd.DataFrame(
        {"key": ["A", "B", "C"], "baseline": [10.0, 10.0, 10.0], "recent": [16.0, 11.0, 30.0],
         "baseline_n": [50, 50, 50], "recent_n": [20, 20, 2]}
    )  # fmt: skip
    out = engine.drifts(frame, metric="cpl", threshold=0.3, min_count=5, higher_is_worse=True)
    assert list(out["key"]) == ["A"]
