"""Benchmark settings: the app as deployed, plus a bare one-INSERT view to compare against."""

from clm.settings import *  # noqa: F403

ROOT_URLCONF = "tests.benchmarks.bench_urls"
CLM_CAPTURE_RATE_PER_MINUTE = 10**9  # the load comes from one address
CLM_TRACK_RATE_PER_MINUTE = 10**9
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# Logging as deployed (clm.settings): the benchmark measures capture as it runs in production.
# As docker compose runs it: the outbox relay process (run.Deployed) sends the outbox.
CLM_OUTBOX_RELAY_AFTER_COMMIT = False
