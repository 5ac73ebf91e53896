"""Every write of the mix app: start a fit, run it (assemble the weeks, fit, store the
results), fail it; save lift tests, controls and bounds."""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from attribution.engine import MODELS
from mix import engine, selectors
from mix.models import ChannelBound, Control, LiftTest, MixModelRun, Outcome

log = logging.getLogger(__name__)
STORED_DRAWS = 400  # curve-parameter draws kept for the optimiser
LOCK_HOURS = 3
MIN_WEEKS_WITH_SPEND = 26


class RunInProgress(Exception):
    def __init__(self, run: MixModelRun) -> None:
        super().__init__(f"mix model run #{run.pk} is {run.status}")
        self.run = run


class NotEnoughData(Exception):
    pass


def run_start(
    *,
    outcome: str = Outcome.REVENUE,
    attribution_model: str | None = None,
    created_by: Any = None,
    data_cutoff: date | None = None,
    params: dict[str, Any] | None = None,
) -> MixModelRun:
    """Define a fit and queue it after commit; one at a time (RunInProgress otherwise)."""
    if outcome not in Outcome.values:
        raise ValueError(f"unknown outcome: {outcome}")
    model = settings.CLM_MIX_ATTRIBUTION_MODEL if attribution_model is None else attribution_model
    if model and model not in MODELS:
        raise ValueError(f"unknown attribution model: {model}")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('clm.mix.run_start'))")
        running = selectors.run_in_progress()
        if running is not None and running.created_at < timezone.now() - timedelta(
            hours=LOCK_HOURS
        ):
            run_fail(run_id=running.pk, error="Abandoned: its worker was probably lost.")
            running = None
        if running is not None:
            raise RunInProgress(running)
        defaults = {
            "weeks": settings.CLM_MIX_WEEKS,
            "draws": settings.CLM_MIX_DRAWS,
            "tune": settings.CLM_MIX_TUNE,
            "seed": 0,
        }
        run = MixModelRun.objects.create(
            outcome=outcome,
            attribution_model=model,
            params={**defaults, **(params or {})},
            data_cutoff=data_cutoff or timezone.localdate(),
            created_by=created_by,
        )
        transaction.on_commit(lambda: _queue(run.pk))
    return run


def _queue(run_id: int) -> None:
    from mix.tasks import mix_fit

    mix_fit.delay(run_id)


