"""The engine against two public libraries on the same generated journeys.

Optional: both libraries live in the ``compare`` dependency group, which ``make install`` does
not install, so every test here skips with a message when its library is absent::

    UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=.venv .tools/bin/uv sync --frozen \
        --group compare

* ``marketing-attribution-models`` 2.x ("MAM", import name ``mam``, Polars based). Its
  ``"journey"`` input format gets one row per path: channels joined by ``" > "``, the hours from
  each touch to the conversion joined the same way, a conversion flag and the value.
* ``ChannelAttribution`` (needs ``matplotlib`` beside it, which it imports but does not declare):
  paths joined by ``">"``, grouped, with conversion and null counts.

The library inputs are built here from the raw touches/conversions with plain pandas, following
the engine's documented journey rules, so a slip in the engine's own journey building would show:
journey = the lead's touches in ``[conversion.ts - lookback, conversion.ts]`` ordered by
``(ts, touch_id)``; a conversion without one is a single ``"Direct"`` touch; null paths are the
touches of leads without a conversion in the lookback window ending at their last touch.

Where the definitions differ, the engine's parameters are chosen to match MAM's definition:

* position-based: MAM's is fixed at 40/20/40 with 50/50 on two touches and 100% on one, which is
  the engine's default ``first=0.4, last=0.4`` (two touches: ``first/(first+last)``).
* time-decay: MAM weighs ``0.5 ** (hours / half_life_hours)`` and normalises per journey; the
  engine weighs ``2 ** (-days / half_life_days)``, so ``half_life_days = half_life_hours / 24``.
  MAM's ``"session"`` format would measure hours up to the journey's last touch rather than to
  the conversion; after normalising per journey that constant offset cancels, as it does in the
  engine, which measures from the freshest touch.
* Markov: MAM drops self-transitions (``A > A``) by default, the engine keeps them; in an order-1
  chain a self-loop never changes a conversion probability, so removal effects agree exactly
  either way (both settings are checked). ChannelAttribution also collapses repeats, and
  *simulates* the chain, so its shares are compared within 5 points of share, not exactly.

Markov value split, chosen on purpose: **per journey** (see ``attribution.engine``'s docstring):
each conversion's value is divided among the channels present in *its* journey in proportion to
their global removal effects, so every credit belongs to a real touch and each conversion's
cents are conserved exactly. ChannelAttribution splits **over the total** (channel total =
global share x all conversions), so its channel totals are not comparable and only its shares
are. MAM 2.x also splits per journey but per *touch* (a channel's weight is its effect times its
number of touches in the journey) where the engine splits per *channel present* (then evenly over
that channel's touches): the two agree exactly on journeys where no channel repeats, which is
checked, and on the others each follows its own formula, which is checked too.
"""

from __future__ import annotations

import contextlib
import io
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from attribution.engine import (
    attribute,
    markov_channel_shares,
    markov_removal_effects,
    markov_transition_counts,
)
from attribution.engine.synthetic import conversions_frame, generate

MAM_SEP = " > "  # MAM's default path separator
CA_SEP = ">"  # ChannelAttribution takes a one-character separator
LOOKBACK_DAYS = 14.0
RTOL = 1e-6
CA_SHARE_TOLERANCE = 0.05
INSTALL_HINT = (
    "install the optional `compare` dependency group: UV_PROJECT_ENVIRONMENT=.venv "
    ".tools/bin/uv sync --frozen --group compare"
)

# (engine model, engine params, MAM method, MAM kwargs)
RULE_MODELS: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("first_touch", {}, "run_first_click", {}),
    ("last_touch", {}, "run_last_click", {}),
    ("linear", {}, "run_linear", {}),
    ("position_based", {"first": 0.4, "last": 0.4}, "run_position_based", {}),
    ("time_decay", {"half_life_days": 7.0}, "run_time_decay", {"half_life_hours": 168.0}),
    ("time_decay", {"half_life_days": 1.5}, "run_time_decay", {"half_life_hours": 36.0}),
]


