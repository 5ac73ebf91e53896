"""CLM settings, all read from the environment through this one module.

No environment at all is the embedded default: a SQLite file under var/, Celery tasks run
eagerly in-process, a local-memory cache and DEBUG on. DATABASE_URL switches to PostgreSQL,
REDIS_URL to Redis as Celery broker, result backend and cache. CLM_ENV=production turns on the
hardened settings and refuses to start without SECRET_KEY and ALLOWED_HOSTS.

CLM_BACKGROUND=worker is how these settings know they run under `make run`, which sets it for
the web server, the Celery worker and beat it starts side by side: tasks are no longer eager
but go to a real worker, over Redis when REDIS_URL is set, else over kombu's `filesystem://`
transport (message files under var/broker/, results under var/celery-results/, the cache in
files under var/cache/ so the processes share it): no server to install. Tests never set it,
so they keep eager tasks and need no worker. SQLite runs in WAL mode with a busy timeout, so
the worker and the web server write the same file safely.
"""

import os
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

CLM_ENV = env.str("CLM_ENV", default="local")
if CLM_ENV not in {"local", "production"}:
    raise ImproperlyConfigured("CLM_ENV must be 'local' or 'production'")
PRODUCTION = CLM_ENV == "production"

if PRODUCTION:
    for required in ("SECRET_KEY", "ALLOWED_HOSTS"):
        if not env.str(required, default=""):
            raise ImproperlyConfigured(
                f"CLM_ENV=production needs the {required} environment variable"
            )
    SECRET_KEY = env.str("SECRET_KEY")
    DEBUG = env.bool("DEBUG", default=False)
else:
    # A fixed key is fine for the local embedded default only; production has no default.
    SECRET_KEY = env.str("SECRET_KEY", default="clm-local-development-key-not-for-production-use")
    DEBUG = env.bool("DEBUG", default=True)

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "clm",
    "campaigns",
    "leads",
    "crm",
    "attribution",
    "nurture",
    "insights",
    "outbox",
    "integrations",
    "mix",
    "dashboards",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions (the language picked in the switcher lives there), before common.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication: a signed-in user's profile language beats the browser's.
    "clm.middleware.UserLanguageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "dashboards.urls"
WSGI_APPLICATION = "clm.wsgi.application"
ASGI_APPLICATION = "clm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clm.roles.navigation",
                "insights.context_processors.alert_count",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database: SQLite under var/ unless DATABASE_URL is set --------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
            "DB_CONNECT_TIMEOUT", default=5
        )
else:
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "clm.sqlite3",
            # A file, not shared-cache memory: browser tests hit the live server from other
            # threads, and only a file gives them SQLite's real locking.
            # One file per test process, so two test runs never share (or delete) it.
            "TEST": {"NAME": VAR_DIR / f"test-clm-{os.getpid()}.sqlite3"},
        }
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes write one file under `make run` (web server, worker, beat): WAL lets
    # readers go on while one writes; a writer waits up to 20 s for the lock instead of failing
    # ("database is locked"), and IMMEDIATE takes the write lock when a transaction begins, so
    # two transactions never deadlock upgrading their read locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# `make run` sets CLM_BACKGROUND=worker for the web server and the worker it starts beside it.
CLM_BACKGROUND = env.str("CLM_BACKGROUND", default="")
if CLM_BACKGROUND not in {"", "worker"}:
    raise ImproperlyConfigured("CLM_BACKGROUND must be 'worker' or unset")
# Folder of the serverless broker's message files (and its results) for CLM_BACKGROUND=worker.
CLM_BROKER_DIR = Path(env.str("CLM_BROKER_DIR", default=str(VAR_DIR / "broker")))

