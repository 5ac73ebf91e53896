# CLM: two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test e2e fault compare bench lint format security run-services migrate \
	messages clean api-fuzz

$(UV):
	@command -v $(PYTHON) >/dev/null || { echo "CLM needs Python 3.11 ($(PYTHON)) on PATH"; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced ## create .venv with the locked dependencies (dev group included)

migrate: install
	$(PY) manage.py migrate --noinput

# `make run` starts two Celery workers and beat beside the dev server, all with
# CLM_BACKGROUND=worker (clm/settings.py): tasks go to the workers over files under var/broker/
# (Redis if REDIS_URL is set), so long jobs never run inside a request. The first worker takes
# both queues, the second (one process) only `interactive` (clm/celery.py), so a deal's refresh
# never waits behind a long job. Ctrl-C (or the server stopping) stops them all: the shell waits
# on the server and its trap ends the whole process group.
run: migrate ## run the app with demo data on http://127.0.0.1:8000/ (+ Celery workers and beat)
	$(PY) manage.py seed_demo --if-empty
	@echo "CLM is starting on http://$(HOST):$(PORT)/ with Celery workers and beat  (Ctrl-C to stop)"
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; export CLM_BACKGROUND=worker; \
	export CLM_RUN_URL=http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST)):$(PORT); \
	$(VENV)/bin/celery -A clm worker --loglevel=WARNING --concurrency=2 -Q celery,interactive \
		--without-mingle --without-gossip -n clm-run-$$$$@%h & \
	$(VENV)/bin/celery -A clm worker --loglevel=WARNING --concurrency=1 -Q interactive \
		--without-mingle --without-gossip -n clm-run-interactive-$$$$@%h & \
	$(VENV)/bin/celery -A clm beat --loglevel=WARNING --schedule var/celerybeat-schedule & \
	$(PY) manage.py runserver $(HOST):$(PORT) & \
	wait $$!

# The suite runs in TEST_WORKERS processes (pytest-xdist; `make test TEST_WORKERS=0` for one),
# tests handed out in collection order, so each process runs its transactional tests last
# (pytest-django orders them so: they flush the rows migrations seed).
TEST_WORKERS ?= auto
test: install ## the whole test suite (browser tests skip if chromium is absent)
	$(PY) -m pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist load $(PYTEST_ARGS)

e2e: install ## browser tests only (needs Debian's chromium: apt-get install chromium)
	$(PY) -m pytest -m e2e $(PYTEST_ARGS)

fault: install ## fault suite: captures while Redis, a worker and PostgreSQL fail (private servers)
	$(PY) -m pytest -m fault -s -v -p no:cacheprovider tests/test_fault.py $(PYTEST_ARGS)

compare: install ## engines vs marketing-attribution-models, channelattribution, pymc-marketing (optional group)
	$(UV) sync --frozen --group compare
	$(PY) -m pytest attribution/tests/test_engine_vs_libraries.py mix/tests/test_engine_vs_pymc_marketing.py \
		-v -p no:cacheprovider

bench: install ## benchmarks on PostgreSQL + Redis + gunicorn: prints a table, writes var/bench/results.json
	$(UV) sync --frozen --group compare
	$(PY) tests/benchmarks/run.py $(BENCH_ARGS)

api-fuzz: install ## Schemathesis against the live API schema as an admin and a rep token
	bash scripts/schemathesis.sh $(FUZZ_ARGS)

lint: install ## ruff, then lint-imports (the layers contract in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

security: install ## bandit: no finding of medium or high severity (each exception has a # nosec with its reason)
	$(VENV)/bin/bandit -r . -x ./.venv,./.tools,./var,./node_modules -ll -q

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

run-services: migrate ## production-like: gunicorn + Celery workers + beat on DATABASE_URL / REDIS_URL
	$(PY) manage.py collectstatic --noinput
	$(PY) manage.py seed_demo --if-empty
	@test -n "$$REDIS_URL" || { echo "run-services needs REDIS_URL (and DATABASE_URL)"; exit 1; }
	@echo "CLM (gunicorn) on http://$(HOST):$(PORT)/ with Celery workers, beat and the outbox relay"
	trap 'kill 0' INT TERM EXIT; export CLM_OUTBOX_RELAY_AFTER_COMMIT=false; \
	$(VENV)/bin/celery -A clm worker --loglevel=INFO --concurrency=2 -Q celery,interactive & \
	$(VENV)/bin/celery -A clm worker --loglevel=INFO --concurrency=1 -Q interactive \
		-n interactive@%h & \
	$(VENV)/bin/celery -A clm beat --loglevel=INFO --schedule var/celerybeat-schedule & \
	$(PY) manage.py outbox_relay & \
	$(VENV)/bin/gunicorn clm.wsgi:application --bind $(HOST):$(PORT) --workers 3 --access-logfile - ; \
	wait

MAKEMESSAGES_IGNORE := --ignore=.venv --ignore=.tools --ignore=var --ignore=tests --ignore='*/tests/*'
messages: install ## refresh locale/*/django.po from code and templates, then compile the .mo files
	@command -v msgfmt >/dev/null || { echo "make messages needs GNU gettext (apt-get install gettext)"; exit 1; }
	$(PY) manage.py makemessages --all --no-obsolete --add-location=file $(MAKEMESSAGES_IGNORE)
	$(PY) manage.py compilemessages --ignore=.venv --ignore=.tools

clean:
	rm -rf $(VENV) $(TOOLS) var
