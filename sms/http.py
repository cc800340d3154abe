"""The one outbound HTTP session for SMS providers: HTTPS, explicit timeouts, no retries.

urllib3 retries idempotent methods on some failures by default, and a provider's "send" is
reached by GET as often as by POST, so a silent retry could send a second SMS. The session's
adapter is mounted with zero retries of every kind; what may be repeated is decided by the
outbox, which knows whether a call was a send or a status query.

Transport failures are sorted by whether the request could have reached the provider:
a refused connection, a DNS failure or a connect timeout means nothing was sent; a read
timeout or a connection dropped mid-answer means the provider may have acted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError
from urllib3.util.retry import Retry

from sms.gateway import OutcomeUnknown, RetryableError

USER_AGENT = "amo-bridge-sms/1.0"
CONNECT_TIMEOUT = 5.0
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def make_session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=Retry(total=0, connect=0, read=0, redirect=0,
                                            status=0, other=0, raise_on_status=False))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def require_https(base_url: str) -> str:
    """Provider APIs are HTTPS; plain HTTP is accepted only on loopback (the test servers)."""
    parts = urlsplit(base_url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        return base_url.rstrip("/")
    raise ValueError(f"SMS provider URL must be https://, got {base_url!r}")


def _not_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason: Any = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError | NameResolutionError)


def call(session: requests.Session, method: str, url: str, *, timeout: float,
         is_send: bool, params: Mapping[str, Any] | None = None,
         data: Mapping[str, Any] | None = None, json: Any = None,
         auth: tuple[str, str] | None = None) -> requests.Response:
    """One HTTP request; transport failures become RetryableError or OutcomeUnknown."""
    try:
        return session.request(method, url, params=params, data=data, json=json, auth=auth,
                               timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
                               allow_redirects=False)
    except requests.RequestException as exc:
        if not is_send or _not_sent(exc):
            raise RetryableError(f"{type(exc).__name__}: the provider was not reached") from exc
        raise OutcomeUnknown(f"{type(exc).__name__}: the answer was lost") from exc


def server_trouble(response: requests.Response, *, is_send: bool) -> None:
    """A 5xx, 429 or an unreadable answer: unknown after a send, retryable otherwise."""
    status = response.status_code
    if status == 429 or status >= 500:
        if is_send and status != 429:
            raise OutcomeUnknown(f"HTTP {status} after the request was sent",
                                 http_status=status)
        raise RetryableError(f"HTTP {status}", http_status=status)


def json_body(response: requests.Response, *, is_send: bool) -> Any:
    try:
        return response.json()
    except ValueError:
        message = f"HTTP {response.status_code}: not JSON: {response.text[:120]!r}"
        if is_send:
            raise OutcomeUnknown(message, http_status=response.status_code) from None
        raise RetryableError(message, http_status=response.status_code) from None


def kopecks(value: Any) -> int | None:
    """A provider's money value ("1.40", 1.4, "1,40") in kopecks, exactly."""
    from decimal import Decimal, InvalidOperation

    if value in (None, ""):
        return None
    try:
        return int((Decimal(str(value).replace(",", ".")) * 100).to_integral_value())
    except InvalidOperation:
        return None
