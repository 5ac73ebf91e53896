"""Markov transition counts and exact removal effects, checked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from attribution.engine import (
    attribute,
    combine_transition_counts,
    markov_channel_shares,
    markov_removal_effects,
    markov_transition_counts,
)
from attribution.engine import markov as markov_module
from attribution.engine.synthetic import conversions_frame, touches_frame

# Paths: lead 1 A > B > conversion, lead 2 A > null, lead 3 B > conversion.
TOUCHES = touches_frame(
    [
        (1, 1, "2024-01-01", "A"),
        (2, 1, "2024-01-02", "B"),
        (3, 2, "2024-01-01", "A"),
        (4, 3, "2024-01-05", "B"),
    ]
)
CONVERSIONS = conversions_frame([(1, 1, "2024-01-03", 900), (2, 3, "2024-01-06", 300)])


def counts_dict(counts: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(from_state, to_state) -> count."""
    return {(f, t): int(c) for f, t, c in counts.itertuples(index=False)}


def test_transition_counts_by_hand() -> None:
    """Counts of the three hand paths."""
    counts = markov_transition_counts(TOUCHES, CONVERSIONS)
    assert list(counts.columns) == ["from_state", "to_state", "count"]
    assert counts_dict(counts) == {
        ("(start)", "A"): 2,
        ("(start)", "B"): 1,
        ("A", "B"): 1,
        ("A", "(null)"): 1,
        ("B", "(conversion)"): 2,
    }


def test_removal_effects_by_hand() -> None:
    """Removal effects solved by hand from the absorbing chain."""
    # p(B) = 1, p(A) = 1/2 * p(B) = 1/2, p(start) = 2/3 * 1/2 + 1/3 * 1 = 2/3.
    # Without A: p(start) = 1/3 * p(B) = 1/3            -> RE(A) = 1 - (1/3)/(2/3) = 1/2.
    # Without B: A only reaches null, B is gone: p = 0   -> RE(B) = 1.
    counts = markov_transition_counts(TOUCHES, CONVERSIONS)
    effects = markov_removal_effects(counts)
    assert effects.to_dict() == pytest.approx({"A": 0.5, "B": 1.0}, abs=1e-12)
    shares = markov_channel_shares(counts)
    assert shares.to_dict() == pytest.approx({"A": 1 / 3, "B": 2 / 3}, abs=1e-12)


def test_markov_credits_split_per_journey() -> None:
    """Each journey is split by its channels' removal effects."""
    out = attribute(TOUCHES, CONVERSIONS, "markov")
    # Conversion 1 (A > B): A 0.5 / 1.5, B 1 / 1.5; conversion 2 (B only): B gets all.
    assert out[["conversion_id", "touch_id", "value_cents"]].values.tolist() == [
        [1, 1, 300],
        [1, 2, 600],
        [2, 4, 300],
    ]
    assert out["share"].tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_second_order_states_and_effects() -> None:
    """Order 2: states are channel pairs, shorter at the start of a path."""
    counts = markov_transition_counts(TOUCHES, CONVERSIONS, order=2)
    assert counts_dict(counts) == {
        ("(start)", "A"): 2,
        ("(start)", "B"): 1,
        ("A", "A>B"): 1,
        ("A", "(null)"): 1,
        ("A>B", "(conversion)"): 1,
        ("B", "(conversion)"): 1,
    }
    # Same reachability as first order here: removing A drops states A and A>B.
    assert markov_removal_effects(counts).to_dict() == pytest.approx({"A": 0.5, "B": 1.0})


def test_third_order_tuples_slide() -> None:
    """Order 3 states slide along the path, oldest channel first."""
    touches = touches_frame([(i, 1, f"2024-01-0{i}", c) for i, c in enumerate("ABCD", start=1)])
    conversions = conversions_frame([(1, 1, "2024-01-09", 1)])
    counts = markov_transition_counts(touches, conversions, order=3)
    assert counts_dict(counts) == {
        ("(start)", "A"): 1,
        ("A", "A>B"): 1,
        ("A>B", "A>B>C"): 1,
        ("A>B>C", "B>C>D"): 1,
        ("B>C>D", "(conversion)"): 1,
    }


