"""Settings for every environment, read from the environment (see .env.example).

Defaults are production-safe (DEBUG off, secure cookies, a SECRET_KEY is required),
except the one dev default the product promises: with no DATABASE_URL and no REDIS_URL
it runs on SQLite with an embedded (filesystem) Celery broker.
"""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab

from cs_platform.env import email_settings, env_bool, env_int, env_list, env_str, load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent.parent
load_dotenv(BASE_DIR / ".env")

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_str("SECRET_KEY", "insecure-dev-only-key" if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "core",
    "accounts",
    "lifecycle",
    "tickets",
    "integrations",
    "revenue",
    "qbr",
    "churn",
    "migrations_notify",
    "usage",
    "health",
    "playbooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.tenancy.OrganizationMiddleware",
]

ROOT_URLCONF = "cs_platform.urls"
WSGI_APPLICATION = "cs_platform.wsgi.application"

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
                "core.context_processors.tenant",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        # An empty DATABASE_URL counts as unset: SQLite in var/.
        env_str("DATABASE_URL", "") or f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions live in the cache with a database copy, so an authenticated page costs no session query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["core.auth.EmailOrUsernameBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed-login throttling: this many failures per (username, client address) within the window lock it.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False  # English-only UI; skips per-value translation lookups on big lists
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
# Front-end packages come from npm (package-lock.json) and are served from node_modules, never a CDN.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
]
# Uploaded files (ticket attachments). Served only through views that check the tenant, never as static files.
MEDIA_ROOT = env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media"))
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

EMAIL_URL = env_str("EMAIL_URL", "console://" if DEBUG else "smtp://localhost:25")
globals().update(email_settings(EMAIL_URL))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CS Platform <no-reply@localhost>")
# Seals the secrets organizations store (API tokens, webhook secrets); derived from SECRET_KEY when unset.
SECRETS_KEY = env_str("SECRETS_KEY", "")
# The right-hand side of the Message-IDs the inbox sends, so customers' replies thread back to their ticket.
EMAIL_DOMAIN = env_str("EMAIL_DOMAIN", DEFAULT_FROM_EMAIL.rpartition("@")[2].rstrip(">") or "localhost")

SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CS Platform API",
    "DESCRIPTION": "Accounts, contacts, deals, support tickets, QBRs and meetings, feature requests, churn cases, "
    "migration campaigns and product usage of one organization. Authenticate with "
    "`Authorization: Bearer <key>`; the key decides the organization and the role.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from the drf-spectacular-sidecar package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" or a "channel"; each choice set gets its own, readable name.
    "ENUM_NAME_OVERRIDES": {
        "AccountStatusEnum": "accounts.models.AccountStatus",
        "TicketStatusEnum": "tickets.models.Status",
        "TicketChannelEnum": "tickets.models.Channel",
        "IntegrationChannelEnum": [("api", "API"), ("contact_form", "Contact form")],
        "MeetingStatusEnum": "qbr.models.MeetingStatus",
        "MeetingKindEnum": "qbr.models.MeetingKind",
        "FeatureRequestStatusEnum": "qbr.models.FeatureRequestStatus",
        "ChurnStepKindEnum": "churn.models.StepKind",
        "ChurnStepStatusEnum": "churn.models.StepStatus",
        "ChurnCaseStatusEnum": "churn.models.ChurnCaseStatus",
        "MigrationCampaignStatusEnum": "migrations_notify.models.CampaignStatus",
        "PlaybookStatusEnum": "playbooks.models.PlaybookStatus",
    },
}

# Celery: Redis when REDIS_URL is set, otherwise an embedded filesystem broker that needs no server.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # With acks_late, a message a dead worker held comes back after this long; it must outlast the longest task
    # (a sync's time limit is 65 minutes), or a task still running would be handed to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 70 * 60)
    }
