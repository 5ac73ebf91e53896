"""Benchmark settings: the app as deployed, plus a bare one-INSERT view to compare against."""

import os

from clm.settings import *  # noqa: F403

ROOT_URLCONF = "tests.benchmarks.bench_urls"
CLM_CAPTURE_RATE_PER_MINUTE = 10**9  # the load comes from one address
CLM_TRACK_RATE_PER_MINUTE = 10**9
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# Logging as deployed (clm.settings): the benchmark measures capture as it runs in production.
# As docker compose runs it: the outbox relay process (run.Deployed) sends the outbox.
CLM_OUTBOX_RELAY_AFTER_COMMIT = False

# Datasets of the bench, each in its own database (seeded once, reused): `large` in the bench
# database itself, `xlarge` (`run.py --only xlarge` sets CLM_BENCH_DATASET) in "<name>_xl", so
# the 10x data never replaces the large one.
BENCH_DATASETS = {"large": ("", 100_000), "xlarge": ("_xl", 1_000_000)}
BENCH_DATASET = os.environ.get("CLM_BENCH_DATASET", "large")
if BENCH_DATASET not in BENCH_DATASETS:
    raise ValueError(f"CLM_BENCH_DATASET must be one of {', '.join(BENCH_DATASETS)}")
_suffix = BENCH_DATASETS[BENCH_DATASET][0]
if _suffix:
    DATABASES["default"]["NAME"] = f"{DATABASES['default']['NAME']}{_suffix}"  # noqa: F405