# --- Redis: cache, Celery broker and result backend when REDIS_URL is set --------------------
REDIS_URL = env.str("REDIS_URL", default="")
_xdist = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _xdist.startswith("gw") and os.environ.get("CLM_TEST_REDIS_OF") != _xdist:
    # Tests in parallel (`make test` runs pytest-xdist): worker gwN takes the Redis database
    # N below the given one (/15, /14, ...), so its cache keys, Celery queues and page-view
    # buffer never meet another's. The Celery workers the tests start inherit the shifted
    # URL and the mark that it is shifted already.
    _base, _, _db = REDIS_URL.rpartition("/")
    _index = int(os.environ["PYTEST_XDIST_WORKER"][2:])
    if not _db.isdigit() or int(_db) < _index:
        raise ImproperlyConfigured("parallel tests need REDIS_URL to end in a database number")
    REDIS_URL = os.environ["REDIS_URL"] = f"{_base}/{int(_db) - _index}"
    os.environ["CLM_TEST_REDIS_OF"] = _xdist
REDIS_TIMEOUT = env.float("CLM_REDIS_TIMEOUT", default=1.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "clm.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "clm",
            # A hung Redis must not hang a web request: short socket timeouts, and after a
            # failure the cache answers "miss" at once for a few seconds (clm.cache).
            "OPTIONS": {"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_TIMEOUT},
        }
    }