# --- library inputs built from the engine's inputs ---------------------------------------------


def _hours(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier) / pd.Timedelta(hours=1)


def _paths_frame(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """Rows sorted by ``key`` then journey order -> per key: channels, hours, no-repeat flag."""
    keys = rows[key].to_numpy()
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else keys[:0]
    bounds = list(zip(starts.tolist(), [*starts[1:].tolist(), keys.size], strict=True))
    channels = rows["channel"].tolist()
    hours = list(map(repr, rows["hours"].to_numpy(np.float64).tolist()))  # round-trips exactly
    return pd.DataFrame(
        {
            "journey": [MAM_SEP.join(channels[a:b]) for a, b in bounds],
            "hours": [MAM_SEP.join(hours[a:b]) for a, b in bounds],
            "distinct": [len(set(channels[a:b])) == b - a for a, b in bounds],
        },
        index=pd.Index(keys[starts], name=key),
    )


def library_journeys(
    touches: pd.DataFrame, conversions: pd.DataFrame, lookback_days: float | None
) -> pd.DataFrame:
    """One row per path in MAM's ``"journey"`` format (see the module docstring).

    Columns: ``journey_id`` (``c<conversion_id>`` or ``n<lead_id>``), ``journey`` (channels
    joined by ``" > "``), ``hours`` (hours to the conversion, same separator), ``converted``,
    ``value`` (value_cents as float, 0 for null paths), ``synthetic`` (the conversion had no
    touch: a lone ``"Direct"``) and ``distinct`` (no channel repeats in the path).
    """
    lookback = None if lookback_days is None else pd.Timedelta(days=lookback_days)
    conv = conversions[["conversion_id", "lead_id", "ts", "value_cents"]].rename(
        columns={"ts": "conv_ts"}
    )
    rows = conv.merge(touches[["touch_id", "lead_id", "ts", "channel"]], on="lead_id")
    keep = rows["ts"] <= rows["conv_ts"]
    if lookback is not None:
        keep &= rows["ts"] >= rows["conv_ts"] - lookback
    rows = rows.loc[keep].sort_values(["conversion_id", "ts", "touch_id"])
    rows["hours"] = _hours(rows["conv_ts"], rows["ts"])
    converting = _paths_frame(rows, "conversion_id").reindex(conv["conversion_id"])
    synthetic = converting["journey"].isna().to_numpy()
    converting.loc[synthetic, ["journey", "hours", "distinct"]] = ["Direct", "0.0", True]
    converting = converting.assign(
        journey_id="c" + conv["conversion_id"].astype(str).to_numpy(),
        converted=True,
        value=conv["value_cents"].astype(np.float64).to_numpy(),
        synthetic=synthetic,
    )

    idle = touches.loc[~touches["lead_id"].isin(conv["lead_id"])]
    idle = idle[["touch_id", "lead_id", "ts", "channel"]].copy()
    last = idle.groupby("lead_id")["ts"].transform("max")
    if lookback is not None:
        in_window = idle["ts"] >= last - lookback
        idle, last = idle.loc[in_window], last.loc[in_window]
    idle["hours"] = _hours(last, idle["ts"])
    null = _paths_frame(idle.sort_values(["lead_id", "ts", "touch_id"]), "lead_id")
    null = null.assign(
        journey_id="n" + null.index.astype(str), converted=False, value=0.0, synthetic=False
    )
    columns = ["journey_id", "journey", "hours", "converted", "value", "synthetic", "distinct"]
    out = pd.concat([converting[columns], null[columns]], ignore_index=True)
    return out.astype({"converted": bool, "synthetic": bool, "distinct": bool})


def channelattribution_paths(journeys: pd.DataFrame) -> pd.DataFrame:
    """Markov paths (synthetic journeys excluded) grouped for ChannelAttribution."""
    real = journeys.loc[~journeys["synthetic"]]
    path = real["journey"].str.replace(MAM_SEP, CA_SEP, regex=False)
    grouped = real.groupby(path, sort=True)["converted"]
    return pd.DataFrame(
        {
            "path": grouped.sum().index.astype(str),
            "total_conversions": grouped.sum().to_numpy(np.int64),
            "total_null": (grouped.size() - grouped.sum()).to_numpy(np.int64),
        }
    )


def mam_instance(mam: ModuleType, journeys: pd.DataFrame, *, value: bool = False) -> Any:
    """A ``mam.MAM`` on these journeys (``"journey"`` format); ``value`` weighs by value."""
    columns = ["journey_id", "journey", "hours", "converted", "value"]
    return mam.MAM(
        df=journeys[columns].reset_index(drop=True),
        format_type="journey",
        channels_colname="journey",
        journey_with_conv_colname="converted",
        user_id_colname="journey_id",
        time_till_conv_colname="hours",
        path_separator=MAM_SEP,
        conversion_value_colname="value" if value else None,
    )


def mam_totals(result: Any) -> pd.Series:
    """Channel -> attributed total of a MAM ``AttributionResult``."""
    frame = result.to_pandas()
    return pd.Series(
        frame["attribution"].to_numpy(np.float64), index=frame["channels"].astype(str).to_numpy()
    )


def engine_totals(
    touches: pd.DataFrame, conversions: pd.DataFrame, model: str, params: dict, *, value: bool
) -> pd.Series:
    """Channel -> credited conversions (sum of shares) or credited value (share x value)."""
    credits = attribute(touches, conversions, model, lookback_days=LOOKBACK_DAYS, params=params)
    weight = credits["share"].to_numpy(np.float64)
    if value:
        values = conversions.set_index("conversion_id")["value_cents"].astype(np.float64)
        weight = weight * credits["conversion_id"].map(values).to_numpy(np.float64)
    return pd.Series(weight, index=credits["channel"].to_numpy()).groupby(level=0).sum()


def assert_same(ours: pd.Series, theirs: pd.Series, rtol: float = RTOL) -> None:
    """Same values per key (missing keys count as 0), within ``rtol`` relative."""
    keys = sorted(set(ours.index) | set(theirs.index))
    a = ours.reindex(keys, fill_value=0.0).to_numpy(np.float64)
    b = theirs.reindex(keys, fill_value=0.0).to_numpy(np.float64)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0.0, err_msg=f"keys {keys}")


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mam() -> ModuleType:
    """``marketing-attribution-models`` 2.x, or skip."""
    module = pytest.importorskip(
        "mam", reason=f"marketing-attribution-models (import name mam) is absent; {INSTALL_HINT}"
    )
    if not hasattr(module, "MAM"):
        pytest.skip(f"the installed `mam` is not marketing-attribution-models 2.x; {INSTALL_HINT}")
    return module


