"""The one outbound HTTP session factory, and how an account's base URL is spelled.

Every outbound call gets a default timeout, our user agent and a pooled connection. Transport
retries are limited to *connect* failures: the request never left, so repeating it is safe for
any method. Everything else (read timeouts, 5xx) is decided by the caller, which knows whether
its call is idempotent (see :mod:`amo_bridge.amocrm.transport`).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DEFAULT_TIMEOUT = 10.0


def user_agent() -> str:
    try:
        version = metadata.version("amo-bridge")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"amo-bridge/{version}"


class OutgoingSession(requests.Session):
    """A ``requests.Session`` whose calls time out unless told otherwise."""

    def __init__(self, *, timeout: float) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)


def make_session(
    *,
    timeout: float = DEFAULT_TIMEOUT,
    agent: str | None = None,
    pool_maxsize: int = 16,
    connect_retries: int = 1,
) -> OutgoingSession:
    """A pooled session for outbound calls (amoCRM, SMS gateways, webhooks we send)."""
    session = OutgoingSession(timeout=timeout)
    session.headers["User-Agent"] = agent or user_agent()
    retry = Retry(
        total=connect_retries,
        connect=connect_retries,
        # False re-raises at once, so a read timeout stays a ReadTimeout (not "max retries").
        read=False,
        status=0,
        other=False,
        redirect=0,
        backoff_factor=0.2,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def base_url_for(subdomain_or_host: str) -> str:
    """``broker`` → ``https://broker.amocrm.ru``; hosts and URLs are kept (Kommo, simulator).

    Accepts ``broker``, ``broker.amocrm.ru``, ``broker.kommo.com``, ``https://broker.kommo.com/``
    and ``http://127.0.0.1:5001/s/broker``; returns an origin (plus path prefix) without the
    trailing slash, to which ``/api/v4/...`` and ``/oauth2/access_token`` are joined.
    """
    value = subdomain_or_host.strip().rstrip("/")
    if not value:
        raise ValueError("empty amoCRM subdomain or host")
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {subdomain_or_host!r}")
        return value
    if "." not in value:
        # A bare subdomain: amoCRM's Russian cloud is the default (AMOCRM.md "API v4").
        return f"https://{value}.amocrm.ru"
    return f"https://{value}"


def subdomain_of(base_url: str) -> str:
    """The account's subdomain: first label of the host, or the last path segment (simulator)."""
    parts = urlsplit(base_url)
    path = parts.path.strip("/")
    if path:
        return path.rsplit("/", 1)[-1]
    return (parts.hostname or "").split(".", 1)[0]
