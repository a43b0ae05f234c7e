"""PrefLab settings, configured only through environment variables.

Embedded default (nothing to install): SQLite in ``PREFLAB_DATA_DIR`` and a Celery
broker on kombu's filesystem transport. Production sets ``DATABASE_URL`` to
PostgreSQL and ``CELERY_BROKER_URL`` / ``REDIS_URL`` to Redis.
"""

from pathlib import Path

import dj_database_url

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

# Where exports, checkpoints, uploads and the embedded database and broker live.
DATA_DIR = Path(env_str("PREFLAB_DATA_DIR", str(BASE_DIR / ".data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("PREFLAB_REQUIRE_SECRET_KEY", False):
        raise RuntimeError("SECRET_KEY must be set in production (PREFLAB_REQUIRE_SECRET_KEY=1)")
    # A stable per-installation key, so sessions survive restarts of the embedded default.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        import os
        import secrets

        # Readable by this user only: anyone holding it can forge sessions.
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Behind a TLS-terminating proxy: secure cookies, HSTS, and trust its scheme header.
# On by default wherever the site answers to a name other than this machine's (a
# deployment), so production is secure unless PREFLAB_HTTPS=0 says it serves plain http
# on purpose; off for DEBUG and for the embedded default (make run: 127.0.0.1). Not keyed
# on DATABASE_URL: developers and CI run PostgreSQL behind plain http on 127.0.0.1, where
# a Secure session cookie would never come back and every login would silently fail.
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1", "testserver"}
PREFLAB_HTTPS = env_bool("PREFLAB_HTTPS", not DEBUG and not set(ALLOWED_HOSTS) <= _LOCAL_HOSTS)
if PREFLAB_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Health checks reach the web process over plain http from inside (docker-compose).
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 3600)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "django_celery_results",
    "projects",
    "annotation",
    "training",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Scripts and styles from this site only, on every response (common/web/csp.py).
    "common.web.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before any view: a NUL in a path or query is a 400 for every route (common/web/nul_bytes.py).
    "common.web.nul_bytes.RefuseNulBytesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock at BEGIN, so two claims can
    # never both read the same free slot: SQLite's answer to SKIP LOCKED.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    sqlite_test_file = env_str("PREFLAB_SQLITE_TEST_FILE", "")
    if sqlite_test_file:
        # Concurrency tests need a file database that several connections share.
        DATABASES["default"]["TEST"] = {"NAME": sqlite_test_file}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
try:  # whitenoise warns on every start when the folder is missing
    STATIC_ROOT.mkdir(exist_ok=True)
except OSError:
    pass
# Serve straight from static/ when collectstatic has not run (the embedded default).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

STORAGES = {
    # One storage layer for uploads, exports and checkpoints; swap for S3 by setting.
    "default": {
        "BACKEND": env_str(
            "PREFLAB_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": {"location": str(DATA_DIR / "files")},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Import files can be large; the web tier streams them to storage and never parses them.
PREFLAB_IMPORT_MAX_BYTES = env_int("PREFLAB_IMPORT_MAX_BYTES", 2 * 1024 * 1024 * 1024)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Shared state (progress of long jobs) lives in Redis in production, in files otherwise,
# never in process memory, so any web node can answer.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "common.redis_cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
elif CELERY_BROKER_URL.startswith("redis"):
    # Late-acked tasks are redelivered after this; training runs can last many hours.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 48 * 3600}
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "django-db")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "training.export_snapshot": {"queue": "default"},
    "training.run_execute": {"queue": "gpu"},
    "training.score_responses": {"queue": "gpu"},
    "training.project_prerank": {"queue": "gpu"},
}
CELERY_TASK_TRACK_STARTED = True
# Items an export reads per chunk: memory held against queries per item.
PREFLAB_EXPORT_CHUNK_ITEMS = int(env_str("PREFLAB_EXPORT_CHUNK_ITEMS", "500"))
# Seconds without a launcher heartbeat after which a running training run counts as lost.
PREFLAB_RUN_HEARTBEAT_TIMEOUT = env_int("PREFLAB_RUN_HEARTBEAT_TIMEOUT", 120)
# Seconds a running job's task may be held by no live worker before the reaper fails it
# (common.jobs.jobs_reap): longer than a redelivery after a killed pool child takes.
PREFLAB_JOB_LOST_SECONDS = env_int("PREFLAB_JOB_LOST_SECONDS", 60)
# Seconds a running generation job may go without finishing a chunk before a cancel stops
# it at once (its runner died: a killed command, a lost worker). Longer than any chunk.
PREFLAB_GENERATION_STALE_SECONDS = env_int("PREFLAB_GENERATION_STALE_SECONDS", 1800)
# The `accelerate launch` configs of runs with gpus > 1, by the run's `distributed` option:
# DDP (every kind), DeepSpeed ZeRO-3 and FSDP (TRL-backed policy runs). Multi-node: point
# them at your own copies.
_ACCELERATE = BASE_DIR / "training" / "accelerate"
PREFLAB_ACCELERATE_CONFIG = env_str(
    "PREFLAB_ACCELERATE_CONFIG", str(_ACCELERATE / "multi_gpu.yaml")
)
PREFLAB_ACCELERATE_ZERO3_CONFIG = env_str(
    "PREFLAB_ACCELERATE_ZERO3_CONFIG", str(_ACCELERATE / "deepspeed_zero3.yaml")
)
PREFLAB_ACCELERATE_FSDP_CONFIG = env_str(
    "PREFLAB_ACCELERATE_FSDP_CONFIG", str(_ACCELERATE / "fsdp.yaml")
)
# Generators read their API key from a worker environment variable an engineer names;
# only names with this prefix may be read, so no project can send SECRET_KEY,
# DATABASE_URL or a cloud credential to an endpoint of its choosing.
PREFLAB_GENERATOR_KEY_PREFIX = env_str("PREFLAB_GENERATOR_KEY_PREFIX", "PREFLAB_KEY_")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The token's user from the cache, not a query per request (common/api/token_auth.py).
        "common.api.token_auth.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.api.errors.json_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    # Password guessing on the token endpoint and the login page (common/web/auth_throttle.py).
    "DEFAULT_THROTTLE_RATES": {"auth": env_str("PREFLAB_AUTH_RATE", "30/min")},
    # A client's address: REMOTE_ADDR, or behind this many proxies the one they recorded in
    # X-Forwarded-For; never the header as sent, which a client could vary to dodge limits.
    "NUM_PROXIES": env_int("PREFLAB_PROXIES", 1 if PREFLAB_HTTPS else 0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PrefLab API",
    "DESCRIPTION": "Collect preference annotations and manage projects programmatically.",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # JSON bodies only, and the Error body with the 4xx answers each operation can give.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.api.schema.document_api",
    ],
    # Swagger UI from the sidecar package: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Two models have a "kind" choice field; name their enums apart.
    "ENUM_NAME_OVERRIDES": {
        "AnnotationKindEnum": "annotation.models.AnnotationKind",
        "LabelKindEnum": "projects.labels.models.LabelKind",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Who may create projects: "superusers" (staff only), "managers" (anyone who manages a
# project, the default) or "everyone" (any signed-in user).
PREFLAB_PROJECT_CREATORS = env_str("PREFLAB_PROJECT_CREATORS", "managers")
if PREFLAB_PROJECT_CREATORS not in {"superusers", "managers", "everyone"}:
    raise RuntimeError(
        f"PREFLAB_PROJECT_CREATORS={PREFLAB_PROJECT_CREATORS!r}: "
        "use superusers, managers or everyone"
    )

# Claiming: how many leases one annotator may hold at once (the current item plus
# one prefetched so the next switch is instant).
PREFLAB_MAX_LEASES_PER_USER = 2

# API tokens: how long the user a token names is answered from the cache instead of a
# query. Revoking a token or saving its user drops the entry at once; this bounds only
# changes made by bulk updates that send no signal (common/api/token_auth.py).
PREFLAB_TOKEN_CACHE_SECONDS = env_int("PREFLAB_TOKEN_CACHE_SECONDS", 300)

# The annotate loop's hand-written statements are prepared on PostgreSQL once per
# connection (common/db_prepared.py). Turn off behind a pooler in transaction mode that
# cannot carry prepared statements (PgBouncer before 1.21).
PREFLAB_DB_PREPARED = env_bool("PREFLAB_DB_PREPARED", True)
