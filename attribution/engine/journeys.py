"""Input validation and journey/path construction shared by every attribution model.

A *journey* belongs to one conversion: the converting lead's touches with
``conversion.ts - lookback <= touch.ts <= conversion.ts``, ordered by ``(ts, touch_id)``. Touches
after the conversion never count, so a later milestone's touches cannot leak into an earlier one.

A conversion whose lead has no touch in that window gets one synthetic row: ``touch_id = -1``,
channel ``"Direct"`` (``DIRECT``), ``campaign_id = <NA>``, ``ts`` = the conversion's own ``ts``.
That keeps credits conserved (every conversion's value lands somewhere) and matches the usual
web-analytics convention that an unexplained arrival is "direct".

A *path* is the Markov/Shapley view: the channel sequence of each converting journey (synthetic
rows excluded: they say nothing about channels) plus one *null path* per lead that has touches but
no conversion in the data passed, made of its touches in the lookback window ending at its last
touch. Both are built per lead, which is what makes their counts additive over lead-id partitions.

*Account journeys*: an optional ``members`` frame (``conversion_id``, ``lead_id``) names more
people whose touches count for a conversion (a deal's buying group, or everyone in its account).
The journey is then the merged, time-ordered touches of the converting lead and its members, by
the same window rules; each row keeps ``touch_lead_id`` (whose touch it is) beside ``lead_id``
(the converting lead). A lead named as a member of any conversion in ``members`` has no null
path of its own, so a partition must pass the memberships of its own leads as well as those of
its conversions for its counts to stay additive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DIRECT = "Direct"
NO_TOUCH_ID = -1
MILESTONES = ("lead", "opportunity", "deal")
# Reserved because Markov states join channels with ">" and Shapley coalitions with "|".
STATE_SEPARATOR = ">"
COALITION_SEPARATOR = "|"
START_STATE = "(start)"
CONVERSION_STATE = "(conversion)"
NULL_STATE = "(null)"
_RESERVED_NAMES = frozenset({START_STATE, CONVERSION_STATE, NULL_STATE, ""})

TOUCH_COLUMNS = ("touch_id", "lead_id", "ts", "channel", "campaign_id", "is_lead_creation")
CONVERSION_COLUMNS = (
    "conversion_id",
    "lead_id",
    "ts",
    "value_cents",
    "milestone",
    "opportunity_ts",
)
_TS = "datetime64[ns, UTC]"


def _require(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s): {', '.join(missing)}")


def _utc(values: pd.Series) -> pd.Series:
    # Naive datetimes are taken as UTC, aware ones converted; one unit keeps int maths simple.
    return pd.to_datetime(values, utc=True).astype(_TS)


def ts_ns(values: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch (int64) of a ``datetime64[ns, UTC]`` series; NaT is int64 min."""
    return np.asarray(values.array.asi8, dtype=np.int64)


def _lookback_ns(lookback_days: float | None) -> int | None:
    if lookback_days is None:
        return None
    if not np.isfinite(lookback_days) or lookback_days < 0:
        raise ValueError("lookback_days must be a non-negative number or None")
    return round(float(lookback_days) * 86_400 * 1_000_000_000)


def validate_channel_names(names: np.ndarray) -> None:
    """Reject channel names that would collide with Markov state or Shapley coalition syntax."""
    for name in names:
        if name in _RESERVED_NAMES or STATE_SEPARATOR in name or COALITION_SEPARATOR in name:
            raise ValueError(
                f"channel name {name!r} is reserved or contains '{STATE_SEPARATOR}' "
                f"or '{COALITION_SEPARATOR}'"
            )


def prepare_touches(touches: pd.DataFrame) -> pd.DataFrame:
    """Validate touches and return a copy with canonical dtypes (optional columns filled)."""
    _require(touches, "touches", ("touch_id", "lead_id", "ts", "channel"))
    if touches["ts"].isna().any():
        raise ValueError("touches.ts must not be null")
    if touches["channel"].isna().any():
        raise ValueError("touches.channel must not be null")
    n = len(touches)
    campaign = (
        touches["campaign_id"].astype("Int64")
        if "campaign_id" in touches.columns
        else pd.Series(pd.array([pd.NA] * n, dtype="Int64"), index=touches.index)
    )
    creation = (
        touches["is_lead_creation"].fillna(False).astype(bool)
        if "is_lead_creation" in touches.columns
        else pd.Series(np.zeros(n, dtype=bool), index=touches.index)
    )
    out = pd.DataFrame(
        {
            "touch_id": touches["touch_id"].astype(np.int64),
            "lead_id": touches["lead_id"].astype(np.int64),
            "ts": _utc(touches["ts"]),
            "channel": touches["channel"].astype(str),
            "campaign_id": campaign,
            "is_lead_creation": creation,
        }
    ).reset_index(drop=True)
    if n and out["touch_id"].min() < 0:
        raise ValueError("touches.touch_id must be non-negative (-1 marks the synthetic touch)")
    validate_channel_names(pd.unique(out["channel"]))
    return out


