"""Every write of attribution: runs, their partitions, results and the credit ledger.

A full run: count (Markov transition and Shapley coalition counts per partition, additive),
reduce (global effects from the summed counts), credit (each partition attributes its own
leads with the global effects and replaces its stored rows), finish. Partitions are
independent and idempotent, so a redelivered task redoes its partition, and one worker or ten
give the same numbers.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from attribution import engine, selectors
from attribution.models import (
    AttributionResult,
    AttributionRun,
    AttributionSummary,
    CreditLedger,
    LeadCredit,
    LeadMark,
    Milestone,
    RunPartition,
)
from campaigns.models import Channel
from campaigns.rules import rules_version
from clm import bulk, events, roles
from clm.events import RunFinished
from leads.models import Lead, Touchpoint

log = logging.getLogger(__name__)

LOCK_KEY = "attribution:full-run-lock"
LOCK_SECONDS = 3 * 3600
TWO_STAGE = {"markov", "shapley"}


def _rules_version() -> str:

    return rules_version()[:200]


@transaction.atomic
def run_create(
    *,
    models: Iterable[str] = engine.MODELS,
    params: dict[str, Any] | None = None,
    lookback_days: int = 90,
    data_cutoff: datetime | None = None,
    partitions: int | None = None,
    created_by: Any = None,
    start: bool = True,
    scope: str = AttributionRun.Scope.CONTACT,
    account_people: str = AttributionRun.People.BUYING_GROUP,
) -> AttributionRun:
    """Define a run and its lead-id partitions; start it after commit.

    `scope` "account" credits deals and opportunities over the touches of the people who buy
    (`account_people`: the deal's buying group, or everyone in its account).
    """

    chosen = list(dict.fromkeys(models))
    unknown = set(chosen) - set(engine.MODELS)
    if not chosen or unknown:
        raise ValueError(f"unknown model(s): {', '.join(sorted(unknown)) or '(none given)'}")
    for model in chosen:
        engine.model_params(model, (params or {}).get(model))  # raises on a bad parameter
    if lookback_days < 1 or lookback_days > 3650:
        raise ValueError("lookback_days must be between 1 and 3650")
    if scope not in AttributionRun.Scope.values:
        raise ValueError(f"scope is one of {', '.join(AttributionRun.Scope.values)}")
    if account_people not in AttributionRun.People.values:
        raise ValueError(f"account_people is one of {', '.join(AttributionRun.People.values)}")
    run = AttributionRun.objects.create(
        scope=scope,
        account_people=account_people,
        model_names=chosen,
        params=params or {},
        lookback_days=lookback_days,
        data_cutoff=data_cutoff or timezone.now(),
        rules_version=_rules_version(),
        created_by=created_by,
    )
    bounds = Lead.objects.aggregate(lo=Min("id"), hi=Max("id"))
    lo, hi = bounds["lo"] or 1, bounds["hi"] or 1
    # Enough partitions to use the workers, and small enough that refreshing one (after a deal
    # changes) stays quick on a large dataset.
    count = partitions or max(
        settings.CLM_ATTRIBUTION_PARTITIONS,
        math.ceil((hi - lo + 1) / settings.CLM_ATTRIBUTION_LEADS_PER_PARTITION),
    )
    size = max(1, math.ceil((hi - lo + 1) / max(1, count)))
    edges = list(range(lo, hi + 1, size)) or [lo]
    # Touches per partition (all kinds; an estimate for sizing the full run's tasks by work).
    per_block = dict(
        Touchpoint.objects.filter(lead_id__gte=lo)
        .annotate(block=(F("lead_id") - lo) / size)
        .values_list("block")
        .annotate(n=Count("id"))
        .order_by()
    )
    RunPartition.objects.bulk_create(
        [
            RunPartition(
                run=run,
                index=i,
                lead_id_from=0 if i == 0 else edge,
                # The last partition is open-ended so leads created later still belong to one.
                lead_id_to=edges[i + 1] if i + 1 < len(edges) else None,
                touches=per_block.get(i, 0),
            )
            for i, edge in enumerate(edges)
        ]
    )
    if start:
        from attribution.tasks import attribution_run

        transaction.on_commit(lambda: attribution_run.delay(run_id=run.pk))
    return run


def run_batches(*, run: AttributionRun) -> list[list[int]]:
    """The full run's tasks: adjacent partitions grouped into batches of about equal touches,
    at least CLM_ATTRIBUTION_PARTITIONS of them (one per worker process or more) and more when
    a batch would pass CLM_ATTRIBUTION_TOUCHES_PER_TASK, which bounds a task's memory."""
    parts = list(
        RunPartition.objects.filter(run=run).order_by("index").values_list("pk", "touches")
    )
    if not any(touches for _, touches in parts):
        parts = [(pk, 1) for pk, _ in parts]  # no touches yet: as many partitions each
    total = sum(touches for _, touches in parts)
    count = max(
        settings.CLM_ATTRIBUTION_PARTITIONS,
        math.ceil(total / settings.CLM_ATTRIBUTION_TOUCHES_PER_TASK),
    )
    count = min(count, len(parts))
    batches: list[list[int]] = [[] for _ in range(count)]
    seen = 0
    for pk, touches in parts:
        # The batch whose share of the touches this partition's middle falls in.
        index = min(count - 1, int((seen + touches / 2) * count / total))
        seen += touches
        batches[index].append(pk)
    return [b for b in batches if b]


class RunInProgress(Exception):
    """A full run is queued or running: another would only queue behind it and redo its work."""

    def __init__(self, run: AttributionRun) -> None:
        self.run = run
        super().__init__(f"Run #{run.pk} is {run.status}; start another when it has finished.")


@transaction.atomic
def run_start(
    *,
    created_by: Any = None,
    start: bool = True,
    scope: str = AttributionRun.Scope.CONTACT,
    **options: Any,
) -> AttributionRun:
    """Create and start a full run, refusing (RunInProgress) while one of the same scope is
    queued or running: the one rule of the dashboard button, the API, the command and the
    nightly beat. Runs of the two scopes may be queued together; they run one after the
    other (the full-run lock)."""
    if connection.vendor == "postgresql":
        # Two requests at the same moment must not both see "none running": take turns.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('clm.attribution.run_start'))")
    running = selectors.run_in_progress(scope=scope)
    if running is not None and running.created_at < timezone.now() - timedelta(
        seconds=LOCK_SECONDS
    ):
        # No run takes this long: its worker was lost. It must not block every later run.
        run_fail(
            run_id=running.pk,
            error=f"Abandoned: not finished {LOCK_SECONDS // 3600} hours after it was queued "
            "(its worker was probably lost); a new run replaced it.",
        )
        running = None
    if running is not None:
        raise RunInProgress(running)
    return run_create(created_by=created_by, start=start, scope=scope, **options)


def run_acquire_lock(run: AttributionRun) -> bool:
    """Take the lock that keeps two full runs from overlapping."""
    if cache.add(LOCK_KEY, run.pk, LOCK_SECONDS):
        return True
    return cache.get(LOCK_KEY) == run.pk


def run_release_lock(run: AttributionRun) -> None:
    """Release the full-run lock if this run holds it."""
    if cache.get(LOCK_KEY) == run.pk:
        cache.delete(LOCK_KEY)


def run_mark_running(*, run: AttributionRun) -> None:
    """Record that the run started."""
    AttributionRun.objects.filter(pk=run.pk).update(
        status=AttributionRun.Status.RUNNING, started_at=timezone.now()
    )


# The frames a batch's count stage read, kept for its credit stage when both run in the same
# process (always so in one process, often so on a worker), so a full run reads its journeys
# once. Keyed by partitions and cutoff; a refresh's later cutoff never matches. At most
# _FRAMES_KEPT_TASKS tasks' worth of touches are kept (the oldest go first): what a process
# holds stays bounded by the task size, not by the number of tasks (at 1,000,000 leads, 18
# tasks' frames kept at once had taken 3 GB); a batch no longer kept is read again.
_FRAMES: OrderedDict[tuple[tuple[int, ...], str], Frames] = OrderedDict()
_FRAMES_KEPT_TASKS = 2


@dataclass(frozen=True)
class Frames:
    """What a batch attributes: its touches, its conversions per milestone and, in account
    scope, the other buyers of its deals (`members`, None in contact scope). `touches` holds
    those buyers' touches too, wherever their partition; `own_touches` only the batch's."""

    touches: pd.DataFrame
    conversions: dict[str, pd.DataFrame]
    members: pd.DataFrame | None
    own: np.ndarray

    @property
    def own_touches(self) -> pd.DataFrame:
        return self.touches if self.members is None else self.touches.loc[self.own]

    def for_milestone(self, milestone: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """Touches and members of a milestone: lead creation stays per contact in both scopes.

        Another partition's person counts here only as a member at this milestone: a buyer of
        a deal that reached only the opportunity is not one of the won deals' paths (and makes
        no null path here: their own partition counts them).
        """
        if self.members is None or milestone == Milestone.LEAD:
            return self.own_touches, None
        members = self.members.loc[
            self.members["milestone"] == milestone, ["conversion_id", "lead_id"]
        ]
        theirs = self.touches["lead_id"].isin(members["lead_id"].unique()).to_numpy()
        return self.touches.loc[self.own | theirs], members


def _batch(partition_ids: Iterable[int], *, lock: bool = False) -> list[RunPartition]:
    """The partitions (of one run, adjacent lead-id ranges) ordered by lead id."""
    parts = RunPartition.objects.filter(pk__in=list(partition_ids)).select_related("run")
    if lock:
        parts = parts.select_for_update(of=("self",))
    found = list(parts.order_by("lead_id_from"))
    if not found or len({p.run_id for p in found}) != 1:
        raise ValueError("a batch holds partitions of one run")
    return found


def _in_range(lead: np.ndarray, lead_from: int, lead_to: int | None) -> np.ndarray:
    inside = lead >= lead_from
    if lead_to is not None:
        inside &= lead < lead_to
    return inside


def _frames(
    parts: list[RunPartition], cutoff: datetime, timings: dict[str, float], *, keep: bool = False
) -> Frames:
    """The batch's journey touches and conversions, read in one pass over its lead-id range
    (and, in account scope, its deals' other buyers and their touches)."""
    key = (tuple(p.pk for p in parts), cutoff.isoformat())
    cached = _FRAMES.pop(key, None)
    if cached is not None:
        return cached
    started = time.perf_counter()
    run = parts[0].run
    lead_from, lead_to = parts[0].lead_id_from, parts[-1].lead_id_to
    conversions = selectors.journey_conversions(lead_from=lead_from, lead_to=lead_to, cutoff=cutoff)
    members = None
    others: list[int] = []
    if run.is_account_scope:
        members = selectors.journey_members(
            lead_from=lead_from, lead_to=lead_to, cutoff=cutoff, people=run.account_people
        )
        deals = np.concatenate(
            [conversions[m]["conversion_id"].to_numpy(np.int64) for m in ("opportunity", "deal")]
        )
        theirs = members.loc[members["conversion_id"].isin(deals), "lead_id"].to_numpy(np.int64)
        others = np.unique(theirs[~_in_range(theirs, lead_from, lead_to)]).tolist()
    touches = selectors.journey_touches(
        lead_from=lead_from, lead_to=lead_to, cutoff=cutoff, also_leads=others
    )
    own = _in_range(touches["lead_id"].to_numpy(np.int64), lead_from, lead_to)
    frames = Frames(touches=touches, conversions=conversions, members=members, own=own)
    _tick(timings, "read", started)
    if keep:
        _keep_frames(key, frames)
    return frames


def _keep_frames(key: tuple[tuple[int, ...], str], frames: Frames) -> None:
    """Keep `frames` for the credit stage, dropping the oldest kept while the touches held pass
    _FRAMES_KEPT_TASKS tasks' worth (CLM_ATTRIBUTION_TOUCHES_PER_TASK each)."""
    _FRAMES[key] = frames
    limit = _FRAMES_KEPT_TASKS * settings.CLM_ATTRIBUTION_TOUCHES_PER_TASK
    while _FRAMES and sum(len(kept.touches) for kept in _FRAMES.values()) > limit:
        _FRAMES.popitem(last=False)


def _tick(timings: dict[str, float], name: str, started: float) -> None:
    timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {name: round(seconds, 4) for name, seconds in timings.items()}


def partition_count(*, partition_id: int) -> None:
    """Stage 1 of one partition (see batch_count)."""
    batch_count(partition_ids=[partition_id])


def batch_count(*, partition_ids: list[int]) -> None:
    """Stage 1: additive Markov and Shapley counts of adjacent partitions, per milestone, read
    and counted in one pass; stored on the first partition (counts add, so any holder will do)."""
    parts = _batch(partition_ids)
    run = parts[0].run
    timings: dict[str, float] = {}
    frames = _frames(parts, run.data_cutoff, timings, keep=True)
    order = (
        int(engine.model_params("markov", run.params.get("markov"))["order"])
        if "markov" in run.model_names
        else None
    )
    counts: dict[str, Any] = {}
    for milestone, conv in frames.conversions.items():
        engine_timings: dict[str, float] = {}
        touches, members = frames.for_milestone(milestone)
        found = engine.path_counts(
            touches,
            conv,
            lookback_days=run.lookback_days,
            markov_order=order,
            shapley="shapley" in run.model_names,
            timings=engine_timings,
            members=members,
        )
        counts[milestone] = {
            model: frame.to_dict(orient="records") for model, frame in found.items()
        }
        for name, seconds in engine_timings.items():
            timings[f"count {milestone} {name}"] = seconds
    with transaction.atomic():
        RunPartition.objects.filter(pk__in=[p.pk for p in parts[1:]]).update(
            counts={}, status=RunPartition.Status.COUNTED
        )
        RunPartition.objects.filter(pk=parts[0].pk).update(
            counts=counts, status=RunPartition.Status.COUNTED, timings=_rounded(timings)
        )


def run_reduce_effects(*, run_id: int) -> dict[str, Any]:
    """Stage 2: global effects from the summed partition counts, stored on the run."""
    started = time.perf_counter()
    run = AttributionRun.objects.get(pk=run_id)
    parts = list(RunPartition.objects.filter(run=run).values_list("counts", flat=True))
    effects: dict[str, Any] = {}
    warnings = []
    for milestone in Milestone.values:
        entry: dict[str, Any] = {}
        if "markov" in run.model_names:
            frames = [pd.DataFrame(p.get(milestone, {}).get("markov", [])) for p in parts]
            frames = [f for f in frames if not f.empty]
            if frames:
                counts = engine.combine_transition_counts(frames)
                entry["markov"] = engine.markov_removal_effects(counts).to_dict()
        if "shapley" in run.model_names:
            frames = [pd.DataFrame(p.get(milestone, {}).get("shapley", [])) for p in parts]
            frames = [f for f in frames if not f.empty]
            if frames:
                counts = engine.combine_coalition_counts(frames)
                params = engine.model_params("shapley", run.params.get("shapley"))
                try:
                    entry["shapley"] = engine.shapley_values(counts, **params).to_dict()
                except ValueError as exc:
                    warnings.append(f"shapley/{milestone}: {exc}")
        effects[milestone] = entry
    timings = {**run.timings, "reduce_seconds": round(time.perf_counter() - started, 3)}
    if warnings:
        timings["warnings"] = warnings
    AttributionRun.objects.filter(pk=run.pk).update(effects=effects, timings=timings)
    return effects


def _channel_ids() -> dict[str, int]:

    return dict(Channel.objects.values_list("name", "id"))


def partition_credit(*, partition_id: int, cutoff: datetime | None = None) -> int:
    """Stage 3 of one partition (see batch_credit)."""
    return batch_credit(partition_ids=[partition_id], cutoff=cutoff)


def _credit(
    run: AttributionRun,
    frames: Frames,
    milestone: str,
    conv: pd.DataFrame,
    engine_timings: dict[str, float] | None = None,
    channel_ids: dict[str, int] | None = None,
) -> pd.DataFrame | None:
    """One milestone's conversions credited under the run's models, parameters and global
    Markov/Shapley effects, each credit with its conversion's `day` and its `channel_id`
    (None when no model applies: a two-stage model without effects)."""
    touches, members = frames.for_milestone(milestone)
    effects = run.effects.get(milestone, {})
    models = [m for m in run.model_names if m not in TWO_STAGE or m in effects]
    if not models:
        return None
    credits = engine.attribute_all(
        touches,
        conv,
        models,
        lookback_days=run.lookback_days,
        params=run.params,
        markov_effects=pd.Series(effects["markov"]) if "markov" in effects else None,
        shapley_values=pd.Series(effects["shapley"]) if "shapley" in effects else None,
        timings=engine_timings,
        members=members,
    )
    if credits.empty:
        return credits
    # Each credit on its conversion's day, under its channel's id.
    day = conv.set_index("conversion_id")["ts"].dt.date
    credits["day"] = credits["conversion_id"].map(day)
    credits["channel_id"] = credits["channel"].map(channel_ids or _channel_ids())
    if credits["channel_id"].isna().any():
        unknown = sorted(set(credits.loc[credits["channel_id"].isna(), "channel"]))
        raise ValueError(f"credits name channels that do not exist: {unknown}")
    return credits


def batch_credit(*, partition_ids: list[int], cutoff: datetime | None = None) -> int:
    """Stage 3: attribute the conversions of adjacent partitions in one pass and replace their
    stored rows in one write (each row keeps the partition of its lead).

    Returns the number of result rows written. `cutoff` later than the run's (an incremental
    refresh) brings in what happened since.
    """
    started = time.perf_counter()
    parts = _batch(partition_ids)
    run = parts[0].run
    timings: dict[str, float] = {} if cutoff is not None else dict(parts[0].timings)
    frames = _frames(parts, cutoff or run.data_cutoff, timings)
    channel_ids = _channel_ids()
    starts = np.array([p.lead_id_from for p in parts], dtype=np.int64)
    part_ids = np.array([p.pk for p in parts], dtype=np.int64)
    result_frames: list[pd.DataFrame] = []
    ledger_frames: list[pd.DataFrame] = []
    lead_frames: list[pd.DataFrame] = []
    for milestone, conv in frames.conversions.items():
        if conv.empty:
            continue
        engine_timings: dict[str, float] = {}
        credits = _credit(run, frames, milestone, conv, engine_timings, channel_ids)
        if credits is None:
            continue
        for name, seconds in engine_timings.items():
            timings[f"credit {milestone} {name}"] = seconds
        if credits.empty:
            continue
        grouping = time.perf_counter()
        lead = credits["lead_id"].to_numpy(np.int64)
        credits["partition_id"] = part_ids[np.searchsorted(starts, lead, side="right") - 1]
        grouped = (
            credits.groupby(
                ["partition_id", "model", "channel_id", "campaign_id", "day"], dropna=False
            )
            .agg(conversions=("share", "sum"), value_cents=("value_cents", "sum"))
            .reset_index()
        )
        grouped["milestone"] = milestone
        result_frames.append(grouped)
        if milestone != Milestone.LEAD:
            lead_frames.append(_lead_credit_frame(credits, milestone))
        if milestone == Milestone.DEAL:
            ledger_frames.append(_ledger_frame(credits))
        _tick(timings, "group results and ledger", grouping)
    grouping = time.perf_counter()
    results = _stamp(result_frames, run)
    ledger = _stamp(ledger_frames, run)
    lead_credits = _stamp(lead_frames, run)
    marks = _lead_marks(frames.own_touches, frames.conversions[Milestone.LEAD]).assign(
        run_id=run.pk
    )
    ids = [p.pk for p in parts]
    # A full run's share of the summary, summed here from the rows in hand (run_finish adds
    # the batches' up); a refresh of a finished run appends its difference instead.
    partial = _summary_partial(results, ids) if cutoff is None else {}
    _tick(timings, "group results and ledger", grouping)
    writing = time.perf_counter()
    with transaction.atomic():
        # One writer per partition at a time: a refresh's summary difference is taken against
        # the rows it replaces, so a concurrent refresh of the same partition must wait.
        locked = _batch(ids, lock=True)
        finished = locked[0].run.status == AttributionRun.Status.DONE
        old = _partition_rows(ids) if finished else None
        # Replace, not add: a redelivered or refreshed partition leaves no double counts.
        AttributionResult.objects.filter(partition_id__in=ids).delete()
        CreditLedger.objects.filter(partition_id__in=ids).delete()
        lead_writing = time.perf_counter()
        _lead_credits_of(run, parts[0].lead_id_from, parts[-1].lead_id_to).delete()
        _lead_credits_of(run, parts[0].lead_id_from, parts[-1].lead_id_to, LeadMark).delete()
        _tick(timings, "write of which lead credits", lead_writing)
        bulk.insert_frame(AttributionResult, results, RESULT_COLUMNS)
        lead_writing = time.perf_counter()
        bulk.insert_frame(LeadCredit, lead_credits, LEAD_CREDIT_COLUMNS)
        bulk.insert_frame(LeadMark, marks, ["run_id", "lead_id", "mark"])
        _tick(timings, "write of which lead credits", lead_writing)
        if old is not None:
            difference = summary_difference(old, results)
            bulk.insert_frame(AttributionSummary, difference, SUMMARY_COLUMNS)
            bulk.insert_frame(
                AttributionSummary, by_month(difference), [*SUMMARY_COLUMNS, "monthly"]
            )
        bulk.insert_frame(CreditLedger, ledger, LEDGER_COLUMNS)
        _tick(timings, "write", writing)
        touches_per = np.bincount(
            np.searchsorted(starts, frames.own_touches["lead_id"].to_numpy(np.int64), side="right")
            - 1,
            minlength=len(parts),
        )
        conversions_per = np.zeros(len(parts), dtype=np.int64)
        for conv in frames.conversions.values():
            lead = conv["lead_id"].to_numpy(np.int64)
            conversions_per += np.bincount(
                np.searchsorted(starts, lead, side="right") - 1, minlength=len(parts)
            )
        now = timezone.now()
        for i, part in enumerate(parts):
            RunPartition.objects.filter(pk=part.pk).update(
                status=RunPartition.Status.DONE,
                touches=int(touches_per[i]),
                conversions=int(conversions_per[i]),
                refreshed_at=now,
                lead_credits=True,
                seconds=time.perf_counter() - started if i == 0 else 0.0,
                timings=_rounded(timings) if i == 0 else {},
                **({} if finished else {"summary": partial if i == 0 else {}}),
            )
    return len(results)


RESULT_COLUMNS = [
    "run_id", "partition_id", "model", "milestone", "channel_id", "campaign_id", "day",
    "conversions", "value_cents",
]  # fmt: skip
SUMMARY_COLUMNS = [c for c in RESULT_COLUMNS if c != "partition_id"]
SUMMARY_KEY = ["run_id", "model", "milestone", "channel_id", "campaign_id", "day"]


def _partition_rows(partition_ids: list[int]) -> pd.DataFrame:
    """The partitions' stored result rows, as a frame with RESULT_COLUMNS."""
    rows = AttributionResult.objects.filter(partition_id__in=partition_ids).values_list(
        *RESULT_COLUMNS
    )
    return pd.DataFrame.from_records(list(rows), columns=RESULT_COLUMNS)


def summary_difference(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Summary rows that turn the sums over `old` result rows into the sums over `new` ones.

    difference = sum(new) - sum(old) per key; keys whose value and conversions did not move
    give no row. Value is in integer cents, so the summary's money stays exact.
    """
    frames = [
        frame[SUMMARY_COLUMNS].assign(sign=sign)
        for frame, sign in ((old, -1), (new, 1))
        if frame is not None and len(frame)
    ]
    if not frames:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    both = pd.concat(frames, ignore_index=True)
    both["conversions"] = both["conversions"].astype(float) * both["sign"]
    both["value_cents"] = both["value_cents"].astype("int64") * both["sign"]
    for column in ("channel_id", "campaign_id"):
        both[column] = both[column].astype("Int64")
    both["day"] = pd.to_datetime(both["day"]).dt.date
    diff = (
        both.groupby(SUMMARY_KEY, dropna=False)
        .agg(conversions=("conversions", "sum"), value_cents=("value_cents", "sum"))
        .reset_index()
    )
    moved = (diff["value_cents"] != 0) | (diff["conversions"].abs() > 1e-9)
    return diff.loc[moved, SUMMARY_COLUMNS].reset_index(drop=True)


def by_month(difference: pd.DataFrame) -> pd.DataFrame:
    """Summary difference rows summed per month, as month rows (day = the 1st)."""
    if difference is None or len(difference) == 0:
        return pd.DataFrame(columns=[*SUMMARY_COLUMNS, "monthly"])
    frame = difference.copy()
    frame["day"] = pd.to_datetime(frame["day"]).dt.to_period("M").dt.start_time.dt.date
    months = (
        frame.groupby(SUMMARY_KEY, dropna=False)
        .agg(conversions=("conversions", "sum"), value_cents=("value_cents", "sum"))
        .reset_index()
    )
    months["monthly"] = True
    return months[[*SUMMARY_COLUMNS, "monthly"]]


SUMMARY_PARTIAL_KEY = [c for c in SUMMARY_KEY if c != "run_id"]
# Partial-sum rows read before they are added to the run's running total (summary_from_partials).
SUMMARY_ROWS_AT_ONCE = 1_000_000


def _summary_partial(results: pd.DataFrame, partition_ids: list[int]) -> dict[str, Any]:
    """A batch's result rows summed per summary key, as JSON columns (`of`: its partitions).

    JSON keeps the figures exact: integer cents, and floats written as their shortest
    round-trip repr."""
    if results is None or len(results) == 0:
        return {"of": partition_ids, "rows": {}}
    grouped = (
        results.groupby(SUMMARY_PARTIAL_KEY, dropna=False, sort=False)
        .agg(conversions=("conversions", "sum"), value_cents=("value_cents", "sum"))
        .reset_index()
    )
    campaign = grouped["campaign_id"].astype("Int64")
    return {
        "of": partition_ids,
        "rows": {
            "model": grouped["model"].astype(str).tolist(),
            "milestone": grouped["milestone"].astype(str).tolist(),
            "channel_id": grouped["channel_id"].astype("int64").tolist(),
            "campaign_id": [None if v is pd.NA else int(v) for v in campaign.array],
            "day": [d.isoformat() for d in grouped["day"]],
            "conversions": grouped["conversions"].astype(float).tolist(),
            "value_cents": grouped["value_cents"].astype("int64").tolist(),
        },
    }


def summary_from_partials(*, run: AttributionRun) -> pd.DataFrame | None:
    """The run's summary day rows (SUMMARY_COLUMNS) summed from its batches' partial sums, or
    None when some partition's sums are missing (credited before they were kept).

    The batches' sums are added to a running total a few at a time (up to
    SUMMARY_ROWS_AT_ONCE rows waiting): each batch's rows span every day of the run, so holding
    all of them at once would take memory that grows with the number of batches (at 1,000,000
    leads, gigabytes), and adding them one by one re-groups the whole total once a batch.
    """
    ids = list(RunPartition.objects.filter(run=run).values_list("pk", flat=True))
    with_sums = RunPartition.objects.filter(run=run).exclude(summary={})
    covered: set[int] = set()
    total: pd.DataFrame | None = None
    waiting: list[pd.DataFrame] = []

    def add_waiting() -> None:
        nonlocal total
        frames = waiting if total is None else [total, *waiting]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        waiting.clear()
        total = (
            frame.groupby(SUMMARY_PARTIAL_KEY, dropna=False, sort=False)
            .agg(conversions=("conversions", "sum"), value_cents=("value_cents", "sum"))
            .reset_index()
        )

    for pk in with_sums.values_list("pk", flat=True):
        partial = RunPartition.objects.filter(pk=pk).values_list("summary", flat=True).first()
        if not partial:
            continue
        covered.update(partial.get("of", []))
        if not partial.get("rows"):
            continue
        frame = pd.DataFrame(partial["rows"])
        del partial
        frame["campaign_id"] = frame["campaign_id"].astype("Int64")
        waiting.append(frame)
        if sum(len(w) for w in waiting) >= SUMMARY_ROWS_AT_ONCE:
            add_waiting()
    if waiting:
        add_waiting()
    if covered != set(ids):
        return None
    if total is None:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    days = total.sort_values(SUMMARY_PARTIAL_KEY, kind="stable").reset_index(drop=True)
    days["run_id"] = run.pk
    days["day"] = pd.to_datetime(days["day"]).dt.date
    return days[SUMMARY_COLUMNS]


def summary_write(*, run: AttributionRun) -> int:
    """Replace the run's summary with its results summed over partitions (one statement)."""
    table, source = AttributionSummary._meta.db_table, AttributionResult._meta.db_table
    key = ", ".join(SUMMARY_KEY)
    with transaction.atomic():
        AttributionSummary.objects.filter(run=run).delete()
        # Fixed table and column names only (from the models); the run id is a parameter.
        totals = f"SELECT {key}, SUM(conversions), SUM(value_cents) FROM {source}"  # noqa: S608  # nosec B608
        sql = f"INSERT INTO {table} ({key}, conversions, value_cents) {totals} WHERE run_id = %s GROUP BY {key}"  # noqa: E501  # nosec B608
        with connection.cursor() as cursor:
            cursor.execute(sql, [run.pk])
            written = cursor.rowcount
            # The month rows, summed from the day rows just written (Django's SQL for the
            # month, so both databases truncate dates their own way).
            months = (
                AttributionSummary.objects.filter(run=run, monthly=False)
                .values("model", "milestone", "channel_id", "campaign_id", month=TruncMonth("day"))
                .annotate(c=Sum("conversions"), v=Sum("value_cents"))
                .order_by()
            )
            select, params = months.query.sql_with_params()
            columns = "model, milestone, channel_id, campaign_id, day, conversions, value_cents"
            cursor.execute(
                f"INSERT INTO {table} ({columns}, run_id, monthly) SELECT m.*, %s, %s FROM ({select}) m",  # noqa: E501, S608  # nosec B608
                [run.pk, True, *params],
            )
    # The dashboards read these at once: without fresh statistics the planner assumes the
    # tables are as small as before the run and sorts on disk.
    bulk.analyze([AttributionSummary, CreditLedger])
    return written


LEDGER_COLUMNS = [
    "run_id", "partition_id", "model", "deal_id", "lead_id", "touch_lead_id", "touchpoint_id",
    "channel_id", "campaign_id", "touch_at", "position", "journey_length", "share", "value_cents",
]  # fmt: skip


def _stamp(frames: list[pd.DataFrame], run: AttributionRun) -> pd.DataFrame:
    """One frame of rows for this run, with integer ids and NULLs where none."""
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    frame["run_id"] = run.pk
    for column in ("channel_id", "campaign_id", "touchpoint_id", "touch_lead_id"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


def _ledger_frame(credits: pd.DataFrame) -> pd.DataFrame:
    """Per deal and model: each credited touch, its place in the journey, share and cents."""
    frame = credits.sort_values(["model", "conversion_id", "ts", "touch_id"]).copy()
    keys = [frame["model"], frame["conversion_id"]]
    frame["position"] = frame.groupby(keys).cumcount() + 1
    frame["journey_length"] = frame.groupby(keys)["touch_id"].transform("size")
    frame["deal_id"] = frame["conversion_id"]
    frame["touchpoint_id"] = frame["touch_id"].where(frame["touch_id"] >= 0).astype("Int64")
    frame["touch_lead_id"] = frame["touch_lead_id"].where(frame["touch_id"] >= 0).astype("Int64")
    frame["touch_at"] = frame["ts"]
    return frame


LEAD_CREDIT_COLUMNS = [
    "run_id", "lead_id", "conversion_id", "model", "milestone", "channel_id", "campaign_id",
    "day", "conversions", "value_cents",
]  # fmt: skip
LEAD_CREDIT_KEY = ["lead_id", "conversion_id", "model", "channel_id", "campaign_id", "day"]


def _lead_credit_frame(credits: pd.DataFrame, milestone: str) -> pd.DataFrame:
    """Per conversion and model: the credit of each channel and campaign (LeadCredit rows)."""
    grouped = (
        credits.groupby(LEAD_CREDIT_KEY, dropna=False)
        .agg(conversions=("share", "sum"), value_cents=("value_cents", "sum"))
        .reset_index()
    )
    grouped["milestone"] = milestone
    return grouped


def _lead_credits_of(
    run: AttributionRun, lead_from: int, lead_to: int | None, model: Any = LeadCredit
) -> Any:
    """The run's LeadCredit (or LeadMark) rows of the leads in [lead_from, lead_to)."""
    rows = model.objects.filter(run=run, lead_id__gte=lead_from)
    return rows if lead_to is None else rows.filter(lead_id__lt=lead_to)


def run_finish(*, run_id: int) -> AttributionRun:
    """Mark the run done, record timings, release the lock, tell open dashboards."""
    run = AttributionRun.objects.get(pk=run_id)
    # The tasks' partial sums and counts are read once, below, where they are needed.
    parts = RunPartition.objects.filter(run=run).defer("summary", "counts")
    started = run.started_at or run.created_at
    finished = timezone.now()
    timings = {
        **run.timings,
        "seconds": round((finished - started).total_seconds(), 3),
        "partitions": parts.count(),
        "partition_seconds": round(sum(p.seconds for p in parts), 3),
        "steps": _summed_steps(parts),
    }
    summary_started = time.perf_counter()
    steps: dict[str, float] = {}
    days = summary_from_partials(run=run)
    _tick(steps, "sum", summary_started)
    if days is None:
        summary_write(run=run)
    else:
        writing = time.perf_counter()
        with transaction.atomic():
            AttributionSummary.objects.filter(run=run).delete()
            bulk.insert_frame(AttributionSummary, days, SUMMARY_COLUMNS)
            bulk.insert_frame(AttributionSummary, by_month(days), [*SUMMARY_COLUMNS, "monthly"])
            RunPartition.objects.filter(run=run).update(summary={})
        _tick(steps, "write", writing)
        analyzing = time.perf_counter()
        bulk.analyze([AttributionSummary, CreditLedger])
        _tick(steps, "analyze", analyzing)
    timings["summary_seconds"] = round(time.perf_counter() - summary_started, 3)
    timings["summary_steps"] = _rounded(steps)
    AttributionRun.objects.filter(pk=run.pk).update(
        status=AttributionRun.Status.DONE, finished_at=finished, timings=timings
    )
    run.refresh_from_db()
    run_release_lock(run)
    cache.set("attribution:latest-run", run.pk, None)
    events.announce(RunFinished(run_id=run.pk, succeeded=True))
    return run


def _summed_steps(parts: Iterable[RunPartition]) -> dict[str, float]:
    """Seconds per step summed over the partitions (CPU-side time, whatever ran in parallel)."""
    steps: dict[str, float] = {}
    for part in parts:
        for name, seconds in (part.timings or {}).items():
            steps[name] = steps.get(name, 0.0) + float(seconds)
    return {name: round(seconds, 3) for name, seconds in steps.items()}


def run_fail(*, run_id: int, error: str) -> None:
    """Mark the run failed with the error and release the lock."""
    run = AttributionRun.objects.filter(pk=run_id).first()
    if run is None:
        return
    AttributionRun.objects.filter(pk=run_id).update(
        status=AttributionRun.Status.FAILED, error=error[:5000], finished_at=timezone.now()
    )
    run_release_lock(run)
    run.refresh_from_db()
    events.announce(RunFinished(run_id=run.pk, succeeded=False))


def refresh_lead(*, lead_id: int) -> int | None:
    """Re-credit this lead's conversions in the newest finished run of each scope
    (incremental): the lead is a deal's lead, whose partition holds the deal in both scopes.

    Reads and writes only the lead's rows (lead_credit_refresh) where the run stored per-lead
    credits for its partition; a run made before those existed recomputes the partition
    (which stores them, so its next refresh is per lead). Markov and Shapley reuse the run's
    global effects; the nightly full run renews them. Returns the partition id refreshed in
    the contact-scope run (None when there is no finished run of that scope yet).
    """
    refreshed: dict[str, int] = {}
    for scope in AttributionRun.Scope.values:
        run = selectors.latest_run(scope=scope)
        if run is None:
            continue
        part = (
            RunPartition.objects.filter(run=run, lead_id_from__lte=lead_id)
            .order_by("-lead_id_from")
            .first()
        )
        if part is None:
            continue
        if part.lead_credits:
            lead_credit_refresh(run=run, part=part, lead_id=lead_id, cutoff=timezone.now())
        else:
            partition_credit(partition_id=part.pk, cutoff=timezone.now())
        refreshed[scope] = part.pk
        if scope == AttributionRun.Scope.CONTACT:
            cache.set("attribution:latest-run", run.pk, None)
    if refreshed:
        cache.set("attribution:refreshed-at", timezone.now().isoformat(), None)
    return refreshed.get(AttributionRun.Scope.CONTACT)


def _lead_frames(run: AttributionRun, lead_id: int, cutoff: datetime) -> Frames:
    """One lead's conversions and the touches their journeys use (in account scope its deals'
    other buyers' too), read as _frames reads a partition's."""
    conversions = selectors.journey_conversions(
        lead_from=lead_id, lead_to=lead_id + 1, cutoff=cutoff
    )
    members = None
    others: list[int] = []
    if run.is_account_scope:
        members = selectors.journey_members(
            lead_from=lead_id, lead_to=lead_id + 1, cutoff=cutoff, people=run.account_people
        )
        deals = np.concatenate(
            [conversions[m]["conversion_id"].to_numpy(np.int64) for m in ("opportunity", "deal")]
        )
        theirs = members.loc[members["conversion_id"].isin(deals), "lead_id"].to_numpy(np.int64)
        others = np.unique(theirs[theirs != lead_id]).tolist()
    touches = selectors.journey_touches(
        lead_from=lead_id, lead_to=lead_id + 1, cutoff=cutoff, also_leads=others
    )
    own = touches["lead_id"].to_numpy(np.int64) == lead_id
    return Frames(touches=touches, conversions=conversions, members=members, own=own)


def _lead_credit_rows(
    run: AttributionRun, frames: Frames, timings: dict[str, float]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The LeadCredit and ledger rows of the conversions in `frames`, credited as batch_credit
    credits them (the run's models, parameters and global Markov/Shapley effects)."""
    channel_ids = _channel_ids()
    lead_frames: list[pd.DataFrame] = []
    ledger_frames: list[pd.DataFrame] = []
    for milestone, conv in frames.conversions.items():
        if conv.empty or milestone == Milestone.LEAD:  # a LeadMark stands for it
            continue
        crediting = time.perf_counter()
        credits = _credit(run, frames, milestone, conv, channel_ids=channel_ids)
        if credits is None:
            continue
        _tick(timings, "credit", crediting)
        if credits.empty:
            continue
        lead_frames.append(_lead_credit_frame(credits, milestone))
        if milestone == Milestone.DEAL:
            ledger_frames.append(_ledger_frame(credits))
    return _stamp(lead_frames, run), _stamp(ledger_frames, run)


MARKED = ["touch_id", "ts", "channel", "campaign_id", "is_lead_creation"]


def _lead_marks(touches: pd.DataFrame, leads: pd.DataFrame) -> pd.DataFrame:
    """Per converting lead (lead-created conversions `leads`), a 64-bit fingerprint of its
    creation time and its own touches up to it (a superset of its lead-created journey: any
    change that could move that credit changes the mark, barring a hash collision)."""
    if leads.empty:
        return pd.DataFrame({"lead_id": pd.Series(dtype="int64"), "mark": []})
    created = leads[["lead_id", "ts"]].rename(columns={"ts": "created"})
    joined = touches.merge(created, on="lead_id")
    joined = joined.loc[joined["ts"] <= joined["created"]]
    mark = pd.util.hash_pandas_object(created, index=False).to_numpy(np.uint64).copy()
    ids = created["lead_id"].to_numpy(np.int64)
    if len(joined):
        # Summed (wrapping uint64, order-free) per lead: sorted, then added per run of a lead.
        hashed = pd.util.hash_pandas_object(joined[MARKED], index=False).to_numpy(np.uint64)
        lead = joined["lead_id"].to_numpy(np.int64)
        order = np.argsort(lead, kind="stable")
        found, starts = np.unique(lead[order], return_index=True)
        sums = np.add.reduceat(hashed[order], starts)
        order_ids = np.argsort(ids, kind="stable")
        at = order_ids[np.searchsorted(ids[order_ids], found)]
        mark[at] += sums
    return pd.DataFrame({"lead_id": ids, "mark": mark.view(np.int64)})


LEDGER_COMPARED = [c for c in LEDGER_COLUMNS if c not in ("run_id", "partition_id")]


def _plain(value: Any) -> Any:
    """A stored or freshly credited value as a plain comparable one: None for NULL/NA, times
    as UTC nanoseconds, days as ISO dates, numpy scalars as Python numbers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, datetime):  # pandas Timestamps too
        return pd.Timestamp(value).value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):  # a NULL read into a float column
        return None
    return value


def _canonical(frame: pd.DataFrame | None, columns: list[str]) -> list[tuple[Any, ...]]:
    """Rows as sorted tuples of plain values, so stored rows and freshly credited ones compare
    exactly (a lead has tens of rows: plain Python beats pandas' per-column overhead here)."""
    if frame is None or len(frame) == 0:
        return []
    rows = [
        tuple(_plain(v) for v in row)
        for row in frame[columns].astype(object).itertuples(index=False, name=None)
    ]
    return sorted(rows, key=lambda row: tuple((v is None, v) for v in row))


def _stored(queryset: Any, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(queryset.values_list(*columns)), columns=columns)


def lead_credit_refresh(
    *, run: AttributionRun, part: RunPartition, lead_id: int, cutoff: datetime
) -> dict[str, Any]:
    """Re-credit one lead's conversions in a finished run, reading and writing only its rows.

    Its lead-created credit stays as stored when its LeadMark is unchanged (else the whole
    partition is recomputed, exactly). Its deals' new credits (opportunity and deal, the
    run's effects) are compared with its stored LeadCredit rows: the difference is appended
    to the partition's results and to the summary (day and month rows), and the lead's
    LeadCredit and ledger rows are replaced. Nothing is written when nothing moved. The result
    equals recomputing the partition, since with fixed effects each conversion's credit
    depends on its own journey alone. Returns the timings and counts of rows written.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    with transaction.atomic():
        # One writer per partition at a time, as batch_credit (the difference is taken
        # against the rows this replaces).
        RunPartition.objects.select_for_update().filter(pk=part.pk).first()
        reading = time.perf_counter()
        frames = _lead_frames(run, lead_id, cutoff)
        marks = _lead_marks(frames.own_touches, frames.conversions[Milestone.LEAD])
        stored = list(LeadMark.objects.filter(run=run, lead_id=lead_id).values_list("mark"))
        _tick(timings, "read", reading)
        if sorted(marks["mark"].tolist()) != sorted(m for (m,) in stored):
            # What its lead-created credit depends on moved (rare: not a deal's doing), and
            # its old share of the partition is not kept: recompute the partition.
            batch_credit(partition_ids=[part.pk], cutoff=cutoff)
            return {"partition": part.pk, "timings": _rounded(timings), "seconds": _since(started)}
        new, ledger = _lead_credit_rows(run, frames, timings)
        reading = time.perf_counter()
        old = _stored(LeadCredit.objects.filter(run=run, lead_id=lead_id), LEAD_CREDIT_COLUMNS)
        deals = set(old.loc[old["milestone"] == Milestone.DEAL, "conversion_id"].tolist())
        if len(ledger):
            deals |= set(ledger["deal_id"].astype("int64").tolist())
        old_ledger = CreditLedger.objects.filter(
            run=run, model__in=run.model_names, deal_id__in=sorted(deals), lead_id=lead_id
        )
        old_ledger_rows = _stored(old_ledger, LEDGER_COMPARED) if deals else None
        _tick(timings, "read old", reading)
        written = {"lead_credits": 0, "ledger": 0, "results": 0, "summary": 0}
        same = _canonical(old, LEAD_CREDIT_COLUMNS) == _canonical(new, LEAD_CREDIT_COLUMNS)
        if same and _canonical(old_ledger_rows, LEDGER_COMPARED) == _canonical(
            ledger, LEDGER_COMPARED
        ):
            return {**written, "timings": _rounded(timings), "seconds": _since(started)}
        writing = time.perf_counter()
        difference = summary_difference(old, new)
        LeadCredit.objects.filter(run=run, lead_id=lead_id).delete()
        old_ledger.delete()
        written["lead_credits"] = bulk.insert_frame(LeadCredit, new, LEAD_CREDIT_COLUMNS)
        if len(ledger):
            ledger["partition_id"] = part.pk
        written["ledger"] = bulk.insert_frame(CreditLedger, ledger, LEDGER_COLUMNS)
        written["results"] = bulk.insert_frame(
            AttributionResult, difference.assign(partition_id=part.pk), RESULT_COLUMNS
        )
        written["summary"] = bulk.insert_frame(
            AttributionSummary, difference, SUMMARY_COLUMNS
        ) + bulk.insert_frame(
            AttributionSummary, by_month(difference), [*SUMMARY_COLUMNS, "monthly"]
        )
        RunPartition.objects.filter(pk=part.pk).update(refreshed_at=timezone.now())
        _tick(timings, "write", writing)
    return {**written, "timings": _rounded(timings), "seconds": _since(started)}


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 4)


SHARE_SALT = "clm.dashboard-share"


def share_link_create(
    *, label: str, query: str, days: int, created_by: Any, dashboard: str = "marketing"
) -> tuple[Any, str]:
    """A share link valid for `days` days; returns it with its signed token (shown once)."""
    import secrets

    from django.core import signing

    from attribution.models import ShareLink

    if not 1 <= days <= 365:
        raise ValueError("a share link lasts 1 to 365 days")
    link = ShareLink.objects.create(
        dashboard=dashboard,
        label=label.strip()[:120] or "Shared dashboard",
        query=query.lstrip("?")[:500],
        nonce=secrets.token_urlsafe(12),
        expires_at=timezone.now() + timedelta(days=days),
        created_by=created_by,
    )
    token = signing.dumps({"id": link.pk, "n": link.nonce}, salt=SHARE_SALT, compress=True)
    return link, token


def share_link_revoke(*, link: Any) -> None:
    """Stop a share link from working, at once."""
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])


# Who may see each shareable dashboard: a link shows it through its maker's eyes, so it works
# only while its maker is active and still holds one of these roles.
SHARE_VIEWERS = {"marketing": (roles.ADMIN, roles.MARKETER, roles.SALES_MANAGER)}


class ShareLinkGone(Exception):
    """The link is genuine, but whoever made it may no longer see what it shows."""


def share_link_resolve(token: str) -> Any:
    """The live ShareLink a token stands for, or None (bad signature, revoked, expired);
    ShareLinkGone when its maker is deactivated, deleted or lost the role that sees the page."""
    from django.core import signing

    from attribution.models import ShareLink

    try:
        data = signing.loads(token, salt=SHARE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    link = (
        ShareLink.objects.select_related("created_by")
        .filter(pk=data.get("id"), nonce=data.get("n"))
        .first()
    )
    if link is None or link.revoked_at is not None or link.expires_at <= timezone.now():
        return None
    maker = link.created_by
    allowed = SHARE_VIEWERS.get(link.dashboard, ())
    if maker is None or not maker.is_active or not roles.has_role(maker, *allowed):
        raise ShareLinkGone(link.pk)
    ShareLink.objects.filter(pk=link.pk).update(last_used_at=timezone.now())
    return link


def runs_mark_older_rules(*, job_id: int) -> int:
    """Mark the runs made before a reclassification (or its undo) as based on older channel
    rules: their credits follow the channels the touches had then. Returns how many."""
    return AttributionRun.objects.filter(
        created_at__lte=timezone.now(), older_rules_job__isnull=True
    ).update(older_rules_job_id=job_id)
