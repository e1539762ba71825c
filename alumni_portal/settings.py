"""Settings for Alumni Portal, driven by environment variables (see .env.example)."""

import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def secret(name: str, default: str = "") -> str:
    """A secret exactly as set: django-environ reads a value starting with "$" as the name of another
    variable, and Django's own generated secret keys can start with "$"."""
    return os.environ.get(name, default)


# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = secret(
    "DJANGO_SECRET_KEY", default="dev-insecure-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz" if DEBUG else ""
)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for development).")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "import_export",
    "apps.core",
    "apps.accounts",
    "apps.alumni",
    "apps.imports",
    "apps.dataservice",
    "apps.reports",
    "apps.chapters",
    "apps.notifications",
    "apps.news",
    "apps.portal",
    "apps.matching",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "apps.accounts.middleware.StaffSessionPolicyMiddleware",
    "apps.core.middleware.NoStoreForAuthenticatedMiddleware",
    # Axes must be last so that it sees the outcome of every authentication attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "alumni_portal.urls"
WSGI_APPLICATION = "alumni_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Keep connections, but check them before use so web processes survive a PostgreSQL restart.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "apps.core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("DJANGO_CACHE_PREFIX", default="alumni"),
        }
    }
    # Sessions read from Redis, written through to the database: every signed-in request (portal,
    # app, admin) otherwise pays a database round trip for its session before any work.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "contact-rate-nightly": {
        "task": "apps.alumni.tasks.contact_rate_refresh_task",
        "schedule": crontab(hour=2, minute=30),
    },
    # The duplicate finder over every person (set-based SQL; skipped if a scan is already running).
    "duplicate-scan-nightly": {
        "task": "apps.alumni.tasks.duplicate_scan_task",
        "schedule": crontab(hour=3, minute=15),
    },
    # Identity-check results are kept 30 days for download, then cleared (counts and audit stay).
    "identity-check-results-purge": {
        "task": "apps.alumni.tasks.identity_check_results_purge_task",
        "schedule": crontab(hour=4, minute=5),
    },
}

# --- Authentication ---------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's and allauth's backends, loading a session's user with its alumni record.
    "apps.portal.backends.ModelBackend",
    "apps.portal.backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
PASSWORD_RESET_TIMEOUT = 3600

# Sign in by email or by mobile number (E.164 on User.phone); an account never needs an email.
ACCOUNT_LOGIN_METHODS = {"email", "phone"}
# allauth's checks want "email*" next to mandatory verification; the signup form
# (ACCOUNT_SIGNUP_FORM_CLASS) makes email optional and asks for an email or a mobile number.
ACCOUNT_SIGNUP_FIELDS = ["email*", "phone", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "apps.accounts.forms.SignupExtraForm"
ACCOUNT_FORMS = {"login": "apps.accounts.forms.LoginForm"}
# Sign in with a one-time code sent by SMS (or by email).
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
# Six digits, as people expect from an SMS code (attempts per code and requests are rate limited).
ACCOUNT_LOGIN_BY_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="Alumni Portal")
# Roles whose members must enrol a TOTP factor before they may use the admin: everyone who sees
# other people's personal data (SECURITY.md, ASVS 6.3.3). Development turns it off.
MFA_REQUIRED_ROLES = env.list(
    "MFA_REQUIRED_ROLES",
    default=[] if DEBUG else ["office_admin", "office_staff", "college_staff", "class_liaison", "chapter_leader"],
)

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Lock the pair, so a guesser cannot lock a real member of staff out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "apps.accounts.axes.username_from_credentials"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
# allauth's default failed-login limit also counts per email from any address, which would let
# a guesser lock staff out from elsewhere and answer before axes can; keep only its per-IP part.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip",
    # Claim my record (pages and API share these counters): starting a claim, entering its code.
    "claim_start": "5/h/user,10/d/user,10/m/ip,50/d/ip",
    "claim_confirm": "10/10m/user,30/10m/ip",
}