def prepare_conversions(conversions: pd.DataFrame) -> pd.DataFrame:
    """Validate conversions and return a copy with canonical dtypes, sorted by conversion_id."""
    _require(conversions, "conversions", ("conversion_id", "lead_id", "ts", "value_cents"))
    if conversions["ts"].isna().any():
        raise ValueError("conversions.ts must not be null")
    if conversions["value_cents"].isna().any():
        raise ValueError("conversions.value_cents must not be null")
    if conversions["conversion_id"].duplicated().any():
        raise ValueError("conversions.conversion_id must be unique")
    n = len(conversions)
    milestone = (
        conversions["milestone"].astype(str)
        if "milestone" in conversions.columns
        else pd.Series(["deal"] * n, index=conversions.index, dtype=str)
    )
    unknown = set(pd.unique(milestone)) - set(MILESTONES)
    if unknown:
        raise ValueError(f"unknown milestone(s) {sorted(unknown)}; expected one of {MILESTONES}")
    opportunity = (
        _utc(conversions["opportunity_ts"])
        if "opportunity_ts" in conversions.columns
        else pd.Series(pd.NaT, index=conversions.index, dtype=_TS)
    )
    out = pd.DataFrame(
        {
            "conversion_id": conversions["conversion_id"].astype(np.int64),
            "lead_id": conversions["lead_id"].astype(np.int64),
            "ts": _utc(conversions["ts"]),
            "value_cents": conversions["value_cents"].astype(np.int64),
            "milestone": milestone,
            "opportunity_ts": opportunity,
        }
    )
    return out.sort_values("conversion_id", kind="stable").reset_index(drop=True)