def test_self_loops_do_not_change_first_order_effects() -> None:
    """A repeated channel adds a self-loop that leaves first-order effects unchanged."""
    looped = touches_frame(
        [
            (1, 1, "2024-01-01", "A"),
            (2, 1, "2024-01-01 12:00", "A"),
            (3, 1, "2024-01-02", "B"),
            (5, 2, "2024-01-01", "A"),
            (6, 3, "2024-01-05", "B"),
        ]
    )
    counts = markov_transition_counts(looped, CONVERSIONS)
    assert counts_dict(counts)[("A", "A")] == 1
    assert markov_removal_effects(counts).to_dict() == pytest.approx({"A": 0.5, "B": 1.0})
    # Within channel A, the credit is split evenly over its two touches.
    out = attribute(looped, CONVERSIONS, "markov")
    first = out.loc[out["conversion_id"] == 1]
    assert first["share"].tolist() == pytest.approx([1 / 6, 1 / 6, 2 / 3])


def test_null_path_uses_lookback_before_last_touch() -> None:
    """A null path is the lookback window ending at the lead's last touch."""
    touches = touches_frame(
        [
            (1, 9, "2023-01-01", "Old"),  # > 90 days before lead 9's last touch: dropped
            (2, 9, "2024-01-01", "A"),
            (3, 9, "2024-01-02", "B"),
        ]
    )
    counts = markov_transition_counts(touches, conversions_frame([]))
    assert counts_dict(counts) == {("(start)", "A"): 1, ("A", "B"): 1, ("B", "(null)"): 1}
    assert markov_removal_effects(counts).to_dict() == {"A": 0.0, "B": 0.0}


def test_conversion_without_touches_adds_no_path() -> None:
    """Touchless conversions contribute no path (they only get the synthetic row)."""
    conversions = conversions_frame([(1, 42, "2024-01-01", 100)])
    counts = markov_transition_counts(touches_frame([]), conversions)
    assert counts.empty
    assert markov_removal_effects(counts).empty
    assert markov_channel_shares(counts).empty


def test_counts_may_arrive_unaggregated() -> None:
    """Concatenated partial counts are summed before solving."""
    counts = markov_transition_counts(TOUCHES, CONVERSIONS)
    doubled = pd.concat([counts, counts], ignore_index=True)
    assert counts_dict(combine_transition_counts([doubled])) == {
        k: 2 * v for k, v in counts_dict(counts).items()
    }
    # Scaling every count leaves the probabilities, hence the effects, unchanged.
    assert markov_removal_effects(doubled).to_dict() == pytest.approx({"A": 0.5, "B": 1.0})


def test_partition_counts_add_up() -> None:
    """Counts of two lead-id partitions sum to the counts of all leads."""
    left = markov_transition_counts(
        TOUCHES[TOUCHES["lead_id"] <= 2], CONVERSIONS[CONVERSIONS["lead_id"] <= 2]
    )
    right = markov_transition_counts(
        TOUCHES[TOUCHES["lead_id"] > 2], CONVERSIONS[CONVERSIONS["lead_id"] > 2]
    )
    pd.testing.assert_frame_equal(
        combine_transition_counts([left, right]), markov_transition_counts(TOUCHES, CONVERSIONS)
    )


def test_given_effects_drive_the_split() -> None:
    """Passed-in effects are used as is; all-zero effects mean linear."""
    out = attribute(TOUCHES, CONVERSIONS, "markov", markov_effects={"A": 1.0, "B": 3.0})
    assert out["share"].tolist() == pytest.approx([0.25, 0.75, 1.0])
    # All-zero (or unknown) effects for a journey fall back to linear.
    out = attribute(TOUCHES, CONVERSIONS, "markov", markov_effects={"Z": 1.0})
    assert out["share"].tolist() == pytest.approx([0.5, 0.5, 1.0])


def test_no_conversions_means_zero_effects_and_linear_credits() -> None:
    """Without conversions every removal effect and share is 0."""
    counts = markov_transition_counts(TOUCHES, conversions_frame([]))
    assert markov_removal_effects(counts).to_dict() == {"A": 0.0, "B": 0.0}
    assert markov_channel_shares(counts).to_dict() == {"A": 0.0, "B": 0.0}


def test_order_must_be_positive() -> None:
    """The Markov order is an integer >= 1."""
    with pytest.raises(ValueError, match="order"):
        markov_transition_counts(TOUCHES, CONVERSIONS, order=0)
    with pytest.raises(ValueError, match="order"):
        attribute(TOUCHES, CONVERSIONS, "markov", params={"order": 1.5})


def test_state_limit_is_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Too many states for the dense exact solver raise a ValueError."""
    monkeypatch.setattr(markov_module, "MAX_STATES", 2)
    with pytest.raises(ValueError, match="exact-solver limit"):
        markov_removal_effects(markov_transition_counts(TOUCHES, CONVERSIONS))
