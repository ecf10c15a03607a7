"""oneping settings: everything comes from the environment (see the README's table).

The defaults are the embedded setup that `make run` uses on a fresh laptop: a SQLite file
and Celery's filesystem broker inside ONEPING_DATA_DIR, no other services.
"""

import base64
import hashlib
import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from oneping import serving
from oneping.env import env_bool, env_float, env_int, env_list, env_proxy_ssl_header, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env_bool("DEBUG", default=False)

DATA_DIR = Path(env_str("ONEPING_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

_DEV_SECRET_KEY = "django-insecure-oneping-development-key-never-use-in-production"  # noqa: S105 (development only)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=true for local development."
        )
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Where the world reaches this deployment, e.g. https://oneping.example.com: the base of
# every absolute URL the product hands out (provider status callbacks, inbound URLs,
# invitations; oneping.public_url). Unset, a request's own host is used, and no status
# callback URL is sent to providers (there is no request to take it from).
ONEPING_PUBLIC_URL = env_str("ONEPING_PUBLIC_URL", "").rstrip("/")
if ONEPING_PUBLIC_URL and not ONEPING_PUBLIC_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        f"ONEPING_PUBLIC_URL={ONEPING_PUBLIC_URL!r}: give the scheme, e.g. https://oneping.example.com"
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "django_filters",
    "django_htmx",
    "oneping",
    "accounts",
    "channels_app",
    "webhooks",
]

MIDDLEWARE = [
    # Outermost: every answer gets an X-Request-Id, a log line and its metrics, also the
    # redirects and errors the middleware below it produce.
    "oneping.telemetry.RequestTelemetryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the app (https://whitenoise.readthedocs.io/en/stable/django.html).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # First after security: turns every error under /api/ into the JSON error shape.
    "oneping.api.middleware.ApiErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oneping.security.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.CurrentAccountMiddleware",
]

ROOT_URLCONF = "oneping.urls"
WSGI_APPLICATION = "oneping.wsgi.application"
ASGI_APPLICATION = "oneping.asgi.application"

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
                "accounts.context_processors.dashboard",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'oneping.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat are separate processes on one SQLite file: WAL lets readers and
    # the writer overlap, IMMEDIATE takes the write lock up front so two writers queue on
    # the busy timeout instead of failing with "database is locked" mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("CONN_MAX_AGE", 60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # A database (or pooler) that accepts connections but never answers must cost a request
    # seconds, not a worker: with no connect timeout libpq waits indefinitely.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5)
    )
    # Web processes (gunicorn_conf sets DATABASE_POOL) share a pool per process instead of a
    # connection per thread; Django requires CONN_MAX_AGE 0 with it, connections go back to
    # the pool after each request. Celery workers keep their persistent connection.
    # https://docs.djangoproject.com/en/5.2/ref/databases/#connection-pool
    if env_bool("DATABASE_POOL", default=False):
        _pool_min, _pool_max = serving.pool_sizes()
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        _connect_timeout = float(DATABASES["default"]["OPTIONS"]["connect_timeout"])
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": _pool_min,
            "max_size": _pool_max,
            # A request waits for a connection no longer than it would to open one without
            # a pool, then fails with 503 (a database that is away or hung).
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 0) or _connect_timeout,
            # psycopg_pool retries a failed connection with doubling delays until this much
            # time has passed, then leaves it to the next request: without a cap the delay
            # after a minute's outage is itself half a minute, and requests keep failing
            # after the database is back. https://www.psycopg.org/psycopg3/docs/api/pool.html
            "reconnect_timeout": env_int("DATABASE_POOL_RECONNECT_TIMEOUT", 5),
        }
    serving.check_connection_budget()

# The cache holds rate-limit counters (API keys, logins): with several web processes it
# must be shared, e.g. CACHE_URL=redis://127.0.0.1:6379/1. The default is per process.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
# Present before collectstatic fills it: WhiteNoise warns about a missing folder.
STATIC_ROOT.mkdir(exist_ok=True)
# With DEBUG off, hashed names cached for ever and gzip copies, from `collectstatic` (which
# `make run` runs); with DEBUG on, WhiteNoise reads the source folders as they change.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"

# --- Email (the platform's own outgoing mail: sign-up verification, invitations) ----------
if env_str("EMAIL_URL"):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "oneping <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 15