def run_fail(*, run_id: int, error: str) -> None:
    """Mark a fit failed with its reason."""
    MixModelRun.objects.filter(pk=run_id).update(
        status=MixModelRun.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def _assemble(run: MixModelRun) -> dict[str, Any]:
    weeks = selectors.week_range(cutoff=run.data_cutoff, weeks=int(run.params["weeks"]))
    spend = selectors.weekly_spend(weeks)
    active = (spend > 0).sum() if not spend.empty else pd.Series(dtype=int)
    spend = spend.loc[:, active >= 4] if len(active) else spend
    if spend.shape[1]:
        # Weeks before any spend was recorded tell nothing about it: the fit starts at the first.
        paid = spend.sum(axis=1) > 0
        if paid.any():
            weeks = weeks[weeks >= paid.idxmax()]
            spend = spend.loc[weeks]
    if spend.shape[1] < 1 or int((spend.sum(axis=1) > 0).sum()) < MIN_WEEKS_WITH_SPEND:
        raise NotEnoughData(
            f"needs at least {MIN_WEEKS_WITH_SPEND} weeks of spend in the last {len(weeks)} weeks"
        )
    outcome = selectors.weekly_outcome(weeks, run.outcome)
    if outcome.sum() <= 0:
        raise NotEnoughData("no outcome in the weeks fitted")
    start, end = weeks[0].date(), weeks[-1].date() + timedelta(days=6)
    attributed = selectors.attributed_return(
        model=run.attribution_model, outcome=run.outcome, start=start, end=end
    )
    lifts, lift_ids = selectors.lift_tests(weeks, run.outcome)
    controls = selectors.weekly_controls(weeks)
    return {
        "weeks": weeks,
        "spend": spend,
        "outcome": outcome,
        "attributed": attributed.reindex(spend.columns).dropna(),
        "lifts": lifts,
        "lift_ids": lift_ids,
        "controls": controls,
    }


def _r(values: Any, digits: int = 2) -> Any:
    return np.round(np.asarray(values, dtype=float), digits).tolist()


def _results(mix: engine.MixFit, data: dict[str, Any], seconds: float) -> dict[str, Any]:
    roas = engine.roas_table(mix)
    contrib = engine.contributions(mix)
    curves, points = engine.response_curves(mix)
    beta, k = mix.curve_params()
    step = max(len(beta) // STORED_DRAWS, 1)
    spend = data["spend"]
    return {
        "weeks": [w.date().isoformat() for w in data["weeks"]],
        "channels": mix.channels,
        "spend": {c: _r(spend[c]) for c in spend.columns},
        "contributions": {c: _r(contrib[c]) for c in contrib.columns},
        "roas": [
            {"channel": name, **{k: round(float(v), 4) for k, v in row.items()}}
            for name, row in roas.iterrows()
        ],
        "curves": {
            name: {col: _r(group[col]) for col in ("spend", "outcome", "low", "high")}
            for name, group in curves.groupby("channel", sort=False)
        },
        "points": {
            name: {k: round(float(v), 2) for k, v in row.items()} for name, row in points.iterrows()
        },
        "draws": {"beta": _r(beta[::step], 4), "k": _r(k[::step], 4)},
        "evidence": {
            "weeks": len(data["weeks"]),
            "first_week": data["weeks"][0].date().isoformat(),
            "last_week": data["weeks"][-1].date().isoformat(),
            "spend_weeks": {c: int((spend[c] > 0).sum()) for c in spend.columns},
            "attributed": {k: round(float(v), 4) for k, v in data["attributed"].items()},
            "lift_tests": data["lift_ids"],
            "controls": list(data["controls"].columns),
        },
        "diagnostics": {
            "acceptance": round(mix.posterior.acceptance, 3),
            "rhat_max": round(mix.posterior.rhat_max, 3),
            "draws": len(mix.posterior.draws),
            "chains": mix.posterior.chains,
            "seconds": round(seconds, 1),
        },
    }


def run_execute(*, run_id: int) -> MixModelRun | None:
    """Assemble the weeks, fit the model with progress stored, keep the results."""
    claimed = MixModelRun.objects.filter(pk=run_id, status=MixModelRun.Status.QUEUED).update(
        status=MixModelRun.Status.RUNNING, started_at=timezone.now(), progress=1
    )
    if not claimed:
        return None
    run = MixModelRun.objects.get(pk=run_id)
    started = time.monotonic()
    try:
        data = _assemble(run)
        last = {"percent": 1}

        def progress(share: float) -> None:
            percent = max(1, min(99, int(5 + 90 * share)))
            if percent >= last["percent"] + 5:
                last["percent"] = percent
                MixModelRun.objects.filter(pk=run_id).update(progress=percent)

        mix = engine.fit(
            data["spend"],
            data["outcome"],
            controls=data["controls"],
            attributed_roas=data["attributed"],
            lift_tests=data["lifts"],
            seed=int(run.params.get("seed", 0)),
            draws=int(run.params["draws"]),
            tune=int(run.params["tune"]),
            progress=progress,
        )
        results = _results(mix, data, time.monotonic() - started)
    except NotEnoughData as exc:
        run_fail(run_id=run_id, error=f"Not enough data: {exc}")
        return MixModelRun.objects.get(pk=run_id)
    except Exception as exc:  # the run shows why it failed; the worker goes on
        log.exception("mix model run %s failed", run_id)
        run_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        return MixModelRun.objects.get(pk=run_id)
    MixModelRun.objects.filter(pk=run_id).update(
        status=MixModelRun.Status.DONE, progress=100, results=results, finished_at=timezone.now()
    )
    return MixModelRun.objects.get(pk=run_id)


def proposal_for(
    *, run: MixModelRun, total: float, bounds: dict[str, tuple[float, float | None]]
) -> engine.Proposal:
    """The optimiser's split of a weekly budget under a finished fit (changes nothing)."""
    results = run.results
    names = results["channels"]
    beta = np.asarray(results["draws"]["beta"], dtype=float)
    k = np.asarray(results["draws"]["k"], dtype=float)
    current = pd.Series({n: results["points"][n]["current"] for n in names})
    lower = pd.Series({n: bounds.get(n, (0.0, None))[0] for n in names})
    upper = pd.Series(
        {n: np.inf if bounds.get(n, (0.0, None))[1] is None else bounds[n][1] for n in names}
    )
    return engine.optimise_curves(
        beta, k, names, total=total, current=current, lower=lower, upper=upper
    )


@transaction.atomic
def lift_test_save(*, test: LiftTest) -> LiftTest:
    """Validate and store a lift test (the next fit takes it in)."""
    test.full_clean()
    test.save()
    return test


@transaction.atomic
def control_save(*, control: Control) -> Control:
    """Validate and store a control period."""
    control.full_clean()
    control.save()
    return control


@transaction.atomic
def bound_save(*, bound: ChannelBound) -> ChannelBound:
    """Validate and store a channel's weekly bounds for the optimiser."""
    bound.full_clean()
    bound.save()
    return bound
