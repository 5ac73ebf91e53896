"""Properties over random data: conservation per model, partition additivity, the generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attribution.engine import (
    MODELS,
    NO_TOUCH_ID,
    attribute,
    attribute_all,
    combine_coalition_counts,
    combine_transition_counts,
    markov_removal_effects,
    markov_transition_counts,
    shapley_coalition_counts,
    shapley_values,
)
from attribution.engine.synthetic import generate

DAY = pd.Timedelta(days=1)


def random_dataset(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Messy data: tied timestamps, Direct-only paths, missing/duplicate lead-creation flags,
    leads without touches, several conversions per lead, zero/negative/1-cent values."""
    rng = np.random.default_rng(seed)
    n_touches, n_leads = 3_000, 400
    channels = np.array(["Direct", "Email", "Paid Search", "Social", "Events"], dtype=object)
    base = pd.Timestamp("2024-01-01", tz="UTC")
    day = rng.integers(0, 200, n_touches)
    touches = pd.DataFrame(
        {
            "touch_id": rng.permutation(n_touches).astype(np.int64) + 1,
            "lead_id": rng.integers(1, n_leads + 1, n_touches).astype(np.int64),
            "ts": base + pd.to_timedelta(day, unit="D"),  # whole days: plenty of ties
            "channel": pd.Series(channels[rng.integers(0, len(channels), n_touches)], dtype=str),
            "campaign_id": pd.array(
                np.where(rng.random(n_touches) < 0.5, rng.integers(1, 9, n_touches), -1),
                dtype="Int64",
            ),
            "is_lead_creation": rng.random(n_touches) < 0.15,
        }
    )
    touches.loc[touches["campaign_id"] == -1, "campaign_id"] = pd.NA
    n_conv = 500
    conv_day = rng.integers(0, 260, n_conv)
    values = rng.integers(0, 2_000_000, n_conv)
    values[rng.random(n_conv) < 0.2] = 0
    values[rng.random(n_conv) < 0.1] = 1
    values[rng.random(n_conv) < 0.05] *= -1
    opportunity = base + pd.to_timedelta(conv_day - rng.integers(0, 60, n_conv), unit="D")
    conversions = pd.DataFrame(
        {
            "conversion_id": np.arange(1, n_conv + 1, dtype=np.int64) * 7,
            "lead_id": rng.integers(1, n_leads + 40, n_conv).astype(np.int64),
            "ts": base + pd.to_timedelta(conv_day, unit="D") + pd.Timedelta(hours=12),
            "value_cents": values.astype(np.int64),
            "milestone": pd.Series(
                np.array(["lead", "opportunity", "deal"], dtype=object)[rng.integers(0, 3, n_conv)],
                dtype=str,
            ),
            "opportunity_ts": pd.Series(opportunity).where(rng.random(n_conv) < 0.7),
        }
    )
    return touches, conversions


