"""Journey windows, the no-touch fallback, output shape and input validation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from attribution.engine import CREDIT_COLUMNS, MODELS, NO_TOUCH_ID, attribute, attribute_all
from attribution.engine.synthetic import conversions_frame, touches_frame

Mutation = Callable[[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]


def touch_ids(touches: pd.DataFrame, conversions: pd.DataFrame, **kwargs: object) -> list[int]:
    """Touch ids credited by the linear model, in journey order."""
    out = attribute(touches, conversions, "linear", **kwargs)
    return out["touch_id"].tolist()


def test_lookback_boundary_and_after_conversion_exclusion() -> None:
    """The window is [conv - 90 days, conv], both ends included."""
    touches = touches_frame(
        [
            (1, 1, "2023-10-01 23:59:59", "A"),  # 90 days + 1 s before: out
            (2, 1, "2023-10-02 00:00:00", "B"),  # exactly 90 days before: in
            (3, 1, "2023-12-31 00:00:00", "C"),  # exactly at the conversion: in
            (4, 1, "2023-12-31 00:00:01", "D"),  # after the conversion: out
        ]
    )
    conversions = conversions_frame([(1, 1, "2023-12-31", 100)])
    assert touch_ids(touches, conversions) == [2, 3]


def test_custom_and_unbounded_lookback() -> None:
    """lookback_days narrows the window, None removes its start; negatives raise."""
    touches = touches_frame(
        [(1, 1, "2020-01-01", "A"), (2, 1, "2023-12-01", "B"), (3, 1, "2023-12-30", "C")]
    )
    conversions = conversions_frame([(1, 1, "2023-12-31", 100)])
    assert touch_ids(touches, conversions, lookback_days=7) == [3]
    assert touch_ids(touches, conversions, lookback_days=None) == [1, 2, 3]
    with pytest.raises(ValueError, match="lookback_days"):
        attribute(touches, conversions, "linear", lookback_days=-1)


def test_other_leads_touches_do_not_leak() -> None:
    """A journey only holds the converting lead's touches."""
    touches = touches_frame([(1, 1, "2024-01-01", "A"), (2, 2, "2024-01-01", "B")])
    conversions = conversions_frame([(1, 1, "2024-01-02", 100)])
    assert touch_ids(touches, conversions) == [1]


def test_each_milestone_gets_its_own_journey() -> None:
    """Each conversion has its own journey ending at its own ts."""
    touches = touches_frame(
        [(1, 1, "2024-01-01", "A", True), (2, 1, "2024-02-01", "B"), (3, 1, "2024-03-01", "C")]
    )
    conversions = conversions_frame(
        [
            (1, 1, "2024-01-01", 0, "lead"),
            (2, 1, "2024-02-15", 500, "opportunity", "2024-02-15"),
            (3, 1, "2024-03-01", 900, "deal", "2024-02-15"),
        ]
    )
    out = attribute(touches, conversions, "last_touch")
    assert out[["conversion_id", "touch_id", "milestone", "value_cents"]].values.tolist() == [
        [1, 1, "lead", 0],
        [2, 2, "opportunity", 500],
        [3, 3, "deal", 900],
    ]


@pytest.mark.parametrize("model", MODELS)
def test_no_touch_in_window_goes_to_synthetic_direct(model: str) -> None:
    """A conversion without touches in its window credits one synthetic Direct row."""
    touches = touches_frame(
        [
            (1, 1, "2024-06-01", "Email"),  # after lead 1's conversion
            (2, 2, "2024-01-10", "Email"),
        ]
    )
    conversions = conversions_frame(
        [
            (1, 1, "2024-05-01 10:00", 1234),  # only a later touch
            (2, 3, "2024-05-01", 55),  # lead without any touch
            (3, 2, "2024-01-11", 10),
        ]
    )
    out = attribute(touches, conversions, model).set_index("conversion_id")
    for conversion_id, lead_id, value, ts in [
        (1, 1, 1234, "2024-05-01 10:00"),
        (2, 3, 55, "2024-05-01"),
    ]:
        row = out.loc[conversion_id]
        assert row["touch_id"] == NO_TOUCH_ID
        assert row["channel"] == "Direct"
        assert pd.isna(row["campaign_id"])
        assert row["lead_id"] == lead_id
        assert row["ts"] == pd.Timestamp(ts, tz="UTC")
        assert row["share"] == 1.0
        assert row["value_cents"] == value
    assert out.loc[3, "touch_id"] == 2


def test_output_columns_and_dtypes() -> None:
    """Credits have the documented columns and dtypes."""
    touches = touches_frame(
        [(1, 1, "2024-01-01", "A", True, 42), (2, 1, "2024-01-02", "B", False, None)]
    )
    conversions = conversions_frame([(1, 1, "2024-01-03", 101)])
    out = attribute(touches, conversions, "linear")
    assert tuple(out.columns) == CREDIT_COLUMNS
    assert out["conversion_id"].dtype == np.int64
    assert out["touch_id"].dtype == np.int64
    assert out["lead_id"].dtype == np.int64
    assert out["campaign_id"].dtype == "Int64"
    assert out["ts"].dtype == "datetime64[ns, UTC]"
    assert out["share"].dtype == np.float64
    assert out["value_cents"].dtype == np.int64
    assert out["campaign_id"].tolist()[0] == 42
    assert pd.isna(out["campaign_id"].tolist()[1])
    assert out["model"].tolist() == ["linear", "linear"]
    assert out["value_cents"].tolist() == [51, 50]


