"""One account's pipe to amoCRM: rate limit, bearer token, error policy, pagination.

Error policy (AMOCRM.md "API v4", "Limits", "OAuth 2.0"):

- **429** → the whole account cools down (shared through the limiter) and
  :class:`RateLimited` is raised at once, so the job is rescheduled instead of sleeping.
- **403 with an HTML body** → amoCRM blocked the account: the circuit opens for every process,
  the alert port is told, :class:`AccountBlocked` is raised. 403 with JSON is a missing right.
- **401** → refresh once (under the store's lock) and retry once; a second 401 means the
  integration is disabled: the account is marked disconnected, :class:`IntegrationDisabled`.
- **5xx, timeouts, dropped connections** → retried with exponential backoff for idempotent
  calls. GET is idempotent. PATCH is treated as idempotent too: the bridge only PATCHes by id
  with absolute values (``tags_to_add`` is a no-op for a present tag), so a repeat leaves the
  same state — at worst a second echo webhook, which the write log recognises. POST (create,
  link, notes) is not: once sent, a lost answer raises :class:`OutcomeUnknown` carrying the
  request_ids, and the caller reconciles. A connection that was never established is safe to
  retry for any method.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from amo_bridge.amocrm.errors import (
    AccountBlocked,
    ApiError,
    FieldError,
    Forbidden,
    OutcomeUnknown,
    RateLimited,
    Unavailable,
)
from amo_bridge.amocrm.oauth import TokenManager
from amo_bridge.amocrm.ratelimit import DEFAULT_MAX_WAIT, RateLimiter, acquire

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})


@dataclass(frozen=True, slots=True)
class AccountAlert:
    """Something an admin must hear about: ``kind`` is ``blocked`` or ``disconnected``."""

    kind: str
    account_key: str
    reason: str


AlertPort = Callable[[AccountAlert], None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    backoff: float = 0.5
    #: Cool-down after a 429 when amoCRM sends no Retry-After (it documents none): one
    #: second empties the per-second window; repeated 429s escalate (see ratelimit).
    cool_down: float = 1.0
    #: Wait this long at most for a rate-limit slot; longer becomes ``RateLimited``.
    max_wait: float = DEFAULT_MAX_WAIT
    #: None keeps a block's circuit open until an admin closes it (support lifts blocks).
    block_ttl: float | None = None


class Transport:
    def __init__(
        self,
        *,
        base_url: str,
        tokens: TokenManager,
        limiter: RateLimiter,
        limiter_key: str,
        session: requests.Session,
        alert: AlertPort | None = None,
        policy: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.limiter = limiter
        self.limiter_key = limiter_key
        self.session = session
        self.alert = alert
        self.policy = policy
        self._sleep = sleep

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        json: Any = None,
        request_ids: Sequence[str] = (),
        answered: dict[str, Any] | None = None,
    ) -> Any:
        """Send one call; returns the decoded JSON body, or None for 204/empty.

        ``answered``: filled with ``{"date": …}``, amoCRM's own ``Date`` header of the answer
        (aware UTC, or None when absent or unreadable)."""
        method = method.upper()
        idempotent = method in IDEMPOTENT
        url = self.base_url + path
        failures = 0
        refreshed = False
        while True:
            # Token first (a refresh may wait for a lock and takes its own slot), then the
            # slot, then straight to the wire: any delay between slot and send would let
            # requests bunch up at amoCRM.
            pair = self.tokens.current()
            acquire(self.limiter, self.limiter_key, max_wait=self.policy.max_wait,
                    sleep=self._sleep)
            headers = {"Authorization": f"Bearer {pair.access_token}"}
            try:
                response = self.session.request(method, url, params=params, json=json,
                                                headers=headers)
            except requests.exceptions.RequestException as exc:
                if not (idempotent or _never_sent(exc)):
                    raise OutcomeUnknown(f"{method} {path}: no answer ({exc})", method=method,
                                         path=path, request_ids=request_ids) from None
                failures += 1
                self._back_off(failures, f"{method} {path}: {exc}")
                continue
            status = response.status_code
            if status == 401:
                if refreshed:
                    self.tokens.disable(f"401 on {method} {path} after a token refresh")
                self.tokens.refresh(stale=pair, force=True)
                refreshed = True
                continue
            if status >= 500:
                if not idempotent:
                    raise OutcomeUnknown(f"{method} {path}: HTTP {status}", method=method,
                                         path=path, request_ids=request_ids, status=status)
                failures += 1
                self._back_off(failures, f"{method} {path}: HTTP {status}", status=status)
                continue
            if answered is not None:
                answered["date"] = _server_date(response)
            return self._outcome(response, method=method, path=path)

    def _back_off(self, failures: int, what: str, *, status: int | None = None) -> None:
        if failures >= self.policy.attempts:
            raise Unavailable(f"{what} (after {failures} attempts)", status=status)
        delay = self.policy.backoff * 2 ** (failures - 1)
        log.warning("amoCRM transient failure, retrying in %.1fs: %s", delay, what)
        self._sleep(delay)

    def _outcome(self, response: requests.Response, *, method: str, path: str) -> Any:
        status = response.status_code
        if status == 204 or (200 <= status < 300 and not response.content):
            return None
        if 200 <= status < 300:
            try:
                return response.json()
            except ValueError:
                raise Unavailable(f"{method} {path}: HTTP {status} without JSON") from None
        if status == 429:
            pause = self.limiter.cool_down(self.limiter_key,
                                           _retry_after(response) or self.policy.cool_down)
            retry_after = max(pause, _retry_after(response) or 0.0)
            raise RateLimited(f"{method} {path}: amoCRM answered 429", retry_after=retry_after,
                              status=429)
        if status == 403 and _is_html(response):
            self._block(f"403 with an HTML page on {method} {path}")
        body = _json_or_none(response)
        message = f"{method} {path}: HTTP {status} {_title(body)}".rstrip()
        validation = _validation_errors(body)
        if status == 403:
            raise Forbidden(message, status=status, detail=body)
        raise ApiError(message, status=status, detail=body, validation=validation)

    def _block(self, reason: str) -> None:
        self.limiter.open_circuit(self.limiter_key, reason, ttl=self.policy.block_ttl)
        log.error("amoCRM blocked account %s: %s", self.limiter_key, reason)
        if self.alert is not None:
            self.alert(AccountAlert(kind="blocked", account_key=self.limiter_key, reason=reason))
        raise AccountBlocked(f"amoCRM blocked the account: {reason}", status=403)

    def pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        limit: int = 250,
        max_pages: int = 10_000,
        answered: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield each page body, following ``_links.next`` until it is absent or a 204.

        ``answered``: see :meth:`request`; filled from the *first* page's answer."""
        query: list[tuple[str, Any]] = _flatten({**(params or {}), "limit": limit})
        seen: set[str] = set()
        for page in range(max_pages):
            body = self.request("GET", path, params=query, answered=answered if page == 0 else None)
            if not body:
                return
            yield body
            href = (((body.get("_links") or {}).get("next")) or {}).get("href")
            if not href or href in seen:
                return
            seen.add(href)
            # Re-issue on our own base URL with the link's query: the host in vendor links is
            # not always the one we were given (kommo/amocrm aliases, a proxy, the simulator).
            query = parse_qsl(urlsplit(href).query, keep_blank_values=True)

    def items(
        self, path: str, *, embedded: str, params: Mapping[str, Any] | None = None,
        limit: int = 250, answered: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        for page in self.pages(path, params=params, limit=limit, answered=answered):
            yield from ((page.get("_embedded") or {}).get(embedded) or [])


def _flatten(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            pairs.extend((key, item) for item in value)
        else:
            pairs.append((key, value))
    return pairs


def _never_sent(exc: Exception) -> bool:
    """True when the request cannot have reached amoCRM (the connection was never made)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _server_date(response: requests.Response) -> datetime | None:
    try:
        moment = parsedate_to_datetime(response.headers.get("Date") or "")
    except (TypeError, ValueError):
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _is_html(response: requests.Response) -> bool:
    content_type = response.headers.get("Content-Type", "").lower()
    if "html" in content_type:
        return True
    head = response.content[:200].lstrip().lower()
    return head.startswith(b"<!doctype html") or head.startswith(b"<html")


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _title(body: Any) -> str:
    if isinstance(body, dict):
        return " — ".join(str(body[k]) for k in ("title", "detail") if body.get(k))
    return ""


def _validation_errors(body: Any) -> dict[str, tuple[FieldError, ...]]:
    """``validation-errors: [{request_id, errors: [{code, path, detail}]}]`` → by request_id."""
    if not isinstance(body, dict):
        return {}
    found: dict[str, tuple[FieldError, ...]] = {}
    for entry in body.get("validation-errors") or []:
        if not isinstance(entry, dict):
            continue
        key = str(entry.get("request_id", ""))
        errors = tuple(
            FieldError(code=str(e.get("code", "")), path=str(e.get("path", "")),
                       detail=str(e.get("detail", "")))
            for e in entry.get("errors") or [] if isinstance(e, dict)
        )
        found[key] = found.get(key, ()) + errors
    return found