# --- allauth: email is the login ----------------------------------------------------------
_EMAIL_VERIFICATION_CHOICES = ("none", "optional", "mandatory")
# Mandatory in production: an unverified sign-up cannot log in, so a throwaway address buys
# nothing (and the platform's own mail refuses accounts whose owner is unverified anyway).
ACCOUNT_EMAIL_VERIFICATION = env_str(
    "ONEPING_EMAIL_VERIFICATION", "optional" if DEBUG else "mandatory"
)
if ACCOUNT_EMAIL_VERIFICATION not in _EMAIL_VERIFICATION_CHOICES:
    raise ImproperlyConfigured(
        f"ONEPING_EMAIL_VERIFICATION={ACCOUNT_EMAIL_VERIFICATION!r}: use one of "
        f"{', '.join(_EMAIL_VERIFICATION_CHOICES)}."
    )
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"

# --- Secrets at rest ------------------------------------------------------------------
ONEPING_ENCRYPTION_KEYS = env_list("ONEPING_ENCRYPTION_KEYS", [])
if not ONEPING_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "ONEPING_ENCRYPTION_KEYS is not set. Generate one with "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'."
        )
    # A stable key derived from the (development) SECRET_KEY, so every dev process agrees.
    ONEPING_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
    ]

ONEPING_ALLOW_PRIVATE_URLS = env_bool("ONEPING_ALLOW_PRIVATE_URLS", default=DEBUG)
# Webhook endpoints and callback_url must be https:// unless this is on (oneping.urlguard).
ONEPING_ALLOW_HTTP_URLS = env_bool("ONEPING_ALLOW_HTTP_URLS", default=DEBUG)

# --- HTTP security ----------------------------------------------------------------------
# TLS usually ends at a proxy: say which header it sets with
# SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https (1 means exactly that), so links we
# build (invitations, inbound URLs) say https; and turn on the redirect where nothing else
# does it.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
if _PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = _PROXY_SSL_HEADER
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
X_FRAME_OPTIONS = "DENY"

# --- API ------------------------------------------------------------------------------
# Request bodies above this get 413 under /api/ (the largest valid /send is far smaller).
ONEPING_API_MAX_BODY_BYTES = env_int("ONEPING_API_MAX_BODY_BYTES", 1024 * 1024)
# The same for POST /api/v1/send/batch (up to 1,000 messages, channels_app.batching).
ONEPING_API_BATCH_MAX_BODY_BYTES = env_int("ONEPING_API_BATCH_MAX_BODY_BYTES", 5 * 1024 * 1024)
# How stale ApiKey.last_used_at may get before a request writes it again.
ONEPING_API_KEY_TOUCH_SECONDS = 60
# Active API keys per account are capped by the plan (Plan.max_api_keys, accounts.limits).

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    # Every route, present and future, checks the API key's scopes (accounts.scopes).
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.scopes.ScopePermission",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser, also refusing nesting that exhausts recursion and overflowing floats.
    "DEFAULT_PARSER_CLASSES": ["oneping.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "oneping.api.pagination.NewestFirstCursorPagination",
    # drf-spectacular's AutoSchema, documenting the error answers each operation can give.
    "DEFAULT_SCHEMA_CLASS": "oneping.api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "oneping.api.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.ApiKeyRateThrottle"],
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "oneping API",
    # The description ("One call notifies anyone on …") lists the registry's kinds.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "channels_app.schema.describe_channel_kinds",
    ],
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "MessageStatusEnum": "channels_app.models.Message.Status",
        "DeliveryStatusEnum": "channels_app.models.Delivery.Status",
        "InboundEventStatusEnum": "webhooks.models.InboundEvent.Status",
    },
}

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Celery's filesystem transport: one folder that every process both writes to and
    # reads from, so web, worker and beat share a queue without any server.
    _BROKER_DIR = DATA_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
        # Kombu's virtual transports sleep this long whenever they cannot take a message
        # (the queue is empty, or every worker slot is busy); the default of 1 s caps a
        # worker at about one task a second.
        "polling_interval": 0.1,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TIMEZONE = "UTC"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Tasks acknowledge after they ran, and a worker killed mid-task gives its task back:
