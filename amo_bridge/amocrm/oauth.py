"""OAuth 2.0 with amoCRM: code exchange, rotating refresh, long-lived tokens, the disable hook.

Facts (AMOCRM.md "OAuth 2.0"): the access token lives 24 h; the refresh token 3 months and is
**single-use** — every refresh returns a new pair and kills the old refresh token, and reusing
it answers 401 "Token has been revoked". Parallel workers refreshing at once would therefore
disconnect each other, so a refresh always runs under the store's lock: take the lock, re-read,
use a pair someone else already rotated, else refresh, persist, and only then use it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import requests

from amo_bridge.amocrm.errors import IntegrationDisabled, Unavailable
from amo_bridge.clock import Clock, ensure_aware, system_clock

OAUTH = "oauth"
LONG_LIVED = "long_lived"
#: Refresh a little before expiry so a request never leaves with a token about to die.
EXPIRY_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str | None
    expires_at: datetime
    kind: str = OAUTH
    refreshed_at: datetime | None = None
    #: Bumped by the store on every rotation: a reader can tell someone else refreshed.
    version: int = 1
    revoked: bool = False

    def expires_soon(self, now: datetime, *, margin: timedelta = EXPIRY_MARGIN) -> bool:
        return ensure_aware(self.expires_at) - margin <= now

    @property
    def can_refresh(self) -> bool:
        return self.kind == OAUTH and bool(self.refresh_token)


@dataclass(frozen=True, slots=True)
class OAuthCredentials:
    client_id: str
    client_secret: str
    redirect_uri: str


class LockedToken(Protocol):
    """What a store hands out under its refresh lock."""

    #: The pair as re-read *after* the lock was taken (None: no token row).
    current: TokenPair | None

    def save(self, pair: TokenPair) -> TokenPair:
        """Persist (commit) the new pair before anyone uses it; returns it with its version."""
        ...


class TokenStore(Protocol):
    def load(self) -> TokenPair | None: ...

    def refresh_lock(self) -> AbstractContextManager[LockedToken]:
        """Serialise refreshes of this account's token across threads and processes."""
        ...

    def mark_disconnected(self, reason: str) -> None:
        """Record that the integration is disabled (account DISCONNECTED, token revoked)."""
        ...


class TokenRevoked(Exception):
    """amoCRM refused the grant (revoked/expired refresh token, wrong client): not retryable."""