STAFF_SESSION_IDLE_SECONDS = env.int("STAFF_SESSION_IDLE_SECONDS", default=30 * 60)
STAFF_SESSION_MAX_SECONDS = env.int("STAFF_SESSION_MAX_SECONDS", default=8 * 3600)
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=14 * 24 * 3600)

# allauth's headless API for the mobile app ("app": X-Session-Token) and browsers, beside the pages.
INSTALLED_APPS += ["allauth.socialaccount", "allauth.headless"]
HEADLESS_ONLY = False
HEADLESS_CLIENTS = ("app", "browser")
# WeChat sign-in (allauth's weixin provider) is on when the app's credentials are set; the account
# it creates has no email address.
WECHAT_APP_ID = env("WECHAT_APP_ID", default="")
WECHAT_APP_SECRET = secret("WECHAT_APP_SECRET")
SOCIALACCOUNT_ADAPTER = "apps.accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_REQUIRED = False
SOCIALACCOUNT_PROVIDERS: dict = {}
if WECHAT_APP_ID and WECHAT_APP_SECRET:
    INSTALLED_APPS += ["allauth.socialaccount.providers.weixin"]
    SOCIALACCOUNT_PROVIDERS["weixin"] = {
        "APPS": [{"client_id": WECHAT_APP_ID, "secret": WECHAT_APP_SECRET}],
        "SCOPE": ["snsapi_login"],
    }
# Claims whose code ran out move to staff review.
CELERY_BEAT_SCHEDULE["claim-codes-expire"] = {
    "task": "apps.accounts.tasks.claim_codes_expire_task",
    "schedule": crontab(minute="*/10"),
}

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "var" / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6's default, adopted now

# --- Email ------------------------------------------------------------------------------
EMAIL_CONFIG = env.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="alumni@example.edu")

# --- SMS ------------------------------------------------------------------------------
SMS_BACKEND = env("SMS_BACKEND", default="apps.notifications.sms.ConsoleSmsBackend")

# --- Personal data ----------------------------------------------------------------------
# Fernet key(s) for column encryption of ID-card numbers; the first encrypts, all decrypt,
# the last also keys the lookup hashes (so rotate by prepending a new key).
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS",
    default=["ZGV2LW9ubHktZmllbGQta2V5LWNoYW5nZS1tZS0wMDA="] if DEBUG else [],
)
# Years within which a verified channel still counts as "effective" (有效联系).
CONTACT_RATE_YEARS = env.int("CONTACT_RATE_YEARS", default=3)

# --- Data services ----------------------------------------------------------------------
# Exports of up to this many people stream straight to the browser; larger ones run as a job.
EXPORT_SYNC_MAX_ROWS = env.int("EXPORT_SYNC_MAX_ROWS", default=20_000)
EXPORT_LINK_HOURS = env.int("EXPORT_LINK_HOURS", default=24)
DATA_REQUEST_LINK_HOURS = env.int("DATA_REQUEST_LINK_HOURS", default=72)
DATA_REQUEST_NUMBER_PREFIX = env("DATA_REQUEST_NUMBER_PREFIX", default="SJ")
# Produced exports and deliveries; never under MEDIA_ROOT, only the download views serve them.
DATA_FILES_ROOT = env.path("DATA_FILES_ROOT", default=BASE_DIR / "var" / "private")
CELERY_BEAT_SCHEDULE["data-links-expire"] = {
    "task": "apps.dataservice.tasks.data_links_expire_task",
    "schedule": crontab(minute=15),
}

