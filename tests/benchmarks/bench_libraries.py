"""Engine time against marketing-attribution-models (MAM 2.x) and ChannelAttribution.

Same journeys for all three: ``generate(100_000 leads, 5 touches/lead, 8 channels)`` with a 20%
conversion rate and a 30-day lookback, i.e. 100,000 journeys (20,000 converting, 80,000 null
paths, about 500,000 touches). The engine starts from raw touches/conversions (building its
journeys inside the timed call); the libraries start from their own input (MAM: ``"journey"``
strings, its Polars preprocessing timed; ChannelAttribution: grouped paths), whose preparation is
reported once and not timed. Ratios are library time / engine time (> 1: the engine is faster).
The engine runs on one core; Polars (MAM) uses every core; ChannelAttribution runs with ncore=1.

Both libraries are optional (``compare`` dependency group); an absent one gets a row saying so::

    UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=.venv .tools/bin/uv sync --frozen \
        --group compare
    .venv/bin/python tests/benchmarks/bench_libraries.py [--rounds 3] [--leads 100000]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

Row = tuple[str, str, str]  # (figure, value, note)
RULES = ("first_touch", "last_touch", "linear", "position_based", "time_decay")
LOOKBACK_DAYS = 30.0
INSTALL = "install the compare group: uv sync --frozen --group compare"


def _median_seconds(fn: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(max(1, rounds)):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _load(name: str, distribution: str) -> tuple[ModuleType | None, str]:
    """(module, version) or (None, why it is absent)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # ChannelAttribution prints a banner
            module = importlib.import_module(name)
    except ImportError as error:
        return None, f"{error}; {INSTALL}"
    return module, metadata.version(distribution)


def _ratio(library: float, engine: float) -> str:
    return f"{library / engine:.2f}x the engine's time" if engine > 0 else "engine time is 0"


def run(rounds: int = 3, leads: int = 100_000) -> list[Row]:
    """Rows (figure, value, note): medians of ``rounds`` timings, with library/engine ratios."""
    from attribution.engine import (
        attribute,
        attribute_all,
        markov_removal_effects,
        markov_transition_counts,
    )
    from attribution.engine.synthetic import generate
    from attribution.tests.test_engine_vs_libraries import (
        channelattribution_paths,
        library_journeys,
        mam_instance,
    )

    touches, conversions = generate(leads, 5.0, 8, seed=7, conversion_rate=0.2)
    started = time.perf_counter()
    journeys = library_journeys(touches, conversions, LOOKBACK_DAYS)
    paths = channelattribution_paths(journeys)
    prepare = time.perf_counter() - started
    real = journeys.loc[~journeys["synthetic"]]
    n_conv = int(journeys["converted"].sum())
    rows: list[Row] = [
        (
            "libraries: same journeys",
            f"{len(journeys):,}",
            f"{n_conv:,} converting + {len(journeys) - n_conv:,} null, {len(touches):,} "
            f"touches, 8 channels; library inputs built in {prepare:.2f} s (not timed)",
        )
    ]

    engine_rules = _median_seconds(
        lambda: attribute_all(touches, conversions, RULES, lookback_days=LOOKBACK_DAYS), rounds
    )
    engine_markov = _median_seconds(
        lambda: attribute(touches, conversions, "markov", lookback_days=LOOKBACK_DAYS), rounds
    )

    def effects() -> Any:
        counts = markov_transition_counts(touches, conversions, lookback_days=LOOKBACK_DAYS)
        return markov_removal_effects(counts)

    engine_effects = _median_seconds(effects, rounds)
    rows += [
        ("engine: 5 rule models", f"{engine_rules:.2f} s", "first/last/linear/U/time-decay"),
        ("engine: markov credits", f"{engine_markov:.2f} s", "exact effects + per-journey split"),
        ("engine: markov removal effects", f"{engine_effects:.2f} s", "exact, order 1"),
    ]

    mam, mam_version = _load("mam", "marketing-attribution-models")
    if mam is None or not hasattr(mam, "MAM"):
        rows.append(("MAM", "absent", mam_version if mam is None else f"no mam.MAM; {INSTALL}"))
    else:

        def mam_rules() -> None:
            model = mam_instance(mam, journeys)
            model.run_first_click()
            model.run_last_click()
            model.run_linear()
            model.run_position_based()
            model.run_time_decay(half_life_hours=24 * 7.0)

        mam_rule_time = _median_seconds(mam_rules, rounds)
        mam_markov = _median_seconds(lambda: mam_instance(mam, real).run_markov(), rounds)
        rows += [
            (f"MAM {mam_version}: 5 rule models", f"{mam_rule_time:.2f} s",
             _ratio(mam_rule_time, engine_rules)),
            (f"MAM {mam_version}: markov credits", f"{mam_markov:.2f} s",
             _ratio(mam_markov, engine_markov) + " (exact effects, per-touch split)"),
        ]  # fmt: skip

    ca, ca_version = _load("ChannelAttribution", "channelattribution")
    if ca is None:
        rows.append(("ChannelAttribution", "absent", ca_version))
    else:

        def ca_markov() -> Any:
            return ca.markov_model(
                paths, "path", "total_conversions", var_null="total_null", order=1, sep=">",
                ncore=1, seed=7, verbose=False, flg_pro=False,
            )  # fmt: skip

        def ca_grouped_markov() -> Any:
            channelattribution_paths(journeys)  # its input: paths grouped with their counts
            return ca_markov()

        def ca_from_raw_touches() -> Any:
            # What the engine's time includes: the journeys out of the raw touches (lookback,
            # null paths), then the grouping, then the model.
            channelattribution_paths(library_journeys(touches, conversions, LOOKBACK_DAYS))
            return ca_markov()

        ca_time = _median_seconds(ca_markov, rounds)
        ca_grouped = _median_seconds(ca_grouped_markov, rounds)
        ca_raw = _median_seconds(ca_from_raw_touches, rounds)
        result = ca_markov()
        theirs = result.set_index("channel_name")["total_conversions"]
        exact = effects()
        gap = (exact / exact.sum() - theirs / theirs.sum()).abs().max()
        rows.append(
            (
                f"ChannelAttribution {ca_version}: markov",
                f"{ca_time:.2f} s",
                f"{_ratio(ca_time, engine_effects)} (effects only; simulated on "
                f"{len(paths):,} pre-grouped paths, 1 core); max share gap to exact {gap:.3f}",
            )
        )
        rows.append(
            (
                "engine / ChannelAttribution, markov, grouping timed on both sides",
                f"{engine_effects / ca_grouped:.2f}x",
                f"engine {engine_effects:.2f} s (journeys, paths, counts, exact effects from raw "
                f"touches) vs {ca_grouped:.2f} s (grouping the {len(journeys):,} journey "
                "strings into paths + markov_model); target <= 1.0x",
            )
        )
        rows.append(
            (
                "engine / ChannelAttribution, markov, from the same raw touches",
                f"{engine_effects / ca_raw:.2f}x",
                f"engine {engine_effects:.2f} s vs {ca_raw:.2f} s (journeys built from the "
                "touches with the same lookback and null paths in pandas, grouped, "
                "markov_model)",
            )
        )
    return rows


def main() -> None:
    """Print the rows as a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--leads", type=int, default=100_000)
    args = parser.parse_args()
    rows = run(args.rounds, args.leads)
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    for figure, value, note in rows:
        print(f"{figure:<{width}}  {value:>{vwidth}}  {note}")


if __name__ == "__main__":
    main()