def group_positions(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For keys sorted ascending, return per row (dense group index, position in group, size)."""
    n = sorted_keys.shape[0]
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    is_start = np.empty(n, dtype=bool)
    is_start[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=is_start[1:])
    group = np.cumsum(is_start) - 1
    starts = np.flatnonzero(is_start)
    sizes = np.diff(np.append(starts, n))
    position = np.arange(n) - starts[group]
    return group, position, sizes[group]


def sort_order(*keys: np.ndarray) -> np.ndarray:
    """``np.lexsort`` order of rows by ``keys``, primary key first (stable), skipping the sort
    when the rows already come in that order, as touches read by lead and time do."""
    n = keys[0].shape[0] if keys else 0
    undecided = np.ones(max(n - 1, 0), dtype=bool)
    for key in keys:
        if (undecided & (key[1:] < key[:-1])).any():
            return np.lexsort(keys[::-1])
        undecided &= key[1:] == key[:-1]
    return np.arange(n)


MEMBER_COLUMNS = ("conversion_id", "lead_id")


def prepare_members(members: pd.DataFrame | None) -> pd.DataFrame:
    """Validate account members and return ``conversion_id``/``lead_id`` int64 pairs, unique."""
    if members is None:
        return pd.DataFrame({c: np.zeros(0, dtype=np.int64) for c in MEMBER_COLUMNS})
    _require(members, "members", MEMBER_COLUMNS)
    if members[list(MEMBER_COLUMNS)].isna().any().any():
        raise ValueError("members must not hold nulls")
    out = pd.DataFrame({c: members[c].astype(np.int64) for c in MEMBER_COLUMNS})
    return out.drop_duplicates().reset_index(drop=True)


@dataclass(frozen=True)
class Journeys:
    """Journey rows for a set of conversions.

    ``conversions``: one row per conversion (prepared, sorted by conversion_id), row ``i`` being
    journey ``jid == i``. ``rows``: one row per journey touch sorted by ``(jid, ts, touch_id)``,
    with ``jid``, ``pos`` (0-based), ``n`` (journey length) and the touch/conversion columns;
    ``lead_id`` is the converting lead's, ``touch_lead_id`` the touch's own (-1 if synthetic).
    """

    rows: pd.DataFrame
    conversions: pd.DataFrame

    @property
    def n_journeys(self) -> int:
        """Number of journeys (= conversions)."""
        return len(self.conversions)

    def column(self, name: str) -> np.ndarray:
        """A rows column as a numpy array."""
        return self.rows[name].to_numpy()


def _window_mask(touch_ns: np.ndarray, end_ns: np.ndarray, lookback: int | None) -> np.ndarray:
    keep = touch_ns <= end_ns
    if lookback is not None:
        keep &= touch_ns >= end_ns - lookback
    return keep


def _journey_keys(conv: pd.DataFrame, members: pd.DataFrame | None) -> pd.DataFrame:
    """(jid, lead_id whose touches count, conv_ts): the converting lead, then its members."""
    keys = pd.DataFrame(
        {
            "jid": np.arange(len(conv), dtype=np.int64),
            "lead_id": conv["lead_id"],
            "conv_ts": conv["ts"],
        }
    )
    if members is None or members.empty:
        return keys
    jid = pd.Series(keys["jid"].to_numpy(), index=conv["conversion_id"].to_numpy())
    found = members.loc[members["conversion_id"].isin(jid.index)]
    extra = pd.DataFrame(
        {
            "jid": jid.loc[found["conversion_id"].to_numpy()].to_numpy(),
            "lead_id": found["lead_id"].to_numpy(),
        }
    )
    extra["conv_ts"] = conv["ts"].array.take(extra["jid"].to_numpy())
    both = pd.concat([keys, extra], ignore_index=True)
    return both.drop_duplicates(["jid", "lead_id"]).reset_index(drop=True)


def build_journeys(
    touches: pd.DataFrame,
    conversions: pd.DataFrame,
    lookback_days: float | None,
    members: pd.DataFrame | None = None,
) -> Journeys:
    """Build journeys from *prepared* touches/conversions (see module docstring for the rules);
    with prepared ``members``, a conversion's journey merges its members' touches too."""
    lookback = _lookback_ns(lookback_days)
    conv = conversions.reset_index(drop=True)
    n_conv = len(conv)
    keys = _journey_keys(conv, members)
    candidates = touches[touches["lead_id"].isin(keys["lead_id"].unique())]
    merged = keys.merge(candidates, on="lead_id", how="inner", sort=False)
    in_window = _window_mask(ts_ns(merged["ts"]), ts_ns(merged["conv_ts"]), lookback)
    merged = merged.loc[in_window].drop(columns="conv_ts")
    merged["touch_lead_id"] = merged["lead_id"].to_numpy(np.int64)
    merged["lead_id"] = conv["lead_id"].to_numpy(np.int64)[merged["jid"].to_numpy()]

    touched = np.zeros(n_conv, dtype=bool)
    touched[merged["jid"].to_numpy()] = True
    lonely = np.flatnonzero(~touched)
    synthetic = pd.DataFrame(
        {
            "jid": lonely.astype(np.int64),
            "lead_id": conv["lead_id"].to_numpy()[lonely],
            "touch_id": np.full(lonely.size, NO_TOUCH_ID, dtype=np.int64),
            "touch_lead_id": np.full(lonely.size, NO_TOUCH_ID, dtype=np.int64),
            "ts": conv["ts"].iloc[lonely].reset_index(drop=True),
            "channel": pd.Series([DIRECT] * lonely.size, dtype=str),
            "campaign_id": pd.array([pd.NA] * lonely.size, dtype="Int64"),
            "is_lead_creation": np.zeros(lonely.size, dtype=bool),
        }
    )
    columns = [
        "jid", "lead_id", "touch_id", "touch_lead_id", "ts", "channel", "campaign_id",
        "is_lead_creation",
    ]  # fmt: skip
    parts = [frame[columns] for frame in (merged, synthetic) if len(frame)]
    rows = (
        pd.concat(parts, ignore_index=True) if parts else synthetic[columns].reset_index(drop=True)
    )
    rows["synthetic"] = rows["touch_id"].to_numpy() == NO_TOUCH_ID

    order = sort_order(rows["jid"].to_numpy(), ts_ns(rows["ts"]), rows["touch_id"].to_numpy())
    rows = rows.take(order).reset_index(drop=True)
    _, position, size = group_positions(rows["jid"].to_numpy())
    rows["pos"] = position
    rows["n"] = size
    jid = rows["jid"].to_numpy()
    rows["conversion_id"] = conv["conversion_id"].to_numpy()[jid]
    rows["milestone"] = conv["milestone"].to_numpy()[jid]
    return Journeys(rows=rows, conversions=conv)


@dataclass(frozen=True)
class Paths:
    """Channel paths for Markov/Shapley, rows sorted by ``(path, ts, touch_id)``.

    ``path``/``channel`` are per row (channel as a code into ``channels``, which is sorted);
    ``converted``/``value_cents`` are per path. Null paths have ``converted=False``, value 0.
    """

    path: np.ndarray
    position: np.ndarray
    channel: np.ndarray
    channels: np.ndarray
    converted: np.ndarray
    value_cents: np.ndarray

    @property
    def n_paths(self) -> int:
        """Number of paths (converting and null)."""
        return int(self.converted.shape[0])


def build_paths(
    touches: pd.DataFrame,
    conversions: pd.DataFrame,
    lookback_days: float | None,
    members: pd.DataFrame | None = None,
) -> Paths:
    """Converting paths (one per conversion with touches) then null paths (one per lead that
    neither converts nor is a member of a conversion)."""
    journeys = build_journeys(touches, conversions, lookback_days, members)
    real = journeys.rows.loc[~journeys.rows["synthetic"].to_numpy()]
    conv_group, _, _ = group_positions(real["jid"].to_numpy())
    first_rows = np.flatnonzero(real["pos"].to_numpy() == 0)
    conv_value = journeys.conversions["value_cents"].to_numpy()[real["jid"].to_numpy()[first_rows]]
    n_conv_paths = first_rows.size

    lookback = _lookback_ns(lookback_days)
    busy = conversions["lead_id"].unique()
    if members is not None and not members.empty:
        busy = np.union1d(busy, members["lead_id"].unique())
    idle = touches.loc[~touches["lead_id"].isin(busy)]
    idle_ts = ts_ns(idle["ts"])
    order = sort_order(idle["lead_id"].to_numpy(), idle_ts, idle["touch_id"].to_numpy())
    idle_lead = idle["lead_id"].to_numpy()[order]
    idle_ts = idle_ts[order]
    # Channels as integer codes before any row is moved: strings cost a hash and a reference
    # count per row, codes a machine word.
    idle_codes, idle_names = pd.factorize(idle["channel"])
    idle_channel = idle_codes[order]
    lead_group, _, _ = group_positions(idle_lead)
    if idle_lead.size:
        # Sorted, so the group's last row holds its latest touch.
        last_row = np.flatnonzero(np.append(lead_group[1:] != lead_group[:-1], True))
        last_ts = idle_ts[last_row][lead_group]
        keep = _window_mask(idle_ts, last_ts, lookback)
    else:
        keep = np.zeros(0, dtype=bool)
    null_group, null_position, _ = group_positions(idle_lead[keep])
    n_null_paths = int(null_group.max()) + 1 if null_group.size else 0

    real_codes, real_names = pd.factorize(real["channel"])
    real_names = np.asarray(real_names, dtype=object)
    idle_names = np.asarray(idle_names, dtype=object)
    kept_idle = idle_channel[keep]
    # Only the channels present in some path, sorted: codes follow the sorted names.
    present = np.concatenate(
        [real_names[np.unique(real_codes)], idle_names[np.unique(kept_idle)]]
    ).astype(str)
    uniques = np.unique(present)
    codes = np.concatenate(
        [
            np.searchsorted(uniques, real_names.astype(str))[real_codes],
            np.searchsorted(uniques, idle_names.astype(str))[kept_idle],
        ]
    )
    return Paths(
        path=np.concatenate([conv_group, null_group + n_conv_paths]).astype(np.int64),
        position=np.concatenate([real["pos"].to_numpy(), null_position]).astype(np.int64),
        channel=codes.astype(np.int64),
        channels=np.array(uniques.tolist(), dtype=object),
        converted=np.concatenate(
            [np.ones(n_conv_paths, dtype=bool), np.zeros(n_null_paths, dtype=bool)]
        ),
        value_cents=np.concatenate(
            [conv_value.astype(np.int64), np.zeros(n_null_paths, dtype=np.int64)]
        ),
    )
