"""Structured logging with request ids, phones masked and secrets never written.

Every record passes :class:`RedactingFilter`: phone numbers are masked, bearer tokens, OAuth
tokens, client secrets and the secret part of webhook URLs are replaced — in the message, the
arguments and any ``extra`` fields.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

from amo_bridge.phones import mask_phones

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "amo_bridge_request_id", default=None
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_from(incoming: str) -> str:
    """The caller's ``X-Request-ID`` if it is a sane token, else a new one."""
    return incoming if _REQUEST_ID.match(incoming) else os.urandom(16).hex()

_SECRET_KEYS = re.compile(r"(token|secret|password|authorization|signature|code_hash)", re.I)
#: (words one of which the text must contain, case-folded, for the pattern to be tried at all,
#: pattern, replacement). The words spare the case-insensitive scans on most lines: redaction
#: runs on every access-log line, and the webhook door's are thousands a minute in a burst.
_SECRET_PATTERNS = [
    (("bearer",), re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[redacted]"),
    (
        ("token", "secret", "password", "code"),
        re.compile(
            r"(?i)((?:access_token|refresh_token|client_secret|secret_key|password|code)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
        ),
        r"\1[redacted]",
    ),
    # The per-account secret in webhook URLs: /webhooks/amocrm/<token>[/dp]
    (("/webhooks/",), re.compile(r"(/webhooks/[a-z_]+/)[^/\s?\"']+"), r"\1[redacted]"),
]
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def redact(text: str) -> str:
    folded = text.casefold()  # as re.IGNORECASE folds: 'ſecret' is tried too
    for words, pattern, replacement in _SECRET_PATTERNS:
        if any(word in folded for word in words):
            text = pattern.sub(replacement, text)
    return mask_phones(text)


def _redact_value(key: str, value: Any) -> Any:
    if _SECRET_KEYS.search(key):
        return "[redacted]"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, _redact_value(key, value))
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = None
        text = super().format(record)
        return redact(text) if record.exc_info else text


def configure_logging(*, level: str = "INFO", fmt: str = "text") -> None:
    """Install one stderr handler on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_amo_bridge", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._amo_bridge = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
