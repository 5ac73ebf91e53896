#!/usr/bin/env bash
# Fuzz the live API against its own OpenAPI schema with Schemathesis, as an admin token and as
# a sales-rep token: no 5xx and every response must match the schema. Runs on a throw-away
# SQLite database with a small seeded dataset, on a free loopback port; stops the server after.
# Usage: scripts/schemathesis.sh [extra schemathesis args]   (make api-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-5}"
# Stateful link-following is slow on 2 cores and adds little over coverage + fuzzing here.
PHASES="${FUZZ_PHASES:-examples,coverage,fuzzing}"

WORK="$(mktemp -d)"
unset REDIS_URL CELERY_BROKER_URL CELERY_RESULT_BACKEND CLM_ENV || true
export DATABASE_URL="sqlite:///$WORK/fuzz.sqlite3"
# The fuzzer must meet the API, not the rate limits (throttling has its own tests).
export CLM_API_RATE=1000000/min CLM_CAPTURE_RATE_PER_MINUTE=1000000 CLM_TRACK_RATE_PER_MINUTE=1000000
export LOG_LEVEL=WARNING
# Tasks (attribution runs, webhooks) are queued in memory and not run: started runs stay
# queued, so each fuzzed POST costs milliseconds instead of a full attribution run.
export CELERY_BROKER_URL=memory:// CELERY_TASK_ALWAYS_EAGER=false

SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== seeding a small demo database"
$PY manage.py migrate --noinput -v0
CELERY_TASK_ALWAYS_EAGER=true $PY manage.py seed_demo --leads 80 --seed 7 -v0 >/dev/null
ADMIN_TOKEN="$($PY manage.py api_token admin --name fuzz)"
REP_TOKEN="$($PY manage.py api_token rep1 --name fuzz)"

PORT="$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
echo "== starting the API on 127.0.0.1:$PORT"
.venv/bin/gunicorn clm.wsgi:application --bind "127.0.0.1:$PORT" --workers 1 --threads 1 \
  --timeout 120 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
SCHEMA="http://127.0.0.1:$PORT/api/schema/"

fuzz() {
  local who="$1" token="$2"; shift 2
  echo "== schemathesis as $who"
  .venv/bin/schemathesis run "$SCHEMA" \
    --wait-for-schema 60 \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$MAX_EXAMPLES" --seed 1 --workers 1 \
    --request-timeout 30 --max-redirects 0 \
    "$@" || { echo "---- server log (tail)"; tail -n 80 "$WORK/server.log"; return 1; }
}

fuzz admin "$ADMIN_TOKEN" --phases "$PHASES" "$@"
fuzz rep "$REP_TOKEN" --phases "$PHASES" "$@"
echo "schemathesis: no server errors, every response matches the schema"