def test_zero_share_rows_are_omitted() -> None:
    """Touches with no credit do not appear in the output."""
    touches = touches_frame([(1, 1, "2024-01-01", "A"), (2, 1, "2024-01-02", "B")])
    conversions = conversions_frame([(1, 1, "2024-01-03", 100)])
    assert attribute(touches, conversions, "first_touch")["touch_id"].tolist() == [1]


def test_naive_and_other_timezones_are_read_as_utc() -> None:
    """Naive timestamps are UTC, aware ones are converted to UTC."""
    touches = touches_frame([(1, 1, "2024-01-01 00:30", "A"), (2, 1, "2024-01-01 01:30", "B")])
    touches["ts"] = touches["ts"].dt.tz_convert("Europe/Paris")  # 01:30 and 02:30 local
    conversions = conversions_frame([(1, 1, "2024-01-01 01:00", 100)])
    conversions["ts"] = conversions["ts"].dt.tz_localize(None)  # naive = UTC
    assert touch_ids(touches, conversions) == [1]


def test_optional_columns_may_be_absent() -> None:
    """campaign_id, is_lead_creation, milestone and opportunity_ts are optional."""
    touches = touches_frame([(1, 1, "2024-01-01", "A", True)])
    touches = touches[["touch_id", "lead_id", "ts", "channel"]]
    conversions = conversions_frame([(1, 1, "2024-01-03", 100)])[
        ["conversion_id", "lead_id", "ts", "value_cents"]
    ]
    out = attribute(touches, conversions, "w_shaped")
    assert out["milestone"].tolist() == ["deal"]
    assert out["share"].tolist() == [1.0]


def test_empty_conversions_give_empty_credits() -> None:
    """No conversion: an empty frame with the credit columns, for every model."""
    touches = touches_frame([(1, 1, "2024-01-01", "A")])
    conversions = conversions_frame([])
    for model in MODELS:
        out = attribute(touches, conversions, model)
        assert tuple(out.columns) == CREDIT_COLUMNS
        assert out.empty
        assert out["value_cents"].dtype == np.int64
    assert attribute_all(touches, conversions).empty


def test_empty_touches_give_synthetic_rows() -> None:
    """No touch at all: every conversion goes to the synthetic row."""
    out = attribute_all(touches_frame([]), conversions_frame([(1, 1, "2024-01-03", 100)]))
    assert set(out["touch_id"]) == {NO_TOUCH_ID}
    assert len(out) == len(MODELS)
    assert out["value_cents"].tolist() == [100] * len(MODELS)


def test_attribute_all_matches_single_calls() -> None:
    """attribute_all stacks exactly what attribute returns per model."""
    touches = touches_frame(
        [(1, 1, "2024-01-01", "A", True), (2, 1, "2024-01-02", "B"), (3, 2, "2024-01-02", "A")]
    )
    conversions = conversions_frame([(1, 1, "2024-01-03", 100, "deal", "2024-01-02")])
    params = {"time_decay": {"half_life_days": 1.0}}
    combined = attribute_all(touches, conversions, params=params)
    assert list(pd.unique(combined["model"])) == list(MODELS)
    for model in MODELS:
        single = attribute(touches, conversions, model, params=params.get(model))
        part = combined.loc[combined["model"] == model].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, single)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t, c: (t.drop(columns="channel"), c), "missing column"),
        (lambda t, c: (t, c.drop(columns="value_cents")), "missing column"),
        (lambda t, c: (t, pd.concat([c, c])), "unique"),
        (lambda t, c: (t, c.assign(milestone="won")), "milestone"),
        (lambda t, c: (t.assign(channel="A|B"), c), "reserved"),
        (lambda t, c: (t.assign(channel="(start)"), c), "reserved"),
        (lambda t, c: (t.assign(touch_id=-5), c), "non-negative"),
        (lambda t, c: (t.assign(ts=pd.NaT), c), "null"),
    ],
)
def test_invalid_inputs_raise(mutate: Mutation, message: str) -> None:
    """Malformed inputs raise a ValueError naming the problem."""
    touches = touches_frame([(1, 1, "2024-01-01", "A")])
    conversions = conversions_frame([(1, 1, "2024-01-03", 100)])
    bad_touches, bad_conversions = mutate(touches, conversions)
    with pytest.raises(ValueError, match=message):
        attribute(bad_touches, bad_conversions, "linear")


def test_unknown_model_and_params_raise() -> None:
    """Typos in model names or parameters are errors, not silent defaults."""
    touches = touches_frame([(1, 1, "2024-01-01", "A")])
    conversions = conversions_frame([(1, 1, "2024-01-03", 100)])
    with pytest.raises(ValueError, match="unknown attribution model"):
        attribute(touches, conversions, "u_shaped")
    with pytest.raises(ValueError, match="unknown parameter"):
        attribute(touches, conversions, "time_decay", params={"halflife": 3})
    with pytest.raises(ValueError, match="not requested"):
        attribute_all(touches, conversions, ["linear"], params={"time_decay": {}})


def test_sort_order_is_lexsort_whether_or_not_the_rows_come_sorted():
    from attribution.engine.journeys import sort_order

    rng = np.random.default_rng(5)
    lead = rng.integers(0, 40, 2000)
    ts = rng.integers(0, 30, 2000)  # many ties on (lead, ts)
    touch = rng.permutation(2000)
    expected = np.lexsort((touch, ts, lead))
    np.testing.assert_array_equal(sort_order(lead, ts, touch), expected)
    ordered = [key[expected] for key in (lead, ts, touch)]
    np.testing.assert_array_equal(sort_order(*ordered), np.arange(2000))
    # Equal keys keep their order, as lexsort's stable sort does.
    np.testing.assert_array_equal(sort_order(np.zeros(5, dtype=int)), np.arange(5))
    assert sort_order(np.zeros(0, dtype=int)).size == 0
