"""Largest-remainder cent allocation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.engine.money import allocate_cents


def one_group(total: int, weights: list[float]) -> list[int]:
    """Allocate one total over one group of weights."""
    return allocate_cents(np.zeros(len(weights), dtype=int), weights, [total]).tolist()


def test_even_split_hands_leftover_to_earliest() -> None:
    """100 cents over 3 equal weights: the leftover cent goes to the first."""
    assert one_group(100, [1, 1, 1]) == [34, 33, 33]


def test_one_cent_over_three_touches_goes_to_first() -> None:
    """1 or 2 cents over 3 equal weights follow touch order."""
    assert one_group(1, [1, 1, 1]) == [1, 0, 0]
    assert one_group(2, [1, 1, 1]) == [1, 1, 0]


def test_largest_fraction_wins_before_touch_order() -> None:
    """Leftover cents go to the largest fractional parts first."""
    # raw = 1.2, 3.3, 5.5 -> floors 1, 3, 5 (9), one cent left for the .5 fraction.
    assert one_group(10, [0.12, 0.33, 0.55]) == [1, 3, 6]
    # raw = 1.5, 3.5, 5.0 -> tie on .5 broken by order.
    assert one_group(10, [0.15, 0.35, 0.5]) == [2, 3, 5]


def test_weights_need_not_be_normalised() -> None:
    """Raw weights are normalised per group."""
    assert one_group(10_000, [1, 2, 4, 8, 16]) == [323, 645, 1290, 2581, 5161]


def test_negative_total_mirrors_positive() -> None:
    """A negative total is the mirror image of the positive one."""
    assert one_group(-100, [1, 1, 1]) == [-34, -33, -33]
    assert one_group(-1, [1, 1, 1]) == [-1, 0, 0]


def test_zero_total_gives_zeros() -> None:
    """Nothing to split gives zeros."""
    assert one_group(0, [1, 2, 3]) == [0, 0, 0]


def test_zero_weight_row_gets_nothing() -> None:
    """Zero-weight rows never receive a leftover cent."""
    assert one_group(7, [0, 1, 0, 1]) == [0, 4, 0, 3]


def test_interleaved_groups_keep_their_own_order() -> None:
    """Groups need not be contiguous; ties follow row order within each group."""
    groups = [1, 0, 1, 0, 1, 0]  # group 0 (2 cents) is rows 1, 3, 5; group 1 (1 cent) rows 0, 2, 4
    parts = allocate_cents(groups, [1, 1, 1, 1, 1, 1], [2, 1]).tolist()
    assert parts == [1, 1, 0, 1, 0, 0]


def test_group_without_rows_but_zero_total_is_fine() -> None:
    """An empty group is only an error when it has money."""
    assert allocate_cents([0, 0], [1, 1], [5, 0]).tolist() == [3, 2]


@pytest.mark.parametrize(
    ("groups", "weights", "totals"),
    [
        ([0], [1.0], [5, 7]),  # group 1 has money but no rows
        ([0, 0], [0.0, 0.0], [5]),  # only zero weights
        ([0], [-1.0], [5]),
        ([0], [np.nan], [5]),
        ([2], [1.0], [5]),  # code out of range
    ],
)
def test_invalid_inputs_raise(groups: list[int], weights: list[float], totals: list[int]) -> None:
    """Money without a destination or bad weights raise ValueError."""
    with pytest.raises(ValueError):
        allocate_cents(groups, weights, totals)


def test_empty_input() -> None:
    """No rows, no cents."""
    assert allocate_cents([], [], []).tolist() == []


def test_random_groups_are_exact_and_within_one_cent() -> None:
    """Random groups: sums are exact and every part is within a cent of ideal."""
    rng = np.random.default_rng(7)
    n_groups = 2_000
    sizes = rng.integers(1, 12, n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    weights = rng.random(groups.size) * (rng.random(groups.size) > 0.2)
    weights[np.cumsum(sizes) - 1] += 0.01  # every group keeps a positive weight
    totals = rng.integers(-1_000_000, 10_000_000_000, n_groups)
    parts = allocate_cents(groups, weights, totals)
    assert parts.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(groups, minlength=n_groups) > 0, True)
    sums = np.zeros(n_groups, dtype=np.int64)
    np.add.at(sums, groups, parts)
    np.testing.assert_array_equal(sums, totals)
    ideal = totals[groups] * weights / np.bincount(groups, weights=weights)[groups]
    assert np.all(np.abs(parts - ideal) < 1 + 1e-6)


@settings(max_examples=200, deadline=None, database=None)
@given(
    total=st.integers(-(10**12), 10**12),
    weights=st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=20).filter(
        lambda ws: sum(ws) > 0
    ),
)
def test_property_conserves_every_cent(total: int, weights: list[float]) -> None:
    """Any total and weights: the parts sum exactly and keep the total's sign."""
    parts = one_group(total, weights)
    assert sum(parts) == total
    assert all(p * total >= 0 for p in parts)  # never the wrong sign
