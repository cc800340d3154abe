"""OAuth 2.0 as amoCRM runs it (AMOCRM.md "OAuth 2.0").

Authorization codes live 20 min and are single-use; access tokens 24 h; refresh tokens 3 months
and **single-use** (every refresh kills the old one; reuse → 401 ``"hint": "Token has been
revoked"``). Long-lived tokens (private integrations, 1 day – 5 years) have no refresh token.
Every token belongs to one user, so user rights (admin or not) follow the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

CODE_TTL = timedelta(minutes=20)
ACCESS_TTL = timedelta(hours=24)
REFRESH_TTL = timedelta(days=90)  # "3 months"
LONG_LIVED_MIN = timedelta(days=1)
LONG_LIVED_MAX = timedelta(days=5 * 365)


class OAuthError(Exception):
    """An answer of ``/oauth2/access_token`` other than 200."""

    def __init__(self, status: int, hint: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.hint, self.detail = status, hint, detail

    def body(self) -> dict[str, Any]:
        return {
            "hint": self.hint,
            "title": "Некорректный запрос",
            "type": "https://developers.amocrm.ru/v3/errors/OAuthProblemJson",
            "status": self.status,
            "detail": self.detail,
        }


@dataclass
class Integration:
    client_id: str  # amoCRM's integration id doubles as client_uuid for the disable hook
    client_secret: str
    redirect_uri: str
    name: str = "amo-bridge"
    disable_hook_url: str | None = None


@dataclass
class Grant:
    user_id: int
    client_id: str | None
    expires_at: datetime
    used: bool = False  # codes and refresh tokens: single use
    revoked: bool = False


@dataclass
class OAuthStore:
    integrations: dict[str, Integration] = field(default_factory=dict)
    codes: dict[str, Grant] = field(default_factory=dict)
    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def issue_code(self, client_id: str, user_id: int, now: datetime) -> str:
        if client_id not in self.integrations:
            raise KeyError(client_id)
        code = "def50200" + secrets.token_hex(64)
        with self._lock:
            self.codes[code] = Grant(user_id, client_id, now + CODE_TTL)
        return code

    def issue_long_lived(
        self, user_id: int, now: datetime, *, ttl: timedelta, client_id: str | None = None
    ) -> str:
        ttl = min(max(ttl, LONG_LIVED_MIN), LONG_LIVED_MAX)
        return self._new_access(user_id, client_id, now + ttl)

    def add_access_token(self, token: str, user_id: int, expires_at: datetime) -> None:
        """Install a fixed token (seed files: demo and test tokens)."""
        with self._lock:
            self.access[token] = Grant(user_id, None, expires_at)

    def exchange(self, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        """``POST /oauth2/access_token``: returns the token pair or raises :class:`OAuthError`."""
        with self._lock:
            integration = self.integrations.get(str(body.get("client_id", "")))
            if integration is None or not hmac.compare_digest(
                integration.client_secret, str(body.get("client_secret", ""))
            ):
                raise OAuthError(
                    401, "Client authentication failed", "Client authentication failed"
                )
            if body.get("redirect_uri") != integration.redirect_uri:
                raise OAuthError(400, "Redirect URI mismatch", "redirect_uri does not match")
            grant_type = body.get("grant_type")
            if grant_type == "authorization_code":
                grant = self._take(self.codes, body.get("code"), now, "authorization code")
                grant_code = 400
            elif grant_type == "refresh_token":
                grant = self._take(self.refresh, body.get("refresh_token"), now, "refresh token")
                grant_code = 401
            else:
                raise OAuthError(400, "Unsupported grant type", f"grant_type {grant_type!r}")
            if grant.client_id != integration.client_id:
                raise OAuthError(grant_code, "Token belongs to another client", "client mismatch")
            access = self._new_access(grant.user_id, integration.client_id, now + ACCESS_TTL)
            refresh = "def50200" + secrets.token_hex(96)
            self.refresh[refresh] = Grant(grant.user_id, integration.client_id, now + REFRESH_TTL)
            return {
                "token_type": "Bearer",
                "expires_in": int(ACCESS_TTL.total_seconds()),
                "access_token": access,
                "refresh_token": refresh,
            }

    def _take(self, store: dict[str, Grant], value: Any, now: datetime, what: str) -> Grant:
        # A bad code is a 400 at amoCRM; a bad refresh token a 401 (AMOCRM.md).
        status = 400 if what == "authorization code" else 401
        grant = store.get(str(value or ""))
        if grant is None:
            raise OAuthError(status, f"Cannot decrypt the {what}", f"The {what} is invalid.")
        if grant.used or grant.revoked:
            raise OAuthError(status, "Token has been revoked", f"The {what} is invalid.")
        if grant.expires_at <= now:
            raise OAuthError(status, "Token has expired", f"The {what} has expired.")
        grant.used = True
        return grant

    def _new_access(self, user_id: int, client_id: str | None, expires_at: datetime) -> str:
        token = secrets.token_urlsafe(48)
        with self._lock:
            self.access[token] = Grant(user_id, client_id, expires_at)
        return token

    def authenticate(self, token: str, now: datetime) -> int | None:
        """The user id behind a bearer token, or None (unknown, expired or revoked)."""
        with self._lock:
            grant = self.access.get(token)
            if grant is None or grant.revoked or grant.expires_at <= now:
                return None
            return grant.user_id

    def revoke(self, client_id: str | None = None) -> int:
        """Revoke every token (of one integration, or all): "integration disabled"."""
        count = 0
        with self._lock:
            for store in (self.access, self.refresh, self.codes):
                for grant in store.values():
                    if not grant.revoked and (client_id is None or grant.client_id == client_id):
                        grant.revoked = True
                        count += 1
        return count


def disable_hook_signature(client_secret: str, client_uuid: str, account_id: int) -> str:
    """AMOCRM.md: ``HMAC-SHA256(client_secret, "{client_uuid}|{account_id}")`` in hex."""
    message = f"{client_uuid}|{account_id}".encode()
    return hmac.new(client_secret.encode(), message, hashlib.sha256).hexdigest()
