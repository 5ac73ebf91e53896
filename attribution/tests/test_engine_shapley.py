"""Coalition counts and exact Shapley values, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attribution.engine import (
    attribute,
    combine_coalition_counts,
    shapley_coalition_counts,
    shapley_values,
)
from attribution.engine.synthetic import conversions_frame, touches_frame


def counts(rows: list[tuple[str, int, int]]) -> pd.DataFrame:
    """A coalition-count table from (coalition, conversions, value_cents) rows."""
    return pd.DataFrame(
        {
            "coalition": [r[0] for r in rows],
            "conversions": [r[1] for r in rows],
            "value_cents": [r[2] for r in rows],
            "journeys": [r[1] for r in rows],
        }
    )


# m({A}) = 2, m({B}) = 1, m({A,B}) = 3, m({A,C}) = 2, m({A,B,C}) = 6 conversions, so
# v(0) = 0, v(A) = 2, v(B) = 1, v(C) = 0, v(AB) = 6, v(AC) = 4, v(BC) = 1, v(ABC) = 14.
THREE = counts([("A", 2, 0), ("B", 1, 0), ("A|B", 3, 0), ("A|C", 2, 0), ("A|B|C", 6, 0)])


def test_three_channels_by_hand() -> None:
    """Three channels, all eight coalitions worked out by hand."""
    # phi_A = 1/3 (2 - 0) + 1/6 (6 - 1) + 1/6 (4 - 0) + 1/3 (14 - 1) = 6.5
    # phi_B = 1/3 (1 - 0) + 1/6 (6 - 2) + 1/6 (1 - 0) + 1/3 (14 - 4) = 4.5
    # phi_C = 1/3 (0 - 0) + 1/6 (4 - 2) + 1/6 (1 - 1) + 1/3 (14 - 6) = 3.0
    values = shapley_values(THREE)
    assert values.to_dict() == pytest.approx({"A": 6.5, "B": 4.5, "C": 3.0}, abs=1e-12)
    assert values.sum() == pytest.approx(14)  # efficiency: v(N)


def test_value_metric() -> None:
    """v(S) may count value instead of conversions; unknown metrics raise."""
    table = counts([("A", 1, 100), ("A|B", 1, 300)])
    assert shapley_values(table, metric="value_cents").to_dict() == pytest.approx(
        {"A": 250.0, "B": 150.0}
    )
    with pytest.raises(ValueError, match="metric"):
        shapley_values(table, metric="revenue")  # type: ignore[arg-type]


def test_null_player_gets_zero_and_is_not_counted() -> None:
    """Channels only in non-converting coalitions get 0 and skip the limit."""
    table = counts([("A", 1, 0), ("A|D", 0, 0), ("D", 0, 0)])
    assert shapley_values(table, max_channels=1).to_dict() == {"A": 1.0, "D": 0.0}


def test_max_channels_guard() -> None:
    """Beyond max_channels the exact computation refuses to run."""
    names = [f"C{i:02d}" for i in range(16)]
    table = counts([(name, 1, 0) for name in names])
    with pytest.raises(ValueError, match="max_channels=15"):
        shapley_values(table)
    values = shapley_values(table, max_channels=16)
    assert values.to_dict() == pytest.approx(dict.fromkeys(names, 1.0))


def test_matches_even_split_identity_on_random_counts() -> None:
    """Exact enumeration equals the per-coalition even-split identity."""
    rng = np.random.default_rng(3)
    names = list("ABCDEFGH")
    rows = []
    for mask in range(1, 2 ** len(names)):
        if rng.random() < 0.3:
            members = [n for i, n in enumerate(names) if mask >> i & 1]
            rows.append(("|".join(members), int(rng.integers(0, 50)), 0))
    table = counts(rows)
    expected = dict.fromkeys(names, 0.0)
    for coalition, conversions, _ in rows:
        members = coalition.split("|")
        for member in members:
            expected[member] += conversions / len(members)
    assert shapley_values(table).to_dict() == pytest.approx(expected, rel=1e-12)


TOUCHES = touches_frame(
    [
        (1, 1, "2024-01-01", "B"),
        (2, 1, "2024-01-02", "A"),
        (3, 1, "2024-01-03", "B"),
        (4, 2, "2024-01-01", "A"),
        (5, 3, "2024-01-01", "C"),
        (6, 3, "2024-01-02", "A"),
        (7, 4, "2024-01-01", "A"),  # lead 4 never converts: a null path
        (8, 4, "2024-01-01", "B"),
    ]
)
CONVERSIONS = conversions_frame(
    [(1, 1, "2024-01-05", 1_000), (2, 2, "2024-01-05", 500), (3, 3, "2024-01-01", 700)]
)


def test_coalition_counts_from_touches() -> None:
    """Coalitions are canonical channel sets; null paths only count as journeys."""
    table = shapley_coalition_counts(TOUCHES, CONVERSIONS)
    # Conversion 3 happens before lead 3's A touch, so its coalition is {C} alone.
    assert table.values.tolist() == [
        ["A", 1, 500, 1],
        ["A|B", 1, 1_000, 2],
        ["C", 1, 700, 1],
    ]
    assert table.dtypes.tolist()[1:] == [np.int64] * 3


def test_shapley_credits_split_per_journey() -> None:
    """Each journey is split by its channels' Shapley values."""
    # v(A) = 1, v(B) = 0, v(C) = 1, v(AB) = 2: phi = A 1.5, B 0.5, C 1.
    assert shapley_values(shapley_coalition_counts(TOUCHES, CONVERSIONS)).to_dict() == (
        pytest.approx({"A": 1.5, "B": 0.5, "C": 1.0})
    )
    out = attribute(TOUCHES, CONVERSIONS, "shapley")
    first = out.loc[out["conversion_id"] == 1]
    # Journey B > A > B: A 1.5/2, B 0.5/2 split over its two touches.
    assert first["touch_id"].tolist() == [1, 2, 3]
    assert first["share"].tolist() == pytest.approx([0.125, 0.75, 0.125])
    assert first["value_cents"].tolist() == [125, 750, 125]