# --- Communications (apps.notifications, apps.news) -----------------------------------------
# Outbox mail goes through this SMTP server when set (smtp://host:port, as EMAIL_URL); else EMAIL_URL's.
NOTIFICATIONS_EMAIL_URL = env("NOTIFICATIONS_EMAIL_URL", default="")
NOTIFICATIONS_FROM_EMAIL = env("NOTIFICATIONS_FROM_EMAIL", default="")
# Absolute links in emails (unsubscribe, preferences) start with this.
NOTIFICATIONS_BASE_URL = env("NOTIFICATIONS_BASE_URL", default="http://127.0.0.1:8000")
NOTIFICATIONS_MESSAGE_ID_DOMAIN = env("NOTIFICATIONS_MESSAGE_ID_DOMAIN", default="alumni.example.edu")
# Celery queue of the outbox tasks ("" = the default queue), so mailings never starve imports.
NOTIFICATIONS_QUEUE = env("NOTIFICATIONS_QUEUE", default="")
# Messages per second over all workers together (0 = as fast as the workers go).
NOTIFICATIONS_EMAIL_RATE = env.float("NOTIFICATIONS_EMAIL_RATE", default=100)
NOTIFICATIONS_SMS_RATE = env.float("NOTIFICATIONS_SMS_RATE", default=20)
# Parallel senders per kind (email, sms, webhook); each holds one SMTP connection at a time.
NOTIFICATIONS_SEND_SLOTS = env.int("NOTIFICATIONS_SEND_SLOTS", default=2)
NOTIFICATIONS_BATCH_SIZE = env.int("NOTIFICATIONS_BATCH_SIZE", default=200)
# A claimed row not marked sent within this many seconds is claimable again (its worker died).
NOTIFICATIONS_SEND_LEASE_SECONDS = env.int("NOTIFICATIONS_SEND_LEASE_SECONDS", default=300)
# One sending task works this long, then hands over to a fresh task (keeps tasks short).
NOTIFICATIONS_DRAIN_SECONDS = env.int("NOTIFICATIONS_DRAIN_SECONDS", default=60)
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=6)
NOTIFICATIONS_RETRY_BASE_SECONDS = env.int("NOTIFICATIONS_RETRY_BASE_SECONDS", default=60)
# Person ids per materialisation transaction of a mailing.
NOTIFICATIONS_MATERIALISE_CHUNK = env.int("NOTIFICATIONS_MATERIALISE_CHUNK", default=20_000)
# Categories sent only to people who said yes (the others: to everyone who did not say no). [legal]
NOTIFICATIONS_OPT_IN_CATEGORIES = env.list("NOTIFICATIONS_OPT_IN_CATEGORIES", default=[])
# Shared secret of the bounce webhook (HMAC-SHA256 of "<timestamp>.<body>"); empty = webhook off.
NOTIFICATIONS_BOUNCE_WEBHOOK_SECRET = secret("NOTIFICATIONS_BOUNCE_WEBHOOK_SECRET")
NOTIFICATIONS_WEBHOOK_TIMEOUT = env.int("NOTIFICATIONS_WEBHOOK_TIMEOUT", default=10)
# The HTTP SMS gateway (apps.notifications.sms.HttpGatewaySmsBackend).
SMS_GATEWAY_URL = env("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_KEY = secret("SMS_GATEWAY_KEY")
SMS_GATEWAY_SENDER = env("SMS_GATEWAY_SENDER", default="")
SMS_GATEWAY_TIMEOUT = env.int("SMS_GATEWAY_TIMEOUT", default=10)
# The relay re-publishes due outbox work and starts scheduled mailings (no long broker ETAs).
CELERY_BEAT_SCHEDULE["notifications-outbox-relay"] = {
    "task": "apps.notifications.tasks.outbox_relay_task",
    "schedule": timedelta(seconds=30),
}

# --- Imports ---------------------------------------------------------------------------
# Uploads (admin and API) larger than this are refused before they are read; 0 = no limit.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=100 * 1024 * 1024)
# The same limit for `manage.py import_alumni` run by an operator on the server; 0 = no limit.
IMPORT_COMMAND_MAX_BYTES = env.int("IMPORT_COMMAND_MAX_BYTES", default=0)
# How often (rows) progress is published while a job streams its file.
IMPORT_PROGRESS_EVERY = env.int("IMPORT_PROGRESS_EVERY", default=5_000)
# Sample rows kept per kind (creates, updates, flagged, rejected) in a job's preview.
IMPORT_PREVIEW_SAMPLES = env.int("IMPORT_PREVIEW_SAMPLES", default=50)
# PostgreSQL: an apply that inserts at least this many people into a table holding fewer rows
# than that drops and rebuilds the alumni tables' secondary indexes and foreign keys inside its
# transaction (much faster for first loads; locks the tables until commit). 0 = never.
IMPORT_BULK_LOAD_MIN_ROWS = env.int("IMPORT_BULK_LOAD_MIN_ROWS", default=100_000)
# PostgreSQL: plain CSV files of at least IMPORT_PARALLEL_MIN_ROWS rows are parsed by this many
# forked processes (each normalises every n-th row); 1 = always in the importing process.
IMPORT_PARSE_WORKERS = env.int("IMPORT_PARSE_WORKERS", default=2)
IMPORT_PARALLEL_MIN_ROWS = env.int("IMPORT_PARALLEL_MIN_ROWS", default=50_000)

# --- List matching ----------------------------------------------------------------------
# Names of this university as lists and biographies write them (current and former names,
# short forms), comma separated; "本校", "我校" and "母校" always count.
MATCHING_SCHOOL_NAMES = env.list("MATCHING_SCHOOL_NAMES", default=[])
# Uploaded lists larger than this (bytes) or longer than this (rows) are refused.
MATCHING_MAX_BYTES = env.int("MATCHING_MAX_BYTES", default=20 * 1024 * 1024)
MATCHING_MAX_ROWS = env.int("MATCHING_MAX_ROWS", default=20_000)

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The mobile app signs in through allauth's headless API and sends its X-Session-Token.
        "allauth.headless.contrib.rest_framework.authentication.XSessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # One error body for every endpoint: {"error": {"code", "message", "fields"}}.
    "EXCEPTION_HANDLER": "apps.portal.api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    # An empty value lifts that limit (load tests); the portal pages share the portal_* rates.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="60/min") or None,
        "user": env("API_THROTTLE_USER", default="600/min") or None,
        "portal_directory": env("PORTAL_DIRECTORY_THROTTLE", default="30/min") or None,
        "portal_card_verify": env("PORTAL_CARD_VERIFY_THROTTLE", default="30/min") or None,
        "portal_write": env("PORTAL_WRITE_THROTTLE", default="30/min") or None,
    },
}
SPECTACULAR_SETTINGS = {"TITLE": "Alumni Portal API", "VERSION": "1.0.0"}