# together they make "accepted is never lost" hold across crashes.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Child processes of a worker started without --concurrency (the Procfile's); each holds
# one database connection, counted in the budget above.
CELERY_WORKER_CONCURRENCY = serving.worker_concurrency()
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# One queue per kind of job, so production can give each its own workers (README,
# "Deployment"). A worker started without -Q consumes all of them, as in development.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = {name: {} for name in ("celery", "sending", "webhooks", "inbound")}
CELERY_TASK_ROUTES = {
    "channels_app.deliver": {"queue": "sending"},
    "webhooks.send_webhook": {"queue": "webhooks"},
    "webhooks.process_inbound": {"queue": "inbound"},
    "channels_app.apply_reports": {"queue": "inbound"},
    # Test mode's provider reports: stored as a provider's callback would be.
    "channels_app.simulate_reports": {"queue": "inbound"},
    # Stripe's billing events (accounts/billing/): inbound work too.
    "accounts.process_stripe_event": {"queue": "inbound"},
}


def _seconds(name: str, default: int) -> int:
    """A duration from the environment in whole seconds; a lease or interval of 0 would
    let every sweep take every claim over (or spin beat), so it must be positive."""
    value = env_int(name, default)
    if value < 1:
        raise ImproperlyConfigured(f"{name}={value}: use a number of seconds of 1 or more.")
    return value


# How often beat runs each outbox sweep (deliveries, webhooks, inbound events): the most a
# lost task waits, after its lease or ONEPING_OUTBOX_SWEEP_AFTER_SECONDS, to be sent again.
ONEPING_SWEEP_INTERVAL_SECONDS = _seconds("ONEPING_SWEEP_INTERVAL_SECONDS", 60)
# Synced into django-celery-beat's tables at beat start-up, so they show in the admin.
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "channels_app.sweep_outbox",
        "schedule": ONEPING_SWEEP_INTERVAL_SECONDS,
    },
    "webhook-sweep": {"task": "webhooks.sweep", "schedule": ONEPING_SWEEP_INTERVAL_SECONDS},
    "inbound-sweep": {"task": "webhooks.sweep_inbound", "schedule": ONEPING_SWEEP_INTERVAL_SECONDS},
    # Stripe's billing events a worker has not processed yet (accounts/billing/).
    "stripe-event-sweep": {
        "task": "accounts.sweep_stripe_events",
        "schedule": ONEPING_SWEEP_INTERVAL_SECONDS,
    },
    "report-sweep": {
        "task": "channels_app.sweep_reports",
        "schedule": ONEPING_SWEEP_INTERVAL_SECONDS,
    },
    # Deliveries whose provider did not report within ONEPING_FALLBACK_WAIT_SECONDS.
    "fate-wait": {
        "task": "channels_app.settle_overdue",
        "schedule": ONEPING_SWEEP_INTERVAL_SECONDS,
    },
    "webhook-auto-disable": {"task": "webhooks.auto_disable", "schedule": 3600.0},
    # The database pacing store's rows of long-idle buckets (one per chat or number).
    "pacing-forget-idle": {"task": "channels_app.forget_idle_pace_buckets", "schedule": 3600.0},
}
# A request must not hang on a broker outage: the message is stored, the sweep sends it.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# Retries further ahead than this are enqueued by the outbox sweeps when due, not held
# by a worker as countdown tasks (see oneping/queueing.py).
ONEPING_MAX_COUNTDOWN_SECONDS = 300