@pytest.fixture(scope="module")
def dataset() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shared random dataset."""
    return random_dataset(2024)


@pytest.fixture(scope="module")
def all_credits(dataset: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """Credits of every model on the shared dataset."""
    touches, conversions = dataset
    return attribute_all(touches, conversions)


@pytest.mark.parametrize("model", MODELS)
def test_conservation_and_journey_rules(
    model: str, dataset: tuple[pd.DataFrame, pd.DataFrame], all_credits: pd.DataFrame
) -> None:
    """Per conversion: shares sum to 1, cents are exact, touches obey the window."""
    touches, conversions = dataset
    out = all_credits.loc[all_credits["model"] == model]
    conv = conversions.set_index("conversion_id")
    assert set(out["conversion_id"]) == set(conv.index)

    sums = out.groupby("conversion_id").agg(share=("share", "sum"), cents=("value_cents", "sum"))
    np.testing.assert_allclose(sums["share"], 1.0, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(sums["cents"], conv.loc[sums.index, "value_cents"])
    assert (out["share"] > 0).all() and (out["share"] <= 1 + 1e-12).all()
    ideal = out["share"] * conv.loc[out["conversion_id"], "value_cents"].to_numpy()
    assert (np.abs(out["value_cents"] - ideal) < 1 + 1e-9).all()

    real = out.loc[out["touch_id"] != NO_TOUCH_ID]
    source = touches.set_index("touch_id").loc[real["touch_id"]]
    np.testing.assert_array_equal(source["lead_id"], real["lead_id"])
    np.testing.assert_array_equal(source["channel"], real["channel"])
    conv_ts = pd.DatetimeIndex(conv.loc[real["conversion_id"], "ts"])
    touch_ts = pd.DatetimeIndex(real["ts"])
    assert (touch_ts <= conv_ts).all()
    assert (touch_ts >= conv_ts - pd.Timedelta(days=90)).all()

    synthetic = out.loc[out["touch_id"] == NO_TOUCH_ID]
    assert synthetic["conversion_id"].is_unique
    assert (synthetic["channel"] == "Direct").all()
    assert not set(synthetic["conversion_id"]) & set(real["conversion_id"])


def test_dataset_exercises_the_edge_cases(all_credits: pd.DataFrame) -> None:
    """The random data really contains the awkward cases."""
    linear = all_credits.loc[all_credits["model"] == "linear"]
    assert (linear["touch_id"] == NO_TOUCH_ID).any()
    assert linear.groupby("conversion_id").size().max() > 5
    assert linear["lead_id"].duplicated().any()


def _split(
    touches: pd.DataFrame, conversions: pd.DataFrame, cut: int
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Two lead-id partitions of touches and conversions."""
    return [
        (touches.loc[keep(touches["lead_id"])], conversions.loc[keep(conversions["lead_id"])])
        for keep in (lambda s: s <= cut, lambda s: s > cut)
    ]


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Credits in a canonical row order."""
    return frame.sort_values(
        ["model", "conversion_id", "ts", "touch_id"], kind="stable", ignore_index=True
    )


@pytest.mark.parametrize("order", [1, 2])
def test_partitioned_markov_counts_and_credits_match(
    order: int, dataset: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    """Markov map/reduce over two partitions equals the single run."""
    touches, conversions = dataset
    parts = _split(touches, conversions, cut=173)
    counts = combine_transition_counts(
        [markov_transition_counts(t, c, order=order) for t, c in parts]
    )
    whole = markov_transition_counts(touches, conversions, order=order)
    pd.testing.assert_frame_equal(counts, whole)
    effects = markov_removal_effects(counts)
    pd.testing.assert_series_equal(effects, markov_removal_effects(whole))

    params = {"order": order}
    pieces = [attribute(t, c, "markov", params=params, markov_effects=effects) for t, c in parts]
    pd.testing.assert_frame_equal(
        _sorted(pd.concat(pieces, ignore_index=True)),
        _sorted(attribute(touches, conversions, "markov", params=params)),
    )


def test_partitioned_shapley_counts_and_credits_match(
    dataset: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """Shapley map/reduce over two partitions equals the single run."""
    touches, conversions = dataset
    parts = _split(touches, conversions, cut=251)
    counts = combine_coalition_counts([shapley_coalition_counts(t, c) for t, c in parts])
    whole = shapley_coalition_counts(touches, conversions)
    pd.testing.assert_frame_equal(counts, whole)
    values = shapley_values(counts)
    assert values.sum() == pytest.approx(whole["conversions"].sum())

    pieces = [attribute(t, c, "shapley", shapley_values=values) for t, c in parts]
    pd.testing.assert_frame_equal(
        _sorted(pd.concat(pieces, ignore_index=True)),
        _sorted(attribute(touches, conversions, "shapley")),
    )


def test_partitioned_rule_credits_match(
    dataset: tuple[pd.DataFrame, pd.DataFrame], all_credits: pd.DataFrame
) -> None:
    """Rule-based credits per partition equal the single run."""
    touches, conversions = dataset
    rule_models = [m for m in MODELS if m not in ("markov", "shapley")]
    pieces = [attribute_all(t, c, rule_models) for t, c in _split(touches, conversions, cut=90)]
    expected = all_credits.loc[all_credits["model"].isin(rule_models)]
    pd.testing.assert_frame_equal(_sorted(pd.concat(pieces, ignore_index=True)), _sorted(expected))


def test_input_row_order_does_not_matter(
    dataset: tuple[pd.DataFrame, pd.DataFrame], all_credits: pd.DataFrame
) -> None:
    """Shuffled inputs give identical credits."""
    touches, conversions = dataset
    shuffled = attribute_all(
        touches.sample(frac=1.0, random_state=1), conversions.sample(frac=1.0, random_state=2)
    )
    pd.testing.assert_frame_equal(shuffled, all_credits)


def test_generator_is_seeded_and_follows_the_contract() -> None:
    """generate() is reproducible, follows the input contract and conserves."""
    touches, conversions = generate(2_000, 6.0, 8, seed=5)
    again, again_conv = generate(2_000, 6.0, 8, seed=5)
    pd.testing.assert_frame_equal(touches, again)
    pd.testing.assert_frame_equal(conversions, again_conv)
    assert not touches.equals(generate(2_000, 6.0, 8, seed=6)[0])

    assert touches.dtypes.astype(str).to_dict() == {
        "touch_id": "int64",
        "lead_id": "int64",
        "ts": "datetime64[ns, UTC]",
        "channel": "str",
        "campaign_id": "Int64",
        "is_lead_creation": "bool",
    }
    assert touches["touch_id"].is_unique
    assert touches["lead_id"].nunique() == 2_000
    assert touches["channel"].nunique() == 8
    assert touches.groupby("lead_id")["is_lead_creation"].sum().eq(1).all()
    assert 5.0 < len(touches) / 2_000 < 7.0
    assert len(conversions) == 200
    assert conversions["conversion_id"].is_unique
    assert set(conversions["milestone"]) == {"lead", "opportunity", "deal"}
    assert (conversions.loc[conversions["milestone"] == "lead", "value_cents"] == 0).all()
    assert conversions.loc[conversions["milestone"] == "lead", "opportunity_ts"].isna().all()
    credits = attribute_all(touches, conversions)
    totals = credits.groupby("model")["value_cents"].sum()
    assert (totals == conversions["value_cents"].sum()).all()