else:
    _broker_dir = BASE_DIR / "var" / "celery-broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The DatabaseScheduler copies these into django-celery-beat's tables on start; operators edit them there.
CELERY_BEAT_SCHEDULE = {
    "snapshot-arr-by-cohort-nightly": {
        "task": "accounts.tasks.snapshot_arr_by_cohort_for_all_organizations",
        "schedule": crontab(hour=0, minute=15),
    },
    # Each deadline has its own alarm at the exact moment (tickets.services.sla_refresh); this sweep catches an
    # alarm a broker lost (a restart, an expired visibility timeout) within the minute.
    "refresh-escalations-every-15-minutes": {
        "task": "tickets.escalation_tasks.refresh_escalations_for_all_organizations",
        "schedule": crontab(minute="*/15"),
    },
    # Integrations: incremental syncs every ten minutes (webhooks carry changes in between), a full reconcile nightly
    # that repairs anything a lost webhook missed.
    "integrations-incremental-every-10-minutes": {
        "task": "integrations.tasks.sync_all_organizations",
        "schedule": crontab(minute="*/10"),
        "args": ("incremental",),
    },
    "integrations-full-reconcile-nightly": {
        "task": "integrations.tasks.sync_all_organizations",
        "schedule": crontab(hour=2, minute=30),
        "args": ("full",),
    },
    "sla-breach-sweep-every-minute": {
        "task": "tickets.tasks.sla_breach_sweep",
        "schedule": 60.0,
    },
    # Seed 000's migration timeline: each active campaign's due pass (T-30 notice, daily refresh, T-7 review,
    # deadline-day restarts) once a morning; a pass is claimed once per day, so an extra run changes nothing.
    "migration-campaigns-daily": {
        "task": "migrations_notify.tasks.advance_campaigns_for_all_organizations",
        "schedule": crontab(hour=6, minute=0),
    },
    # Seed 004: 48 hours before a customer meeting, check the customer accepted; every five minutes, each meeting
    # checked once (compare-and-set), so the check lands within five minutes of the 48-hour mark.
    "qbr-attendance-checks-every-5-minutes": {
        "task": "qbr.tasks.attendance_checks_for_all_organizations",
        "schedule": crontab(minute="*/5"),
    },
    # Seeds 000 and 003: QBRs each quarter; each programme account without a proposed or scheduled QBR gets one
    # proposed (one open proposal per account), for its CSM to confirm.
    "qbr-proposals-daily": {
        "task": "qbr.tasks.propose_qbrs_for_all_organizations",
        "schedule": crontab(hour=5, minute=45),
    },
    # Health: every account rescored nightly, one set-based recompute per organization (events rescore in between).
    "health-recompute-nightly": {
        "task": "health.tasks.health_recompute_all_organizations",
        "schedule": crontab(hour=1, minute=30),
    },
    # Playbooks: every minute, enroll by the inaction and schedule triggers, then run each due step once (claimed by
    # compare-and-set on its StepRun row); waits are due_at on rows, never far-future Celery ETAs.
    "playbooks-due-steps-every-minute": {
        "task": "playbooks.tasks.playbooks_tick_all_organizations",
        "schedule": 60.0,
    },
}
# Outbound calls to addresses users type (Slack and playbook webhooks, core.outbound_http) refuse loopback, private,
# link-local and reserved targets unless this is true (the tests' 127.0.0.1 fakes).
OUTBOUND_HTTP_ALLOW_PRIVATE = env_bool("OUTBOUND_HTTP_ALLOW_PRIVATE", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Lists show an exact count up to this bound, then "1,000+": counting a million rows per page view is waste.
LIST_COUNT_BOUND = 1000
LIST_PAGE_SIZE = 25

# Integrations: a sync lock lives this long after its last heartbeat, so a worker killed mid-run blocks the next run
# for at most this long.
SYNC_LOCK_TTL_SECONDS = env_int("SYNC_LOCK_TTL_SECONDS", 120)