elif CLM_BACKGROUND:
    # The web server and the worker are separate processes: they share a cache in files
    # (the run lock, "refreshed at" of the dashboards, rule versions), no server needed.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": CLM_BROKER_DIR.parent / "cache",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOCAL_BROKER = bool(CLM_BACKGROUND and not REDIS_URL)
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default="filesystem://" if LOCAL_BROKER else REDIS_URL
)
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND",
    default=(CLM_BROKER_DIR / "results").as_uri() if LOCAL_BROKER else REDIS_URL,
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: one message file per task in queue/, taken by renaming it
    # (its folders are broker options, set in clm/celery.py from the same CLM_BROKER_DIR), as
    # clm.broker writes it: complete files only, so a worker never reads half a message.
    CELERY_BROKER_TRANSPORT = "clm.broker:Transport"
    for folder in ("queue", "control", "results"):
        (CLM_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
# No broker configured: run every task in-process, at once, raising its errors.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"  # never used while eager; keeps kombu off localhost

# Outbox: relay attempts before a message becomes a dead letter (backoff 2 s doubling to 10 min,
# so the default rides out about two hours of broker outage), and days sent rows are kept.
CLM_OUTBOX_MAX_ATTEMPTS = env.int("CLM_OUTBOX_MAX_ATTEMPTS", default=20)
CLM_OUTBOX_KEEP_DAYS = env.int("CLM_OUTBOX_KEEP_DAYS", default=7)
# Off where `manage.py outbox_relay` runs (docker compose, make run-services): the request does
# not hand its messages to the broker itself; the relay, polling every 0.25 s, sends them.
CLM_OUTBOX_RELAY_AFTER_COMMIT = env.bool("CLM_OUTBOX_RELAY_AFTER_COMMIT", default=True)
# A message sent this long ago whose task has not succeeded is sent again (lost by the broker).
CLM_OUTBOX_REDELIVER_AFTER = env.float("CLM_OUTBOX_REDELIVER_AFTER", default=300)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Languages, formats and the deployment currency -------------------------------------
# The UI ships in English and Bahasa Indonesia; each user gets the language of their profile,
# else the one their browser asks for, else LANGUAGE_CODE. Dates and numbers follow it.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("id", "Bahasa Indonesia")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# One display format for dates and one for date-times per language (clm/formats/<lang>/).
FORMAT_MODULE_PATH = ["clm.formats"]
# ISO 4217 code of every amount (deals, spend, ROI); clm/money.py knows its symbol and minor
# units (IDR: none, shown as "Rp 1.234.567" in Indonesian; USD: "$1,234.50" in English).
CLM_CURRENCY = env.str("CLM_CURRENCY", default="USD").upper()
CLM_OWN_DOMAINS = env.list("CLM_OWN_DOMAINS", default=[])
# Public capture and track endpoints.
CLM_CAPTURE_MAX_BYTES = env.int("CLM_CAPTURE_MAX_BYTES", default=64 * 1024)
CLM_CAPTURE_RATE_PER_MINUTE = env.int("CLM_CAPTURE_RATE_PER_MINUTE", default=30)
CLM_TRACK_MAX_BYTES = env.int("CLM_TRACK_MAX_BYTES", default=64 * 1024)
CLM_TRACK_RATE_PER_MINUTE = env.int("CLM_TRACK_RATE_PER_MINUTE", default=600)
# Page views go into a Redis list and the worker stores them in batches (leads.pageviews);
# without Redis each request stores its own.
CLM_TRACK_BUFFER = env.bool("CLM_TRACK_BUFFER", default=bool(REDIS_URL))
CLM_TRACK_BATCH = env.int("CLM_TRACK_BATCH", default=500)
CLM_TRACK_ALLOWED_ORIGINS = [
    o.rstrip("/").lower() for o in env.list("CLM_TRACK_ALLOWED_ORIGINS", default=[])
]
CLM_TRUSTED_PROXIES = env.int("CLM_TRUSTED_PROXIES", default=0)
# Attribution: lead-id partitions of a full run (the unit of parallel work and of refresh).
CLM_ATTRIBUTION_PARTITIONS = env.int("CLM_ATTRIBUTION_PARTITIONS", default=4)
CLM_ATTRIBUTION_LEADS_PER_PARTITION = env.int("CLM_ATTRIBUTION_LEADS_PER_PARTITION", default=5000)
CLM_ATTRIBUTION_TOUCHES_PER_TASK = env.int("CLM_ATTRIBUTION_TOUCHES_PER_TASK", default=100_000)
# Segments and nurture email.
CLM_NURTURE_RATE_PER_MINUTE = env.int("CLM_NURTURE_RATE_PER_MINUTE", default=60)
CLM_SEGMENT_REFRESH_MINUTES = env.int("CLM_SEGMENT_REFRESH_MINUTES", default=15)
# Where CLM is reached from outside: the base of links in emails (clicks, opens, unsubscribe).
# Unset (development), pages that show CLM's address (embed snippet, suggested landing pages)
# use the host of the request instead (clm.public_url); emails have no request and use this.
CLM_PUBLIC_URL_SET = bool(env.str("CLM_PUBLIC_URL", default=""))
# `make run` passes the address it serves on (CLM_RUN_URL), so its emails link to its port.
CLM_PUBLIC_URL = env.str(
    "CLM_PUBLIC_URL", default=env.str("CLM_RUN_URL", default="http://127.0.0.1:8000")
).rstrip("/")
# Email: consolemail:// prints messages (the local default), smtp://user:pass@host:587 sends.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CLM <marketing@localhost>")
# Insights: lead scores, budget advice, intervals and alerts (README, "Closing the loop").
CLM_CONTACT_SLA_HOURS = env.float("CLM_CONTACT_SLA_HOURS", default=24)
CLM_CONTACT_SLA_WINDOW_DAYS = env.int("CLM_CONTACT_SLA_WINDOW_DAYS", default=7)
CLM_INSIGHTS_WINDOW_DAYS = env.int("CLM_INSIGHTS_WINDOW_DAYS", default=90)
CLM_INSIGHTS_MIN_DEALS = env.int("CLM_INSIGHTS_MIN_DEALS", default=20)
CLM_BUDGET_MATURITY_DAYS = env.int("CLM_BUDGET_MATURITY_DAYS", default=60)
CLM_DRIFT_RECENT_DAYS = env.int("CLM_DRIFT_RECENT_DAYS", default=14)
CLM_DRIFT_BASELINE_DAYS = env.int("CLM_DRIFT_BASELINE_DAYS", default=56)
CLM_DRIFT_THRESHOLD = env.float("CLM_DRIFT_THRESHOLD", default=0.3)
# Marketing mix model (README, "Marketing mix model"): weeks fitted, sampler length, and the
# attribution model whose ROI centres the priors.
CLM_MIX_WEEKS = env.int("CLM_MIX_WEEKS", default=104)
CLM_MIX_DRAWS = env.int("CLM_MIX_DRAWS", default=12000)
CLM_MIX_TUNE = env.int("CLM_MIX_TUNE", default=4000)
CLM_MIX_ATTRIBUTION_MODEL = env.str("CLM_MIX_ATTRIBUTION_MODEL", default="markov")

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "clm.staticfinders.PackageFileFinder",  # plotly.js from the plotly wheel
]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
if not PRODUCTION:
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# API: personal tokens (integrations/) then the browser session; one error shape (clm/api.py).
CLM_API_RATE = env.str("CLM_API_RATE", default="600/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "integrations.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["integrations.auth.TokenRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "clm.api_schema.ClmAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "clm.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "clm.api.exception_handler",
    "NON_FIELD_ERRORS_KEY": "__all__",
}
# Outgoing webhooks (integrations/): private/loopback targets are refused unless allowed.
CLM_WEBHOOK_ALLOW_PRIVATE = env.bool("CLM_WEBHOOK_ALLOW_PRIVATE", default=DEBUG)
CLM_WEBHOOK_TIMEOUT = env.float("CLM_WEBHOOK_TIMEOUT", default=5.0)
CLM_WEBHOOK_MAX_ATTEMPTS = env.int("CLM_WEBHOOK_MAX_ATTEMPTS", default=6)
CLM_WEBHOOK_BACKOFF_SECONDS = env.int("CLM_WEBHOOK_BACKOFF_SECONDS", default=30)
CLM_WEBHOOK_SWEEP_AFTER = env.int("CLM_WEBHOOK_SWEEP_AFTER", default=300)
# Ad-platform conversions: the calling code put before national phone numbers (e.g. "1", "62")
# when they are hashed for Meta; without it only numbers written with +/00 are sent.
CLM_PHONE_COUNTRY_CODE = env.str("CLM_PHONE_COUNTRY_CODE", default="")
SPECTACULAR_SETTINGS = {
    "TITLE": "CLM API",
    "DESCRIPTION": "Closed-loop marketing: capture, CRM, attribution and ROI.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "TouchpointKindEnum": "leads.models.Touchpoint.Kind",
        "ActivityKindEnum": "crm.models.Activity.Kind",
        "TaskKindEnum": "crm.models.Task.Kind",
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "RunStatusEnum": "attribution.models.AttributionRun.Status",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Eager tasks would log every run in the web process; workers log their own (but not
        # under `make run`, where the outbox relay every 5 s would fill the terminal).
        "celery.app.trace": {
            "level": "WARNING" if CELERY_TASK_ALWAYS_EAGER or CLM_BACKGROUND else "INFO"
        },
        # The in-memory broker of eager mode and the filesystem broker have no host name,
        # which kombu warns about.
        "kombu.connection": {
            "level": "ERROR"
            if CELERY_TASK_ALWAYS_EAGER or CELERY_BROKER_URL.startswith("filesystem://")
            else "WARNING"
        },
    },
}

# --- Content-Security-Policy (django-csp): no inline script or style without the nonce -------
# Every page: scripts and styles only from our own origin or carrying the per-response nonce
# ({{ CSP_NONCE }} in templates); no eval, no plugins, no framing, forms post to us only (a
# hosted landing page adds its success URL's origin). Plotly's global stylesheet goes into a
# nonce'd <style id="plotly.js-style-global"> that the page creates before plotly loads.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        # plotly.js 4.x injects maplibre's stylesheet (for map traces) on load; its hash allows
        # exactly that text. A plotly upgrade that changes it shows up in tests/e2e/test_csp.py.
        "style-src": [SELF, NONCE, "'sha256-ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o='"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- Production hardening: `manage.py check --deploy --fail-level WARNING` passes ----------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
# Cookies: never readable by scripts (no page reads the CSRF cookie; forms carry the token),
# not sent on cross-site subrequests, Secure in production (above).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
# Login throttling (clm/auth.py): this many failed logins per username + client address
# within the window lock that pair out until the window ends; this many per address (any
# usernames) lock the address out.
CLM_LOGIN_MAX_FAILURES = env.int("CLM_LOGIN_MAX_FAILURES", default=5)
CLM_LOGIN_MAX_FAILURES_PER_ADDRESS = env.int("CLM_LOGIN_MAX_FAILURES_PER_ADDRESS", default=20)
CLM_LOGIN_FAILURE_WINDOW = env.int("CLM_LOGIN_FAILURE_WINDOW", default=15 * 60)
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