# --- Delivery -------------------------------------------------------------------------
ONEPING_HTTP_CONNECT_TIMEOUT = 5.0
ONEPING_HTTP_READ_TIMEOUT = 15.0
ONEPING_SMTP_TIMEOUT = 15.0
ONEPING_TELEGRAM_API_BASE = env_str("ONEPING_TELEGRAM_API_BASE", "https://api.telegram.org")
# The phone channels' providers: Twilio's Messages API
# (https://www.twilio.com/docs/messaging/api/message-resource) and Meta's Cloud API with
# its Graph API version (https://developers.facebook.com/docs/graph-api/guides/versioning).
ONEPING_TWILIO_API_BASE = env_str("ONEPING_TWILIO_API_BASE", "https://api.twilio.com")
ONEPING_WHATSAPP_API_BASE = env_str("ONEPING_WHATSAPP_API_BASE", "https://graph.facebook.com")
ONEPING_WHATSAPP_API_VERSION = env_str("ONEPING_WHATSAPP_API_VERSION", "v21.0")
# Email providers, through django-anymail's backends (each account's own credentials are
# passed per connection, never set here): their API base URLs, anymail's `api_url`. Unset,
# each is the provider's own; Mailgun's then follows the channel's region (us or eu).
ONEPING_POSTMARK_API_URL = env_str("ONEPING_POSTMARK_API_URL", "https://api.postmarkapp.com/")
ONEPING_MAILGUN_API_URL = env_str("ONEPING_MAILGUN_API_URL", "")
ONEPING_RESEND_API_URL = env_str("ONEPING_RESEND_API_URL", "https://api.resend.com/")
# anymail's requests timeout (connect, read) for the providers' send APIs.
ANYMAIL = {"REQUESTS_TIMEOUT": (5.0, 15.0)}
# Phone numbers without a leading + are read as numbers of this region (ISO 3166 alpha-2,
# e.g. "GB"); unset, a + and the country code are required.
ONEPING_DEFAULT_REGION = env_str("ONEPING_DEFAULT_REGION", "").upper()
# Deliveries whose fate the provider reports later (the phone channels) keep their message's
# fallbacks on standby until that report, or this long after they were sent.
ONEPING_FALLBACK_WAIT_SECONDS = _seconds("ONEPING_FALLBACK_WAIT_SECONDS", 3600)
# Seconds before attempts 2, 3, … of a delivery that failed transiently, each ± the jitter
# (a fraction of the step), so deliveries that failed together do not return together.
ONEPING_DELIVERY_RETRY_SCHEDULE = [10, 60, 300, 1800, 7200]
ONEPING_DELIVERY_RETRY_JITTER = 0.2
# How long a worker may hold a delivery it is sending before another may take it over
# (a worker killed mid-send holds its deliveries this long). Longer than any batch's sends.
ONEPING_DELIVERY_LEASE_SECONDS = _seconds("ONEPING_DELIVERY_LEASE_SECONDS", 120)
# A queued delivery whose task has not run after this long is enqueued again by the sweep.
ONEPING_OUTBOX_SWEEP_AFTER_SECONDS = _seconds("ONEPING_OUTBOX_SWEEP_AFTER_SECONDS", 180)

# Pacing (channels_app.pacing): where the token buckets live — "redis" (the cache's Redis,
# so every worker shares them) or "database" (a row per bucket; the embedded default's).
# Unset: redis when CACHE_URL is a Redis URL, else database.
ONEPING_PACING_STORE = env_str("ONEPING_PACING_STORE", "")
# Buckets are filled this much slower than the provider's published rate, so the jitter
# between taking a token and the request reaching the provider cannot make a burst.
ONEPING_PACING_HEADROOM = env_float("ONEPING_PACING_HEADROOM", 0.9, low=0.5, high=1.0)
# How long a retrying delivery holds the later deliveries of its destination (order kept)
# before they go on without it (the reorder is recorded on their timelines).
ONEPING_PACING_ORDER_WAIT_SECONDS = _seconds("ONEPING_PACING_ORDER_WAIT_SECONDS", 60)
# Email's default rate per channel (messages a second); a channel's max_per_second wins.
ONEPING_PACING_EMAIL_PER_SECOND = env_float(
    "ONEPING_PACING_EMAIL_PER_SECOND", 10.0, low=0.1, high=1000.0
)

# Channel tests are free but capped per channel and UTC day (429 test_limit_exceeded).
ONEPING_TEST_SENDS_PER_DAY = env_int("ONEPING_TEST_SENDS_PER_DAY", 20)

# --- Test mode (accounts.environments) ----------------------------------------------
# Test-mode messages skip the monthly quota but are capped per account and UTC day (429
# test_mode_limit_exceeded), so the simulator cannot be used to load the workers.
ONEPING_TEST_MODE_MESSAGES_PER_DAY = env_int("ONEPING_TEST_MODE_MESSAGES_PER_DAY", 1000)
# How long after a simulated send its provider-side events (delivered, bounced, opened,
# read…) arrive, as a real provider's callbacks would a moment later.
ONEPING_SIMULATOR_REPORT_DELAY_SECONDS = env_float(
    "ONEPING_SIMULATOR_REPORT_DELAY_SECONDS", 2.0, low=0.0, high=600.0
)

# --- Per-account caps ------------------------------------------------------------------
# Endpoints, API keys and members are capped by the account's plan (accounts.limits reads
# Plan.max_*; staff edit plans in the admin). The ONEPING_MAX_* variables of before are
# read once, by migration 0007, to seed the free plan.

