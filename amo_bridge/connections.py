"""Database-backed adapters for the amoCRM client, and the factory that wires one per account.

Token refresh must be serialised across every thread and process (refresh tokens are single-use,
AMOCRM.md "OAuth 2.0"). :class:`SqlTokenStore` does it with

- a Redis lock per account when Redis is configured (the DB is then read and written in short
  transactions of their own);
- otherwise a transaction on the token row: ``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the
  engine opens every transaction with ``BEGIN IMMEDIATE`` (see :mod:`amo_bridge.db`), which
  already serialises writers, so the same code takes the database write lock.

Inside the lock the row is re-read; if its version moved on, another worker refreshed and its
pair is used. Otherwise the new pair is saved and committed before anyone uses it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from amo_bridge.amocrm.client import AmoClient
from amo_bridge.amocrm.errors import AmoError, IntegrationDisabled, Unavailable
from amo_bridge.amocrm.http import base_url_for, make_session
from amo_bridge.amocrm.oauth import OAUTH, OAuthCredentials, TokenPair
from amo_bridge.amocrm.ratelimit import LocalRateLimiter, RateLimiter
from amo_bridge.amocrm.ratelimit_redis import RedisRateLimiter
from amo_bridge.amocrm.transport import AccountAlert, AlertPort, RetryPolicy
from amo_bridge.amocrm.writes import WriteRecord
from amo_bridge.clock import Clock, system_clock
from amo_bridge.db import Database
from amo_bridge.models import Account, AccountStatus, AuditLog, OAuthToken, OutboundWrite
from amo_bridge.settings import Settings

log = logging.getLogger(__name__)


def _pair(row: OAuthToken | None) -> TokenPair | None:
    if row is None:
        return None
    return TokenPair(access_token=row.access_token, refresh_token=row.refresh_token,
                     expires_at=row.expires_at, kind=row.kind, refreshed_at=row.refreshed_at,
                     version=row.version, revoked=row.revoked_at is not None)


def _write(row: OAuthToken, pair: TokenPair, *, version: int) -> None:
    row.kind = pair.kind
    row.access_token = pair.access_token
    row.refresh_token = pair.refresh_token
    row.expires_at = pair.expires_at
    row.refreshed_at = pair.refreshed_at
    row.version = version
    row.revoked_at = None


class _Locked:
    """The handle given out under the lock; ``save`` commits before returning."""

    def __init__(self, store: SqlTokenStore, session: Session, row: OAuthToken | None) -> None:
        self._store = store
        self.session = session
        self.row = row
        self.current = _pair(row)

    def save(self, pair: TokenPair) -> TokenPair:
        if self.row is None:
            raise IntegrationDisabled("the token row disappeared during refresh")
        _write(self.row, pair, version=pair.version)
        self.session.commit()
        self.current = _pair(self.row)
        assert self.current is not None
        return self.current


class SqlTokenStore:
    """The ``TokenStore`` port over the ``oauth_token`` table."""

    def __init__(
        self,
        database: Database,
        account_id: int,
        *,
        redis: Any = None,
        clock: Clock = system_clock,
        lock_timeout: float = 60.0,
        lock_prefix: str = "amo-bridge:oauth-refresh",
    ) -> None:
        self.database = database
        self.account_id = account_id
        self._redis = redis
        self._clock = clock
        self._lock_timeout = lock_timeout
        self._lock_name = f"{lock_prefix}:{account_id}"
        self._local = threading.local()

    def _select(self) -> Any:
        return select(OAuthToken).where(OAuthToken.account_id == self.account_id)

    def load(self) -> TokenPair | None:
        # A read-only unit of work: callers may hold a write transaction of their own.
        with self.database.read_session() as session:
            return _pair(session.scalar(self._select()))

    @contextmanager
    def refresh_lock(self) -> Iterator[_Locked]:
        if self._redis is not None:
            # Outlives the refresh call (HTTP timeout ≪ lock timeout); expires if we die.
            lock = self._redis.lock(self._lock_name, timeout=self._lock_timeout,
                                    blocking_timeout=self._lock_timeout)
            if not lock.acquire():
                raise Unavailable("timed out waiting for the token refresh lock")
            try:
                with self._row_transaction(for_update=False) as handle:
                    yield handle
            finally:
                if lock.owned():
                    lock.release()
            return
        with self._row_transaction(for_update=True) as handle:
            yield handle

    @contextmanager
    def _row_transaction(self, *, for_update: bool) -> Iterator[_Locked]:
        session = self.database.sessionmaker()
        try:
            query = self._select().with_for_update() if for_update else self._select()
            handle = _Locked(self, session, session.scalar(query))
            self._local.handle = handle
            yield handle
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            self._local.handle = None
            session.close()

    def mark_disconnected(self, reason: str) -> None:
        """Account → DISCONNECTED and the token revoked; reuses the lock's transaction if held.

        (A second connection would wait for our own row lock — or SQLite's write lock.)
        """
        handle: _Locked | None = getattr(self._local, "handle", None)
        if handle is not None:
            self._disconnect(handle.session, reason)
            handle.session.commit()
            return
        with self.database.session() as session:
            self._disconnect(session, reason)

    def _disconnect(self, session: Session, reason: str) -> None:
        now = self._clock.now()
        session.execute(update(OAuthToken).where(OAuthToken.account_id == self.account_id)
                        .values(revoked_at=now))
        set_account_status(session, self.account_id, AccountStatus.DISCONNECTED, reason, now=now)
        log.warning("amoCRM account %s disconnected: %s", self.account_id, reason)

    def replace(self, pair: TokenPair) -> TokenPair:
        """Store a freshly authorised pair (code exchange, long-lived token) and reactivate."""
        with self.database.session() as session:
            row = session.scalar(self._select().with_for_update())
            version = 1 if row is None else row.version + 1
            if row is None:
                row = OAuthToken(account_id=self.account_id)
                session.add(row)
            _write(row, pair, version=version)
            set_account_status(session, self.account_id, AccountStatus.ACTIVE, None,
                               now=self._clock.now())
            session.flush()
            stored = _pair(row)
        assert stored is not None
        return stored


def set_account_status(session: Session, account_id: int, status: AccountStatus,
                       reason: str | None, *, now: datetime) -> None:
    session.execute(update(Account).where(Account.id == account_id).values(
        status=status, status_reason=reason, status_changed_at=now))


class SqlWriteRecorder:
    """The ``WriteRecorder`` port over ``outbound_write``: one short transaction per batch."""

    def __init__(self, database: Database, account_id: int) -> None:
        self.database = database
        self.account_id = account_id

    def record(self, writes: Sequence[WriteRecord]) -> None:
        with self.database.session() as session:
            session.add_all(OutboundWrite(
                account_id=self.account_id, entity_type=w.entity_type[:16],
                entity_id=w.entity_id, action=w.action[:16], request_id=w.request_id,
                fields=dict(w.fields), written_at=w.at,
                note=None if w.outcome == "ok" else w.outcome) for w in writes)


_local_limiters: dict[float, LocalRateLimiter] = {}
_local_limiters_lock = threading.Lock()


def local_limiter(rate: float) -> LocalRateLimiter:
    """The process-wide in-process limiter for a rate (keys inside are per account)."""
    with _local_limiters_lock:
        limiter = _local_limiters.get(rate)
        if limiter is None:
            limiter = _local_limiters[rate] = LocalRateLimiter(rate=rate)
        return limiter


def credentials_from(settings: Settings) -> OAuthCredentials | None:
    if settings.amocrm_client_id and settings.amocrm_client_secret and \
            settings.amocrm_redirect_uri:
        return OAuthCredentials(client_id=settings.amocrm_client_id,
                                client_secret=settings.amocrm_client_secret,
                                redirect_uri=settings.amocrm_redirect_uri)
    return None


def client_for_account(
    database: Database,
    account: Account,
    settings: Settings,
    *,
    redis: Any = None,
    clock: Clock = system_clock,
    session: requests.Session | None = None,
    limiter: RateLimiter | None = None,
    alert: AlertPort | None = None,
    policy: RetryPolicy | None = None,
) -> AmoClient:
    """An :class:`AmoClient` for one account, wired to the database, Redis and settings."""
    account_id = account.id
    if limiter is None:
        rate = settings.amocrm_rate_per_second
        limiter = RedisRateLimiter(redis, rate=rate) if redis is not None else local_limiter(rate)

    def on_alert(event: AccountAlert) -> None:
        if event.kind == "blocked":
            # The alert admins see: the account row's state plus an audit entry; an error log
            # line for whoever watches the logs. Lifting the block needs amoCRM support, then
            # `amo-bridge account unblock`.
            log.error("amoCRM blocked account %s: %s", account.subdomain, event.reason)
            with database.session() as s:
                set_account_status(s, account_id, AccountStatus.BLOCKED, event.reason,
                                   now=clock.now())
                s.add(AuditLog(account_id=account_id, at=clock.now(), action="amocrm.blocked",
                               details={"reason": event.reason}))
        if alert is not None:
            alert(event)

    if account.status == AccountStatus.BLOCKED:
        # The row is the record of the block; the circuit may have been lost with a restart.
        limiter.open_circuit(str(account.amocrm_id), account.status_reason or "blocked")
    return AmoClient(
        base_url=account.base_url or base_url_for(account.subdomain),
        tokens=SqlTokenStore(database, account_id, redis=redis, clock=clock),
        limiter=limiter,
        account_key=str(account.amocrm_id),
        credentials=credentials_from(settings),
        session=session or make_session(timeout=settings.amocrm_timeout_seconds),
        recorder=SqlWriteRecorder(database, account_id),
        alert=on_alert,
        policy=policy or RetryPolicy(),
        clock=clock,
    )


def unblock_account(database: Database, account: Account, settings: Settings, *,
                    redis: Any = None, clock: Clock = system_clock) -> None:
    """After amoCRM support lifted a block: account ACTIVE again and the circuit closed."""
    with database.session() as s:
        set_account_status(s, account.id, AccountStatus.ACTIVE, None, now=clock.now())
    rate = settings.amocrm_rate_per_second
    limiter = RedisRateLimiter(redis, rate=rate) if redis is not None else local_limiter(rate)
    limiter.close_circuit(str(account.amocrm_id))


def refresh_stale_tokens(
    database: Database,
    settings: Settings,
    *,
    redis: Any = None,
    clock: Clock = system_clock,
    session: requests.Session | None = None,
    max_age: timedelta = timedelta(days=30),
    expiring_within: timedelta = timedelta(hours=2),
) -> dict[int, str]:
    """Refresh OAuth pairs that would otherwise die unused; for the periodic schedule.

    A refresh token lives 3 months and is renewed only by using it, so an idle account is
    refreshed once its pair is ``max_age`` old (or its access token is about to expire).
    Returns ``{account_id: "refreshed" | "fresh" | "disconnected" | "error: …"}``.
    """
    now = clock.now()
    with database.session() as s:
        accounts = list(s.scalars(
            select(Account).join(OAuthToken, OAuthToken.account_id == Account.id).where(
                Account.status == AccountStatus.ACTIVE, OAuthToken.kind == OAUTH,
                OAuthToken.revoked_at.is_(None),
                or_(OAuthToken.refreshed_at.is_(None), OAuthToken.refreshed_at < now - max_age,
                    OAuthToken.expires_at < now + expiring_within))))
    shared = session or make_session(timeout=settings.amocrm_timeout_seconds)
    outcomes: dict[int, str] = {}
    for account in accounts:
        client = client_for_account(database, account, settings, redis=redis, clock=clock,
                                    session=shared)
        try:
            rotated = client.token_manager.refresh_if_stale(max_age=max_age,
                                                            expiring_within=expiring_within)
            outcomes[account.id] = "refreshed" if rotated else "fresh"
        except IntegrationDisabled:
            outcomes[account.id] = "disconnected"
        except AmoError as exc:  # reported to the job, which retries on its next run
            log.warning("token refresh for account %s failed: %s", account.id, exc)
            outcomes[account.id] = f"error: {exc}"
    return outcomes