# --- Portal -------------------------------------------------------------------------------
# Relayed messages one alumnus may send per hour; email confirmation codes (lifetime in minutes,
# wrong tries before a code locks, codes per address per hour); days an alumni-card QR stays valid.
PORTAL_RELAY_PER_HOUR = env.int("PORTAL_RELAY_PER_HOUR", default=10)
PORTAL_CONFIRM_MINUTES = env.int("PORTAL_CONFIRM_MINUTES", default=10)
PORTAL_CONFIRM_MAX_ATTEMPTS = 5
PORTAL_CONFIRM_SENDS_PER_HOUR = 5
PORTAL_CARD_DAYS = env.int("PORTAL_CARD_DAYS", default=7)
# Front-end libraries installed by npm (`make assets` copies their dist files here); no CDN.
VENDOR_STATIC_DIR = BASE_DIR / "var" / "vendor"
if VENDOR_STATIC_DIR.is_dir():
    STATICFILES_DIRS.append(("vendor", VENDOR_STATIC_DIR))
SPECTACULAR_SETTINGS["SWAGGER_UI_DIST"] = f"{STATIC_URL}vendor/swagger-ui"
SPECTACULAR_SETTINGS["SWAGGER_UI_FAVICON_HREF"] = f"{STATIC_URL}vendor/swagger-ui/favicon-32x32.png"
SPECTACULAR_SETTINGS["REDOC_DIST"] = f"{STATIC_URL}vendor/redoc"
# One name for the privacy levels the three privacy fields share.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    **SPECTACULAR_SETTINGS.get("ENUM_NAME_OVERRIDES", {}),
    "VisibilityEnum": "apps.alumni.models.Visibility",
}

# --- Security headers -------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The Django admin sets inline style attributes; scripts stay strict.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
        # Only behind a proxy that strips and sets this header itself.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging ----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="WARNING")},
}