# --- Plans' Stripe prices (Plan.price_id(): used when a plan's stripe_price_id is blank) --
STRIPE_PRICE_PRO = os.environ.get("STRIPE_PRICE_PRO", "")
STRIPE_PRICE_BUSINESS = os.environ.get("STRIPE_PRICE_BUSINESS", "")

# --- Billing through Stripe (accounts/billing/) -----------------------------------------
# Without the secret key billing is off: the plan page says so and staff change plans in
# the admin. The webhook secret (whsec_…) verifies POST /billing/stripe/webhook/.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
# Where Stripe's API is: tests and staging point it at a fake.
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")

# --- Outgoing webhooks ----------------------------------------------------------------
ONEPING_WEBHOOK_TIMEOUT_SECONDS = 15.0
# How long a worker may hold a webhook delivery it is sending: a few times the timeout,
# since a batch's POSTs run side by side.
ONEPING_WEBHOOK_LEASE_SECONDS = _seconds("ONEPING_WEBHOOK_LEASE_SECONDS", 60)
# Seconds before each retry after the first, immediate try, each ± the jitter.
ONEPING_WEBHOOK_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]
ONEPING_WEBHOOK_RETRY_JITTER = 0.1
# An endpoint whose every delivery failed for this long is disabled by a periodic task.
ONEPING_WEBHOOK_AUTO_DISABLE_DAYS = 5
# How long the previous secret keeps signing after a rotation.
ONEPING_WEBHOOK_ROTATION_OVERLAP_HOURS = 24

# --- Inbound webhooks ----------------------------------------------------------------
# An event's templates render in a forked child whose memory may grow by this much over
# what it inherited, and which is killed after this long (webhooks/inbound/isolation.py).
ONEPING_TEMPLATE_MEMORY_BUDGET_MB = env_int("ONEPING_TEMPLATE_MEMORY_BUDGET_MB", 64)
ONEPING_TEMPLATE_TIMEOUT_SECONDS = env_int("ONEPING_TEMPLATE_TIMEOUT_SECONDS", 10)
# How long a worker may hold an inbound event it is processing, and how many times its
# processing may be interrupted (the worker died) before the event fails for good.
ONEPING_INBOUND_LEASE_SECONDS = _seconds("ONEPING_INBOUND_LEASE_SECONDS", 120)
ONEPING_INBOUND_MAX_INTERRUPTIONS = env_int("ONEPING_INBOUND_MAX_INTERRUPTIONS", 5)
# How old (or how far ahead) a signed timestamp may be before the request is refused as a
# possible replay: every scheme that signs a timestamp (webhooks/inbound/schemes/base.py).
ONEPING_INBOUND_TIMESTAMP_TOLERANCE_SECONDS = env_int(
    "ONEPING_INBOUND_TIMESTAMP_TOLERANCE_SECONDS", 300
)
# POST /hooks/in/<token>: requests per second (and burst) per inbound endpoint and per
# account, counted in the shared cache (webhooks/inbound/ratelimit.py).
ONEPING_INBOUND_RATE_PER_ENDPOINT = env_int("ONEPING_INBOUND_RATE_PER_ENDPOINT", 50)
ONEPING_INBOUND_BURST_PER_ENDPOINT = env_int("ONEPING_INBOUND_BURST_PER_ENDPOINT", 100)
ONEPING_INBOUND_RATE_PER_ACCOUNT = env_int("ONEPING_INBOUND_RATE_PER_ACCOUNT", 200)
ONEPING_INBOUND_BURST_PER_ACCOUNT = env_int("ONEPING_INBOUND_BURST_PER_ACCOUNT", 400)
# POST /api/v1/inbound-endpoints/{id}/preview (and the dashboard's form) per account: each
# runs the customer's templates in a forked child (webhooks/inbound/preview.py).
ONEPING_INBOUND_PREVIEW_RATE_PER_ACCOUNT = env_int("ONEPING_INBOUND_PREVIEW_RATE_PER_ACCOUNT", 1)
ONEPING_INBOUND_PREVIEW_BURST_PER_ACCOUNT = env_int("ONEPING_INBOUND_PREVIEW_BURST_PER_ACCOUNT", 10)
# How many reverse proxies in front of the web processes append to X-Forwarded-For: the
# client's address for inbound allowed_ips is the one the outermost of them saw
# (webhooks.inbound.allowlist). 0: the socket's peer, and X-Forwarded-For is ignored.
ONEPING_TRUSTED_PROXY_COUNT = env_int("ONEPING_TRUSTED_PROXY_COUNT", 0)
if ONEPING_TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(
        f"ONEPING_TRUSTED_PROXY_COUNT={ONEPING_TRUSTED_PROXY_COUNT}: use 0 or more proxies."
    )

