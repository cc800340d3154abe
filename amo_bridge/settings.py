"""One typed, frozen settings object, built once from the environment.

Only the app factory, the worker bootstrap and the CLI call :func:`load_settings`; everything
else receives a :class:`Settings`. Every variable is parsed strictly: a malformed value raises
:class:`SettingsError` whose message names the variable, and the CLI prints it as one line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENVIRONMENTS = ("development", "production", "test")
JOB_MODES = ("auto", "rq", "thread", "inline")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")
SMS_GATEWAYS = ("console", "fake", "smsru", "smsc", "smsaero")
#: Which variables each SMS gateway needs (checked at start-up, named in the error).
SMS_CREDENTIALS = {
    "smsru": ("SMSRU_API_ID",),
    "smsc": ("SMSC_LOGIN", "SMSC_PASSWORD"),
    "smsaero": ("SMSAERO_EMAIL", "SMSAERO_API_KEY"),
}


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True, kw_only=True)
class Settings:
    env: str = "development"
    instance_path: Path = Path("instance")
    database_url: str = ""
    redis_url: str | None = None
    job_mode: str = "auto"
    secret_key: str = ""
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    log_format: str = "text"
    amocrm_client_id: str | None = None
    amocrm_client_secret: str | None = None
    amocrm_redirect_uri: str | None = None
    amocrm_rate_per_second: float = 5.0
    amocrm_timeout_seconds: float = 10.0
    webhook_max_body_bytes: int = 16 * 1024 * 1024
    sweeper_stale_seconds: int = 300
    # SMS (issue 7): the gateway, an optional fallback, and each provider's credentials.
    sms_gateway: str = "console"
    sms_fallback_gateway: str | None = None
    sms_sender: str | None = None
    sms_timeout_seconds: float = 10.0
    sms_callback_secret: str | None = None
    smsru_api_id: str | None = None
    smsc_login: str | None = None
    smsc_password: str | None = None
    smsaero_email: str | None = None
    smsaero_api_key: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def effective_job_mode(self) -> str:
        """`auto` resolves to RQ when Redis is configured, else the embedded worker thread."""
        if self.job_mode != "auto":
            return self.job_mode
        return "rq" if self.redis_url else "thread"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


# --- parsers: each takes the raw string and returns the value or raises ValueError ---------


def _choice(options: tuple[str, ...], *, upper: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}, got {raw!r}")
        return value

    return parse


def _positive_int(raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"must be positive, got {value}")
    return value


def _rate(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError(f"must be a number of requests per second, got {raw!r}") from None
    # amoCRM blocks accounts that exceed 7 requests/s repeatedly (AMOCRM.md, Limits).
    if not 0 < value <= 7:
        raise ValueError(f"must be above 0 and at most 7 (amoCRM's limit), got {value}")
    return value


def _positive_float(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError(f"must be a number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"must be positive, got {value}")
    return value


def _http_url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an http(s) URL, got {raw!r}")
    return value


def _redis_url(raw: str) -> str:
    value = raw.strip()
    if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"must be a redis://, rediss:// or unix:// URL, got {raw!r}")
    return value


def normalize_database_url(raw: str) -> str:
    """Accept the usual spellings and pin the PostgreSQL driver to psycopg 3."""
    value = raw.strip()
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(f"is not a database URL: {raw!r}") from None
    backend = url.get_backend_name()
    if backend == "postgres":
        url = url.set(drivername="postgresql+psycopg")
    elif backend == "postgresql":
        if url.drivername in ("postgresql", "postgresql+psycopg2"):
            url = url.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise ValueError(f"must be a postgresql:// or sqlite:// URL, got {backend!r}")
    return url.render_as_string(hide_password=False)


_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "AMO_BRIDGE_ENV": ("env", _choice(ENVIRONMENTS)),
    "INSTANCE_PATH": ("instance_path", lambda raw: Path(raw.strip()).expanduser()),
    "DATABASE_URL": ("database_url", normalize_database_url),
    "REDIS_URL": ("redis_url", _redis_url),
    "JOB_MODE": ("job_mode", _choice(JOB_MODES)),
    "SECRET_KEY": ("secret_key", str.strip),
    "PUBLIC_URL": ("public_url", _http_url),
    "LOG_LEVEL": ("log_level", _choice(LOG_LEVELS, upper=True)),
    "LOG_FORMAT": ("log_format", _choice(LOG_FORMATS)),
    "AMOCRM_CLIENT_ID": ("amocrm_client_id", str.strip),
    "AMOCRM_CLIENT_SECRET": ("amocrm_client_secret", str.strip),
    "AMOCRM_REDIRECT_URI": ("amocrm_redirect_uri", _http_url),
    "AMOCRM_RATE_PER_SECOND": ("amocrm_rate_per_second", _rate),
    "AMOCRM_TIMEOUT_SECONDS": ("amocrm_timeout_seconds", _positive_float),
    "WEBHOOK_MAX_BODY_BYTES": ("webhook_max_body_bytes", _positive_int),
    "SWEEPER_STALE_SECONDS": ("sweeper_stale_seconds", _positive_int),
    "SMS_GATEWAY": ("sms_gateway", _choice(SMS_GATEWAYS)),
    "SMS_FALLBACK_GATEWAY": ("sms_fallback_gateway", _choice(SMS_GATEWAYS)),
    "SMS_SENDER": ("sms_sender", str.strip),
    "SMS_TIMEOUT_SECONDS": ("sms_timeout_seconds", _positive_float),
    "SMS_CALLBACK_SECRET": ("sms_callback_secret", str.strip),
    "SMSRU_API_ID": ("smsru_api_id", str.strip),
    "SMSC_LOGIN": ("smsc_login", str.strip),
    "SMSC_PASSWORD": ("smsc_password", str.strip),
    "SMSAERO_EMAIL": ("smsaero_email", str.strip),
    "SMSAERO_API_KEY": ("smsaero_api_key", str.strip),
}

#: Every variable the bridge reads, for `config/.env.example` and the `check` command.
VARIABLES = tuple(_PARSERS)


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from ``environ`` (``os.environ`` by default); empty values count as unset."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for variable, (attribute, parse) in _PARSERS.items():
        raw = environ.get(variable)
        if raw is None or raw.strip() == "":
            continue
        try:
            values[attribute] = parse(raw)
        except ValueError as exc:
            raise SettingsError(variable, str(exc)) from None
    values.update(overrides)
    settings = Settings(**values)
    return _complete(settings)


def _complete(settings: Settings) -> Settings:
    """Fill derived defaults and check the combinations a single parser cannot see."""
    changes: dict[str, Any] = {}
    instance = settings.instance_path.resolve()
    changes["instance_path"] = instance
    if not settings.database_url:
        changes["database_url"] = f"sqlite:///{instance / 'amo_bridge.sqlite3'}"
    if settings.env == "production":
        if not settings.secret_key:
            raise SettingsError("SECRET_KEY", "is required when AMO_BRIDGE_ENV=production")
        if (settings.database_url or "").startswith("sqlite"):
            # Allowed, but only deliberately: a single-machine install.
            pass
    if settings.job_mode == "rq" and not settings.redis_url:
        raise SettingsError("JOB_MODE", "is 'rq' but REDIS_URL is not set")
    _check_sms(settings)
    return replace(settings, **changes)


def _check_sms(settings: Settings) -> None:
    if settings.sms_fallback_gateway and settings.sms_fallback_gateway == settings.sms_gateway:
        raise SettingsError("SMS_FALLBACK_GATEWAY", "must differ from SMS_GATEWAY")
    for variable, name in (("SMS_GATEWAY", settings.sms_gateway),
                           ("SMS_FALLBACK_GATEWAY", settings.sms_fallback_gateway)):
        for needed in SMS_CREDENTIALS.get(name or "", ()):
            if not getattr(settings, needed.lower()):
                raise SettingsError(needed, f"is required when {variable}={name}")


def describe(settings: Settings) -> dict[str, str]:
    """A printable view with secrets masked (for `amo-bridge check`)."""
    shown: dict[str, str] = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        if f.name in ("secret_key", "amocrm_client_secret", "sms_callback_secret",
                      "smsru_api_id", "smsc_password", "smsaero_api_key"):
            value = "set" if value else "not set"
        elif f.name in ("database_url", "redis_url") and value:
            value = _mask_url(str(value))
        shown[f.name] = str(value)
    return shown


def _mask_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