def test_given_values_and_metric_param() -> None:
    """Passed-in values are used as is; the metric parameter reaches shapley_values."""
    out = attribute(TOUCHES, CONVERSIONS, "shapley", shapley_values={"A": 1.0, "B": 1.0})
    first = out.loc[out["conversion_id"] == 1]
    assert first["share"].tolist() == pytest.approx([0.25, 0.5, 0.25])
    by_value = attribute(TOUCHES, CONVERSIONS, "shapley", params={"metric": "value_cents"})
    # v(A) = 500, v(AB) = 1500: phi_A = 1000, phi_B = 500 -> A 2/3, B 1/3 (1/6 per touch).
    first = by_value.loc[by_value["conversion_id"] == 1]
    assert first["share"].tolist() == pytest.approx([1 / 6, 2 / 3, 1 / 6])


def test_partition_coalition_counts_add_up() -> None:
    """Coalition counts of two lead-id partitions sum to the whole."""
    left = shapley_coalition_counts(
        TOUCHES[TOUCHES["lead_id"] <= 2], CONVERSIONS[CONVERSIONS["lead_id"] <= 2]
    )
    right = shapley_coalition_counts(
        TOUCHES[TOUCHES["lead_id"] > 2], CONVERSIONS[CONVERSIONS["lead_id"] > 2]
    )
    pd.testing.assert_frame_equal(
        combine_coalition_counts([left, right]), shapley_coalition_counts(TOUCHES, CONVERSIONS)
    )


def test_many_channels_use_several_bitmask_words() -> None:
    """More than 62 channels still give exact coalition strings."""
    names = [f"Ch{i:03d}" for i in range(70)]
    touches = touches_frame(
        [(i + 1, 1 + i % 2, f"2024-01-01 00:{i % 60:02d}", n) for i, n in enumerate(names)]
    )
    conversions = conversions_frame([(1, 1, "2024-01-02", 10)])
    table = shapley_coalition_counts(touches, conversions)
    assert table["coalition"].tolist() == ["|".join(names[0::2]), "|".join(names[1::2])]
    assert table["conversions"].tolist() == [1, 0]
    with pytest.raises(ValueError, match="max_channels"):
        shapley_values(table)


def test_empty_inputs() -> None:
    """No data: an empty count table and no values."""
    table = shapley_coalition_counts(touches_frame([]), conversions_frame([]))
    assert list(table.columns) == ["coalition", "conversions", "value_cents", "journeys"]
    assert table.empty
    assert shapley_values(table).empty
