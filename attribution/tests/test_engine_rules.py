"""Hand-computed credits for the rule-based models and their degenerate journeys."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from attribution.engine import MODELS, attribute
from attribution.engine.synthetic import conversions_frame, touches_frame

# One deal journey, touches 28, 21, 14, 7 and 0 days before the conversion.
# Touch 2 created the lead; the opportunity was created on Jan 23rd (after touch 4).
JOURNEY = touches_frame(
    [
        (1, 10, "2024-01-01", "Paid Search"),
        (2, 10, "2024-01-08", "Email", True),
        (3, 10, "2024-01-15", "Direct"),
        (4, 10, "2024-01-22", "Webinar"),
        (5, 10, "2024-01-29", "Direct"),
    ]
)
DEAL = conversions_frame([(100, 10, "2024-01-29", 10_000, "deal", "2024-01-23")])


def credit(
    touches: pd.DataFrame, conversions: pd.DataFrame, model: str, **kwargs: Any
) -> dict[int, tuple[float, int]]:
    """touch_id -> (share, cents) for a single-conversion case."""
    out = attribute(touches, conversions, model, **kwargs)
    assert out["conversion_id"].nunique() == 1
    return {
        int(t): (float(s), int(v))
        for t, s, v in zip(out["touch_id"], out["share"], out["value_cents"], strict=True)
    }


def shares(touches: pd.DataFrame, conversions: pd.DataFrame, model: str, **kwargs: Any) -> dict:
    """touch_id -> share."""
    return {t: s for t, (s, _) in credit(touches, conversions, model, **kwargs).items()}


def cents(touches: pd.DataFrame, conversions: pd.DataFrame, model: str, **kwargs: Any) -> dict:
    """touch_id -> cents."""
    return {t: v for t, (_, v) in credit(touches, conversions, model, **kwargs).items()}


def assert_shares(actual: dict[int, float], expected: dict[int, float]) -> None:
    """Credited touches and their shares match (zero-share touches absent)."""
    assert set(actual) == {t for t, s in expected.items() if s > 0}
    for touch, share in actual.items():
        assert share == pytest.approx(expected[touch], abs=1e-12), touch


# --- the five-touch journey, every model --------------------------------------------------


def test_first_touch() -> None:
    """First touch takes everything."""
    assert credit(JOURNEY, DEAL, "first_touch") == {1: (1.0, 10_000)}


def test_last_touch_is_the_direct_touch() -> None:
    """Last touch takes everything, Direct or not."""
    assert credit(JOURNEY, DEAL, "last_touch") == {5: (1.0, 10_000)}


def test_last_non_direct_skips_direct() -> None:
    """The last non-Direct touch takes everything."""
    assert credit(JOURNEY, DEAL, "last_non_direct") == {4: (1.0, 10_000)}


def test_linear() -> None:
    """Five touches, 20% each."""
    assert credit(JOURNEY, DEAL, "linear") == dict.fromkeys(range(1, 6), (0.2, 2000))


def test_time_decay_default_half_life() -> None:
    """Half-life 7 days on touches 28..0 days old."""
    # Ages 28, 21, 14, 7, 0 days, H = 7: weights 1/16, 1/8, 1/4, 1/2, 1 (total 31/16).
    expected = {1: 1 / 31, 2: 2 / 31, 3: 4 / 31, 4: 8 / 31, 5: 16 / 31}
    assert_shares(shares(JOURNEY, DEAL, "time_decay"), expected)
    # 10000/31 = 322.58, 645.16, 1290.32, 2580.65, 5161.29: two cents left for .65 and .58.
    assert cents(JOURNEY, DEAL, "time_decay") == {1: 323, 2: 645, 3: 1290, 4: 2581, 5: 5161}


def test_time_decay_two_touches_brief_example() -> None:
    """7 and 0 days old: 1/3 and 2/3; the half-life is configurable."""
    touches = touches_frame([(1, 1, "2024-03-01", "A"), (2, 1, "2024-03-08", "B")])
    conversions = conversions_frame([(1, 1, "2024-03-08", 300)])
    # 7 days -> 2^-1 = 0.5, 0 days -> 1: shares 1/3 and 2/3.
    assert credit(touches, conversions, "time_decay") == {
        1: (pytest.approx(1 / 3), 100),
        2: (pytest.approx(2 / 3), 200),
    }
    # With H = 14 days the older touch weighs 2^-0.5.
    w = 2**-0.5
    assert_shares(
        shares(touches, conversions, "time_decay", params={"half_life_days": 14}),
        {1: w / (1 + w), 2: 1 / (1 + w)},
    )


def test_time_decay_long_lookback_short_half_life_does_not_underflow() -> None:
    """Ancient touches with a tiny half-life keep finite shares."""
    touches = touches_frame([(1, 1, "2020-01-01", "A"), (2, 1, "2020-01-02", "B")])
    conversions = conversions_frame([(1, 1, "2024-01-01", 100)])
    params = {"half_life_days": 0.5}
    out = shares(touches, conversions, "time_decay", lookback_days=None, params=params)
    assert_shares(out, {1: 0.25 / 1.25, 2: 1 / 1.25})


def test_position_based_default() -> None:
    """40 / 20 split over the middle / 40."""
    # 40 / 20/3 / 20/3 / 20/3 / 40; the two leftover cents go to the tied middle touches in order.
    assert_shares(
        shares(JOURNEY, DEAL, "position_based"),
        {1: 0.4, 2: 0.2 / 3, 3: 0.2 / 3, 4: 0.2 / 3, 5: 0.4},
    )
    assert cents(JOURNEY, DEAL, "position_based") == {1: 4000, 2: 667, 3: 667, 4: 666, 5: 4000}


def test_w_shaped() -> None:
    """30% first, lead creation and opportunity creation; 10% over the rest."""
    assert credit(JOURNEY, DEAL, "w_shaped") == {
        1: (pytest.approx(0.3), 3000),
        2: (pytest.approx(0.3), 3000),
        3: (pytest.approx(0.05), 500),
        4: (pytest.approx(0.3), 3000),
        5: (pytest.approx(0.05), 500),
    }


def test_full_path() -> None:
    """22.5% first, lead, opportunity and last; 10% for the remaining touch."""
    assert credit(JOURNEY, DEAL, "full_path") == {
        1: (pytest.approx(0.225), 2250),
        2: (pytest.approx(0.225), 2250),
        3: (pytest.approx(0.1), 1000),
        4: (pytest.approx(0.225), 2250),
        5: (pytest.approx(0.225), 2250),
    }


def test_shapley_single_path_splits_by_channel_then_touch() -> None:
    """One coalition: equal channel shares, split per touch within a channel."""
    # One coalition {Paid Search, Email, Direct, Webinar} with 1 conversion: 1/4 each, and
    # Direct's quarter is split evenly over its two touches.
    assert credit(JOURNEY, DEAL, "shapley") == {
        1: (pytest.approx(0.25), 2500),
        2: (pytest.approx(0.25), 2500),
        3: (pytest.approx(0.125), 1250),
        4: (pytest.approx(0.25), 2500),
        5: (pytest.approx(0.125), 1250),
    }


def test_markov_single_path_sees_the_loop_through_direct() -> None:
    """First-order Markov on a single path with a repeated channel, by hand."""
    # First order chain: start > Paid > Email > Direct > {Webinar 1/2, conv 1/2}, Webinar > Direct.
    # Removing Paid, Email or Direct kills every conversion (RE 1); removing Webinar only the
    # half that went Direct > Webinar: RE 0.5. Total 3.5 -> Paid, Email 2/7; Webinar 1/7;
    # Direct 2/7 over two touches = 1/7 each.
    assert_shares(
        shares(JOURNEY, DEAL, "markov"), {1: 2 / 7, 2: 2 / 7, 3: 1 / 7, 4: 1 / 7, 5: 1 / 7}
    )


# --- position based variants ---------------------------------------------------------------


def _journey(n: int, channels: str = "ABCDEFGH") -> pd.DataFrame:
    """One lead with n touches on consecutive January days."""
    return touches_frame([(i + 1, 1, f"2024-01-{i + 1:02d}", channels[i]) for i in range(n)])


CONV = conversions_frame([(1, 1, "2024-01-20", 1_000)])


@pytest.mark.parametrize(
    ("n", "params", "expected"),
    [
        (1, None, {1: 1.0}),
        (2, None, {1: 0.5, 2: 0.5}),
        (3, None, {1: 0.4, 2: 0.2, 3: 0.4}),
        (4, None, {1: 0.4, 2: 0.1, 3: 0.1, 4: 0.4}),
        # n = 2 with configurable weights: first/(first+last) and last/(first+last).
        (2, {"first": 0.3, "last": 0.5}, {1: 0.375, 2: 0.625}),
        (3, {"first": 0.3, "last": 0.5}, {1: 0.3, 2: 0.2, 3: 0.5}),
        (3, {"first": 0.5, "last": 0.5}, {1: 0.5, 3: 0.5}),
        # All roles weigh 0 on 2 touches: nothing present has weight -> linear fallback.
        (2, {"first": 0.0, "last": 0.0}, {1: 0.5, 2: 0.5}),
        (4, {"first": 0.0, "last": 0.0}, {2: 0.5, 3: 0.5}),
    ],
)
def test_position_based_shapes(
    n: int, params: dict[str, float] | None, expected: dict[int, float]
) -> None:
    """Position based on 1..4 touches with default and custom weights."""
    assert_shares(shares(_journey(n), CONV, "position_based", params=params), expected)


def test_position_based_rejects_overweight_ends() -> None:
    """first + last above 100% is an error."""
    with pytest.raises(ValueError, match="first \\+ last"):
        attribute(_journey(3), CONV, "position_based", params={"first": 0.6, "last": 0.6})


# --- degenerate journeys -------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_single_touch_gets_everything(model: str) -> None:
    """Every model gives a lone touch 100%."""
    touches = touches_frame([(7, 1, "2024-01-05", "Email", True)])
    conversions = conversions_frame([(1, 1, "2024-01-06", 999, "deal", "2024-01-05")])
    assert credit(touches, conversions, model) == {7: (1.0, 999)}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("first_touch", {1: 1.0}),
        ("last_touch", {3: 1.0}),
        ("last_non_direct", {3: 1.0}),
        ("linear", {1: 1 / 3, 2: 1 / 3, 3: 1 / 3}),
        ("position_based", {1: 0.4, 2: 0.2, 3: 0.4}),
        ("markov", {1: 1 / 3, 2: 1 / 3, 3: 1 / 3}),
        ("shapley", {1: 1 / 3, 2: 1 / 3, 3: 1 / 3}),
    ],
)
def test_same_channel_repeated(model: str, expected: dict[int, float]) -> None:
    """A path of one repeated channel."""
    touches = touches_frame([(i, 1, f"2024-01-0{i}", "Email") for i in (1, 2, 3)])
    assert_shares(shares(touches, CONV, model), expected)


def test_same_touch_repeated_at_same_time_is_ordered_by_touch_id() -> None:
    """Simultaneous touches are ordered by touch_id."""
    touches = touches_frame([(9, 1, "2024-01-02", "B"), (4, 1, "2024-01-02", "A")])
    assert shares(touches, CONV, "first_touch") == {4: 1.0}
    assert shares(touches, CONV, "last_touch") == {9: 1.0}


def test_last_non_direct_all_direct_falls_back_to_last() -> None:
    """An all-Direct path credits its last touch."""
    touches = touches_frame([(1, 1, "2024-01-01", "Direct"), (2, 1, "2024-01-02", "Direct")])
    assert shares(touches, CONV, "last_non_direct") == {2: 1.0}


def test_last_non_direct_configurable_channel() -> None:
    """The 'direct' channel name is configurable."""
    touches = touches_frame([(1, 1, "2024-01-01", "A"), (2, 1, "2024-01-02", "(none)")])
    out = shares(touches, CONV, "last_non_direct", params={"direct_channel": "(none)"})
    assert out == {1: 1.0}


def _conv(opportunity: str | None, milestone: str = "deal") -> pd.DataFrame:
    """One conversion of lead 1 on Jan 20th."""
    return conversions_frame([(1, 1, "2024-01-20", 1_000, milestone, opportunity)])


def test_w_shaped_all_milestones_on_first_touch_add_up() -> None:
    """Roles on the same touch add up."""
    touches = touches_frame(
        [(1, 1, "2024-01-01", "A", True), (2, 1, "2024-01-02", "B"), (3, 1, "2024-01-03", "C")]
    )
    # first + lead + opportunity = 0.9 on touch 1; the 0.1 rest split over touches 2 and 3.
    assert_shares(
        shares(touches, _conv("2024-01-01 12:00"), "w_shaped"), {1: 0.9, 2: 0.05, 3: 0.05}
    )


def test_w_shaped_missing_opportunity_is_redistributed() -> None:
    """A missing opportunity role is spread over the roles present."""
    touches = touches_frame(
        [
            (1, 1, "2024-01-01", "A"),
            (2, 1, "2024-01-02", "B", True),
            (3, 1, "2024-01-03", "C"),
            (4, 1, "2024-01-04", "D"),
        ]
    )
    # Roles present: first .3, lead .3, rest .1 -> divided by .7.
    expected = {1: 3 / 7, 2: 3 / 7, 3: 1 / 14, 4: 1 / 14}
    assert_shares(shares(touches, _conv(None, "lead"), "w_shaped"), expected)


def test_w_shaped_without_lead_flag_or_opportunity() -> None:
    """Only first and rest remain: 3:1."""
    touches = _journey(3)
    # first .3 and rest .1 (touches 2, 3) -> .75, .125, .125
    assert_shares(shares(touches, _conv(None), "w_shaped"), {1: 0.75, 2: 0.125, 3: 0.125})


def test_w_shaped_two_touches_has_no_rest_pool() -> None:
    """With no role-less touch the rest weight is redistributed."""
    touches = touches_frame([(1, 1, "2024-01-01", "A", True), (2, 1, "2024-01-02", "B")])
    # touch 1: first + lead = .6, touch 2: opportunity .3; the empty rest pool is redistributed.
    assert_shares(shares(touches, _conv("2024-01-02"), "w_shaped"), {1: 2 / 3, 2: 1 / 3})


def test_opportunity_before_window_is_missing() -> None:
    """An opportunity older than every journey touch has no touch."""
    touches = _journey(3)
    # No journey touch at or before the opportunity: the role is missing, like a NaT.
    assert_shares(shares(touches, _conv("2023-12-01"), "w_shaped"), {1: 0.75, 2: 0.125, 3: 0.125})


def test_opportunity_touch_is_last_at_or_before_opportunity_ts() -> None:
    """The opportunity touch is the last one at or before opportunity_ts."""
    touches = _journey(4)
    # Opportunity at exactly touch 3's timestamp: touch 3 holds it (at or before).
    expected = {1: 0.3, 2: 0.05, 3: 0.3, 4: 0.05}
    exp_total = sum(expected.values())
    expected = {t: s / exp_total for t, s in expected.items()}
    assert_shares(shares(touches, _conv("2024-01-03"), "w_shaped"), expected)


def test_lead_creation_outside_lookback_is_missing() -> None:
    """A lead-creation touch outside the window does not count."""
    touches = touches_frame(
        [
            (1, 1, "2023-06-01", "A", True),
            (2, 1, "2024-01-01", "B"),
            (3, 1, "2024-01-02", "C"),
            (4, 1, "2024-01-03", "D"),
        ]
    )
    # Window keeps 2..4: first .3 on 2, opportunity .3 on 3, rest .1 on 4 -> / .7
    assert_shares(shares(touches, _conv("2024-01-02"), "w_shaped"), {2: 3 / 7, 3: 3 / 7, 4: 1 / 7})


def test_earliest_lead_creation_flag_wins() -> None:
    """Several flagged touches: the earliest created the lead."""
    touches = touches_frame(
        [
            (1, 1, "2024-01-01", "A"),
            (2, 1, "2024-01-02", "B", True),
            (3, 1, "2024-01-03", "C", True),
            (4, 1, "2024-01-04", "D"),
        ]
    )
    expected = {1: 3 / 7, 2: 3 / 7, 3: 1 / 14, 4: 1 / 14}
    assert_shares(shares(touches, _conv(None), "w_shaped"), expected)


def test_full_path_missing_lead_and_opportunity() -> None:
    """Full path without lead and opportunity roles."""
    # first .225, last .225, rest .1 over two touches -> divided by .55
    assert_shares(
        shares(_journey(4), _conv(None), "full_path"),
        {1: 9 / 22, 2: 1 / 11, 3: 1 / 11, 4: 9 / 22},
    )


def test_full_path_lead_and_opportunity_on_last_touch() -> None:
    """Lead, opportunity and last roles stacked on the last touch."""
    touches = touches_frame(
        [(1, 1, "2024-01-01", "A"), (2, 1, "2024-01-02", "B"), (3, 1, "2024-01-03", "C", True)]
    )
    # touch 3 = lead + opportunity + last = .675; touch 1 first .225; touch 2 rest .1
    assert_shares(shares(touches, _conv("2024-01-10"), "full_path"), {1: 0.225, 2: 0.1, 3: 0.675})


def test_full_path_two_touches() -> None:
    """Two touches holding two roles each split 50/50."""
    touches = touches_frame([(1, 1, "2024-01-01", "A", True), (2, 1, "2024-01-02", "B")])
    # touch 1: first + lead = .45; touch 2: opportunity + last = .45 -> 50/50
    assert_shares(shares(touches, _conv("2024-01-02"), "full_path"), {1: 0.5, 2: 0.5})


def test_custom_w_shaped_weights() -> None:
    """W-shaped weights are configurable."""
    params = {"first": 0.5, "lead": 0.2, "opportunity": 0.2, "rest": 0.1}
    out = shares(JOURNEY, DEAL, "w_shaped", params=params)
    assert_shares(out, {1: 0.5, 2: 0.2, 3: 0.05, 4: 0.2, 5: 0.05})


def test_negative_role_weight_rejected() -> None:
    """Negative role weights are errors."""
    with pytest.raises(ValueError, match="non-negative"):
        attribute(JOURNEY, DEAL, "w_shaped", params={"rest": -0.1})


def test_time_decay_rejects_bad_half_life() -> None:
    """The half-life must be positive."""
    with pytest.raises(ValueError, match="half_life_days"):
        attribute(JOURNEY, DEAL, "time_decay", params={"half_life_days": 0})