@pytest.fixture(scope="module")
def channelattribution() -> ModuleType:
    """``ChannelAttribution`` (with the matplotlib it imports), or skip."""
    pytest.importorskip(
        "matplotlib",
        reason=f"matplotlib, which ChannelAttribution imports, is absent; {INSTALL_HINT}",
    )
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a banner on import
        return pytest.importorskip(
            "ChannelAttribution", reason=f"ChannelAttribution is absent; {INSTALL_HINT}"
        )


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """1,200 leads, 5 channels: 300 converting journeys, 900 null paths, seeded.

    Plus 4 conversions of leads without any touch, so the lone-"Direct" rule is exercised.
    """
    touches, conversions = generate(1200, 4.0, 5, seed=20240611, conversion_rate=0.25)
    lonely = conversions_frame(
        [(1000 + i, 5000 + i, f"2024-06-0{i + 1} 12:00", 250_000 * (i + 1)) for i in range(4)]
    )
    return touches, pd.concat([conversions, lonely], ignore_index=True)


@pytest.fixture(scope="module")
def journeys(data: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """The library-format paths of ``data``."""
    return library_journeys(*data, LOOKBACK_DAYS)


@pytest.fixture(scope="module")
def markov_effects(data: tuple[pd.DataFrame, pd.DataFrame]) -> pd.Series:
    """The engine's exact removal effects."""
    return markov_removal_effects(markov_transition_counts(*data, lookback_days=LOOKBACK_DAYS))


# --- the data exercise the cases that matter ----------------------------------------------------


def test_generated_journeys_cover_the_edge_cases(
    data: tuple[pd.DataFrame, pd.DataFrame], journeys: pd.DataFrame
) -> None:
    """Lengths 1, 2 and 3+, repeats or not, lookback cuts, lone "Direct", null paths: present."""
    touches, conversions = data
    converting = journeys.loc[journeys["converted"]]
    lengths = converting["journey"].str.count(MAM_SEP) + 1
    assert len(converting) == len(conversions) == 304
    assert int(converting["synthetic"].sum()) == 4
    assert touches["channel"].nunique() == 5
    assert (lengths == 1).sum() > 10 and (lengths == 2).sum() > 10 and (lengths >= 3).sum() > 50
    assert converting["distinct"].sum() > 50 and (~converting["distinct"]).sum() > 50
    before = touches.merge(conversions[["lead_id", "ts"]], on="lead_id", suffixes=("", "_conv"))
    real = ~converting["synthetic"]
    assert (before["ts"] <= before["ts_conv"]).sum() > lengths[real].sum()  # the window cut some
    null = journeys.loc[~journeys["converted"]]
    assert len(null) == 900
    idle = touches.loc[~touches["lead_id"].isin(conversions["lead_id"])]
    assert len(idle) > (null["journey"].str.count(MAM_SEP) + 1).sum()  # here too
    credits = attribute(touches, conversions, "linear", lookback_days=LOOKBACK_DAYS)
    assert int((credits["touch_id"] == -1).sum()) == 4


# --- rule-based models against MAM --------------------------------------------------------------


@pytest.mark.parametrize("metric", ["conversions", "value"])
@pytest.mark.parametrize(
    ("model", "params", "method", "kwargs"),
    RULE_MODELS,
    ids=[f"{m}-{k.get('half_life_hours', '')}".rstrip("-") for m, _, _, k in RULE_MODELS],
)
def test_rule_models_match_mam(
    mam: ModuleType,
    data: tuple[pd.DataFrame, pd.DataFrame],
    journeys: pd.DataFrame,
    model: str,
    params: dict[str, Any],
    method: str,
    kwargs: dict[str, Any],
    metric: str,
) -> None:
    """Per-channel credited conversions (and value) equal MAM's to 1e-6 relative."""
    value = metric == "value"
    ours = engine_totals(*data, model, params, value=value)
    theirs = mam_totals(getattr(mam_instance(mam, journeys, value=value), method)(**kwargs))
    assert_same(ours, theirs)
    expected_total = data[1]["value_cents"].sum() if value else len(data[1])
    assert ours.sum() == pytest.approx(expected_total, rel=1e-12)


# --- Markov against MAM (exact) and ChannelAttribution (simulated) ------------------------------


@pytest.mark.parametrize("same_state", [False, True], ids=["no-self-loops", "self-loops"])
def test_markov_removal_effects_match_mam(
    mam: ModuleType,
    data: tuple[pd.DataFrame, pd.DataFrame],
    journeys: pd.DataFrame,
    markov_effects: pd.Series,
    same_state: bool,
) -> None:
    """Exact removal effects and their normalised shares equal MAM's to 1e-6."""
    model = mam_instance(mam, journeys.loc[~journeys["synthetic"]])
    removal = model.run_markov(transition_to_same_state=same_state).metadata["removal_effect"]
    theirs = removal["removal_effect"].set_axis(removal.index.astype(str))
    assert len(markov_effects) == 5
    assert_same(markov_effects, theirs)
    counts = markov_transition_counts(*data, lookback_days=LOOKBACK_DAYS)
    assert_same(markov_channel_shares(counts), theirs / theirs.sum())


def test_markov_per_journey_split_against_mam(
    mam: ModuleType,
    data: tuple[pd.DataFrame, pd.DataFrame],
    journeys: pd.DataFrame,
    markov_effects: pd.Series,
) -> None:
    """Per journey: equal to MAM where no channel repeats; elsewhere each follows its formula.

    Engine: channel ``c`` of journey ``j`` gets ``RE(c) / sum(RE(d), d present in j)``. MAM
    (per touch): ``n_j(c) RE(c) / sum(n_j(d) RE(d))`` with ``n_j`` the touch counts.
    """
    model = mam_instance(mam, journeys.loc[~journeys["synthetic"]])
    raw = model.run_markov().to_raw_polars().to_pandas()
    raw = raw.loc[raw["has_conversion"]]
    theirs = raw.groupby(["journey_id", raw["channels"].astype(str)])["attribution_value"].sum()
    credits = attribute(*data, "markov", lookback_days=LOOKBACK_DAYS)
    key = "c" + credits["conversion_id"].astype(str)
    ours = credits.groupby([key.rename("journey_id"), "channel"])["share"].sum()

    converting = journeys.loc[journeys["converted"] & ~journeys["synthetic"]]
    distinct = set(converting.loc[converting["distinct"], "journey_id"])
    repeated = set(converting.loc[~converting["distinct"], "journey_id"])
    in_distinct = ours.index.get_level_values(0).isin(distinct)
    assert_same(ours[in_distinct], theirs[theirs.index.get_level_values(0).isin(distinct)])

    touches_per = (
        converting.loc[converting["journey_id"].isin(repeated)]
        .set_index("journey_id")["journey"]
        .str.split(MAM_SEP)
        .explode()
        .rename("channel")
        .reset_index()
        .value_counts()
        .astype(np.float64)
    )
    effect = touches_per.index.get_level_values("channel").map(markov_effects).to_numpy()
    per_channel = pd.Series(effect, index=touches_per.index)
    per_touch = per_channel * touches_per
    expected_ours = per_channel / per_channel.groupby(level=0).transform("sum")
    expected_mam = per_touch / per_touch.groupby(level=0).transform("sum")
    in_repeated = ours.index.get_level_values(0).isin(repeated)
    assert_same(ours[in_repeated], expected_ours)
    assert_same(theirs[theirs.index.get_level_values(0).isin(repeated)], expected_mam)
    assert not np.allclose(expected_ours.sort_index(), expected_mam.sort_index())


def test_markov_shares_close_to_channelattribution(
    channelattribution: ModuleType, journeys: pd.DataFrame, markov_effects: pd.Series
) -> None:
    """Exact shares within 5 points of ChannelAttribution's simulated ones (its totals / sum)."""
    paths = channelattribution_paths(journeys)
    real = journeys.loc[~journeys["synthetic"]]
    assert paths["total_conversions"].sum() == real["converted"].sum() == 300
    assert paths["total_null"].sum() == (~real["converted"]).sum() == 900
    result = channelattribution.markov_model(
        paths,
        "path",
        "total_conversions",
        var_null="total_null",
        order=1,
        sep=CA_SEP,
        ncore=1,
        seed=7,
        verbose=False,
        flg_pro=False,
    )
    totals = pd.Series(
        result["total_conversions"].to_numpy(np.float64),
        index=result["channel_name"].astype(str).to_numpy(),
    )
    theirs = totals / totals.sum()
    ours = markov_effects / markov_effects.sum()
    keys = sorted(set(ours.index) | set(theirs.index))
    gap = (ours.reindex(keys, fill_value=0.0) - theirs.reindex(keys, fill_value=0.0)).abs()
    assert gap.max() <= CA_SHARE_TOLERANCE, gap.to_dict()