# --- Metrics (oneping/metrics.py, README "Metrics and alerts") ------------------------------
# GET /metrics answers only a request with `Authorization: Bearer <METRICS_TOKEN>`; unset,
# it is 404. Every process of a host writes its counters into PROMETHEUS_MULTIPROC_DIR
# (prometheus-client's multiprocess mode), which the scrape adds up. The client reads the
# variable when it is imported, so it is decided here, before any app code imports it;
# with a token and no folder of its own, the folder is in the data dir.
METRICS_TOKEN = env_str("METRICS_TOKEN")
if METRICS_TOKEN:
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "metrics"))
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

# --- Logging --------------------------------------------------------------------------
# plain: a line of text; json: one JSON object a line, with the request id, account id and
# message/delivery/event ids where known (oneping/logs.py).
LOG_FORMAT = env_str("LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "oneping.logs.JsonFormatter"},
    },
    "filters": {"context": {"()": "oneping.logs.ContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # urllib3 logs each request's path at DEBUG, and a webhook URL's path is its secret.
    "loggers": {"urllib3": {"level": "INFO"}},
}

# --- Provider status callbacks (channels_app/callbacks/, README "Provider status callbacks")
# POST /hooks/providers/<provider>/<token>/: requests per second (and burst) per channel and
# per account. Generous: a busy sender's provider reports every message two or three times
# (sent, delivered, read), and a Meta webhook may carry many statuses at once.
ONEPING_CALLBACK_RATE_PER_CHANNEL = env_int("ONEPING_CALLBACK_RATE_PER_CHANNEL", 200)
ONEPING_CALLBACK_BURST_PER_CHANNEL = env_int("ONEPING_CALLBACK_BURST_PER_CHANNEL", 1000)
ONEPING_CALLBACK_RATE_PER_ACCOUNT = env_int("ONEPING_CALLBACK_RATE_PER_ACCOUNT", 500)
ONEPING_CALLBACK_BURST_PER_ACCOUNT = env_int("ONEPING_CALLBACK_BURST_PER_ACCOUNT", 2000)
# A report whose delivery is not known yet (the provider answered the callback before we
# recorded the send's answer) is applied again after these waits, ± the jitter; then it
# is a dead letter (reprocessed from the admin).
ONEPING_REPORT_RETRY_SCHEDULE = [2, 10, 60, 300, 1800]
ONEPING_REPORT_RETRY_JITTER = 0.2
# How long a worker may hold a report it is applying before another may take it over.
ONEPING_REPORT_LEASE_SECONDS = _seconds("ONEPING_REPORT_LEASE_SECONDS", 60)

# --- Own open and click tracking (channels_app/tracking/, README "Open and click tracking")
# Hits recorded per second (and burst) per delivery and per account; over them a hit is
# still answered (the pixel, the redirect) but not recorded.
ONEPING_TRACKING_RATE_PER_DELIVERY = env_int("ONEPING_TRACKING_RATE_PER_DELIVERY", 1)
ONEPING_TRACKING_BURST_PER_DELIVERY = env_int("ONEPING_TRACKING_BURST_PER_DELIVERY", 10)
ONEPING_TRACKING_RATE_PER_ACCOUNT = env_int("ONEPING_TRACKING_RATE_PER_ACCOUNT", 100)
ONEPING_TRACKING_BURST_PER_ACCOUNT = env_int("ONEPING_TRACKING_BURST_PER_ACCOUNT", 1000)
# The same open (or click of one link) again within this many seconds is one: image proxies
# and link scanners fetch a URL several times for one person's open or click. 0: each counts.
ONEPING_TRACKING_REPEAT_SECONDS = env_int("ONEPING_TRACKING_REPEAT_SECONDS", 60)
# At most this many opens and clicks recorded per delivery; later ones are answered only.
ONEPING_TRACKING_MAX_PER_DELIVERY = env_int("ONEPING_TRACKING_MAX_PER_DELIVERY", 100)