def _token_pair(body: dict[str, Any], *, now: datetime) -> TokenPair:
    try:
        return TokenPair(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token"),
            expires_at=now + timedelta(seconds=int(body.get("expires_in", 86400))),
            refreshed_at=now,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise Unavailable(f"malformed token response: {exc}") from None


def request_token(
    session: requests.Session,
    base_url: str,
    credentials: OAuthCredentials,
    *,
    grant: dict[str, str],
    clock: Clock = system_clock,
) -> TokenPair:
    """POST ``/oauth2/access_token`` with one grant (``code`` or ``refresh_token``)."""
    payload = {
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "redirect_uri": credentials.redirect_uri,
        **grant,
    }
    url = f"{base_url.rstrip('/')}/oauth2/access_token"
    try:
        response = session.post(url, json=payload)
    except requests.exceptions.RequestException as exc:
        # Retrying is the only way forward even if amoCRM did rotate the pair and the answer was
        # lost: the next attempt then meets "revoked" and the account asks to be reconnected.
        raise Unavailable(f"token request failed: {exc}") from None
    if response.status_code in (400, 401, 403):
        raise TokenRevoked(_describe(response))
    if response.status_code >= 300:
        raise Unavailable(f"token endpoint answered {response.status_code}",
                          status=response.status_code)
    try:
        body = response.json()
    except ValueError:
        raise Unavailable("token endpoint returned no JSON") from None
    return _token_pair(body, now=clock.now())


def _describe(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    parts = [str(body.get(k)) for k in ("hint", "title", "detail", "message") if body.get(k)]
    return f"HTTP {response.status_code}: " + ("; ".join(parts) or str(body)[:200])


def exchange_code(
    session: requests.Session,
    base_url: str,
    credentials: OAuthCredentials,
    *,
    code: str,
    clock: Clock = system_clock,
) -> TokenPair:
    """Trade an authorization code (valid 20 min) for the first token pair."""
    try:
        return request_token(session, base_url, credentials,
                             grant={"grant_type": "authorization_code", "code": code}, clock=clock)
    except TokenRevoked as exc:
        raise IntegrationDisabled(f"authorization code refused: {exc}") from None


def long_lived_token(token: str, *, expires_at: datetime) -> TokenPair:
    """A private integration's long-lived token (1 day – 5 years, no refresh token)."""
    return TokenPair(access_token=token, refresh_token=None, expires_at=expires_at,
                     kind=LONG_LIVED)


class TokenManager:
    """Hands out a valid access token for one account, refreshing under the store's lock."""

    def __init__(
        self,
        store: TokenStore,
        *,
        session: requests.Session,
        base_url: str,
        credentials: OAuthCredentials | None,
        clock: Clock = system_clock,
        before_request: Callable[[], object] | None = None,
    ) -> None:
        """``before_request`` runs before each call to the token endpoint: the client passes
        its rate limiter there, because a refresh is a request to the same account."""
        self.store = store
        self._session = session
        self._base_url = base_url
        self._credentials = credentials
        self._clock = clock
        self._before_request = before_request

    def current(self) -> TokenPair:
        """A usable pair, refreshed first if it is expired or about to expire."""
        pair = self.store.load()
        if pair is None or pair.revoked:
            raise IntegrationDisabled("no usable amoCRM token: the account must be reconnected")
        if pair.expires_soon(self._clock.now()) and pair.can_refresh:
            return self.refresh(stale=pair)
        return pair

    def refresh(self, *, stale: TokenPair | None = None, force: bool = False) -> TokenPair:
        """Rotate the pair unless someone else already did.

        ``stale`` is the pair the caller holds; if the stored version moved on, that newer pair is
        returned without calling amoCRM. ``force`` refreshes even an unexpired pair (after a 401).
        """
        with self.store.refresh_lock() as locked:
            current = locked.current
            if current is None or current.revoked:
                raise IntegrationDisabled("no amoCRM token stored for this account")
            if stale is not None and (
                current.version != stale.version or current.access_token != stale.access_token
            ):
                return current
            if not force and not current.expires_soon(self._clock.now()):
                return current
            if not current.can_refresh or self._credentials is None:
                reason = "long-lived token rejected or expired" if current.kind == LONG_LIVED \
                    else "no refresh token or OAuth credentials"
                self._disable(reason)
            assert current.refresh_token is not None
            if self._before_request is not None:
                self._before_request()
            try:
                fresh = request_token(
                    self._session, self._base_url, self._credentials,  # type: ignore[arg-type]
                    grant={"grant_type": "refresh_token", "refresh_token": current.refresh_token},
                    clock=self._clock,
                )
            except TokenRevoked as exc:
                self._disable(f"refresh refused by amoCRM ({exc})")
            return locked.save(replace(fresh, version=current.version + 1))

    def disable(self, reason: str) -> None:
        """Mark the account disconnected and raise :class:`IntegrationDisabled`."""
        self._disable(reason)

    def _disable(self, reason: str) -> Any:
        self.store.mark_disconnected(reason)
        raise IntegrationDisabled(f"amoCRM integration disabled: {reason}")

    def refresh_if_stale(
        self,
        *,
        max_age: timedelta = timedelta(days=30),
        expiring_within: timedelta = timedelta(hours=2),
    ) -> bool:
        """Refresh a pair that would otherwise die unused (refresh token lives 3 months).

        Returns True when this call (or a concurrent one) rotated the pair.
        """
        pair = self.store.load()
        if pair is None or pair.revoked or not pair.can_refresh:
            return False
        now = self._clock.now()
        age_ok = pair.refreshed_at is not None and now - ensure_aware(pair.refreshed_at) < max_age
        if age_ok and not pair.expires_soon(now, margin=expiring_within):
            return False
        return self.refresh(stale=pair, force=True).version != pair.version


def disable_hook_signature(client_secret: str, *, client_uuid: str, account_id: str | int) -> str:
    message = f"{client_uuid}|{account_id}".encode()
    return hmac.new(client_secret.encode(), message, hashlib.sha256).hexdigest()


def verify_disable_hook(
    client_secret: str, *, client_uuid: str, account_id: str | int, signature: str
) -> bool:
    """Check amoCRM's "integration disabled" GET hook (AMOCRM.md "OAuth 2.0"), constant-time."""
    expected = disable_hook_signature(client_secret, client_uuid=client_uuid,
                                      account_id=account_id)
    return hmac.compare_digest(expected.lower(), (signature or "").strip().lower())

