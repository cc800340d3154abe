"""The database adapters: token store (row lock / SQLite write lock / Redis lock), recorder."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from amo_bridge.amocrm.errors import IntegrationDisabled
from amo_bridge.amocrm.oauth import TokenPair
from amo_bridge.amocrm.writes import WriteRecord
from amo_bridge.clock import FrozenClock
from amo_bridge.connections import (
    SqlTokenStore,
    SqlWriteRecorder,
    client_for_account,
    refresh_stale_tokens,
)
from amo_bridge.db import Database
from amo_bridge.models import Account, AccountStatus, OAuthToken, OutboundWrite
from amo_bridge.settings import Settings
from tests.amocrm.conftest import NOW
from tests.amocrm.scripted_server import Reply, ScriptedServer, Seen


@pytest.fixture
def database(migrated_url: str) -> Iterator[Database]:
    db = Database(migrated_url)
    yield db
    db.dispose()


def add_account(db: Database, server_url: str, *, refreshed_days_ago: float = 0,
                expires_in_hours: float = 20, kind: str = "oauth", amocrm_id: int = 1001) -> int:
    with db.session() as s:
        account = Account(amocrm_id=amocrm_id, subdomain=f"broker{amocrm_id}",
                          base_url=f"{server_url}/s/broker", timezone="Europe/Moscow",
                          webhook_token_hash=uuid.uuid4().hex)
        s.add(account)
        s.flush()
        s.add(OAuthToken(account_id=account.id, kind=kind, access_token="A1",
                         refresh_token="R1" if kind == "oauth" else None,
                         expires_at=NOW + timedelta(hours=expires_in_hours),
                         refreshed_at=NOW - timedelta(days=refreshed_days_ago), version=1))
        return account.id


def token_endpoint(server: ScriptedServer) -> None:
    counter = iter(range(2, 100))
    lock = threading.Lock()

    def handler(seen: Seen) -> Reply:
        with lock:
            n = next(counter)
        return Reply(200, {"access_token": f"A{n}", "refresh_token": f"R{n}",
                           "expires_in": 86400, "token_type": "Bearer"})

    server.route("POST", "/s/broker/oauth2/access_token", handler)


SETTINGS = Settings(amocrm_client_id="cid", amocrm_client_secret="secret",
                    amocrm_redirect_uri="https://bridge.example/oauth")


def test_store_saves_under_lock_and_bumps_version(database: Database) -> None:
    account_id = add_account(database, "http://x")
    store = SqlTokenStore(database, account_id, clock=FrozenClock(NOW))
    pair = store.load()
    assert pair is not None and pair.version == 1 and pair.refresh_token == "R1"
    with store.refresh_lock() as locked:
        assert locked.current == pair
        saved = locked.save(TokenPair(access_token="A2", refresh_token="R2",
                                      expires_at=NOW + timedelta(days=1), refreshed_at=NOW,
                                      version=2))
    assert saved.version == 2
    # persisted and visible to a fresh reader
    assert store.load() == saved


def test_disconnect_inside_the_lock_does_not_wait_for_itself(database: Database) -> None:
    account_id = add_account(database, "http://x")
    store = SqlTokenStore(database, account_id, clock=FrozenClock(NOW))
    with pytest.raises(RuntimeError), store.refresh_lock():
        store.mark_disconnected("refresh refused")
        raise RuntimeError("the caller raises after disconnecting")
    pair = store.load()
    assert pair is not None and pair.revoked
    with database.session() as s:
        account = s.get(Account, account_id)
        assert account.status == AccountStatus.DISCONNECTED
        assert account.status_reason == "refresh refused"
        assert account.status_changed_at == NOW


def test_replace_reactivates(database: Database) -> None:
    account_id = add_account(database, "http://x")
    store = SqlTokenStore(database, account_id, clock=FrozenClock(NOW))
    store.mark_disconnected("gone")
    stored = store.replace(TokenPair(access_token="N", refresh_token="NR",
                                     expires_at=NOW + timedelta(days=1), refreshed_at=NOW))
    assert stored.version == 2 and not stored.revoked
    with database.session() as s:
        assert s.get(Account, account_id).status == AccountStatus.ACTIVE


def test_recorder_writes_outbound_rows(database: Database) -> None:
    account_id = add_account(database, "http://x")
    SqlWriteRecorder(database, account_id).record([
        WriteRecord(entity_type="leads", entity_id=5, action="create", fields={"price": 1},
                    at=NOW, request_id="r1"),
        WriteRecord(entity_type="leads/notes", entity_id=None, action="create", fields={},
                    at=NOW, request_id="r2", outcome="unknown"),
    ])
    with database.session() as s:
        rows = s.scalars(select(OutboundWrite).order_by(OutboundWrite.id)).all()
    assert [(r.entity_type, r.entity_id, r.request_id, r.note) for r in rows] == [
        ("leads", 5, "r1", None), ("leads/notes", None, "r2", "unknown")]
    assert rows[0].fields == {"price": 1} and rows[0].written_at == NOW


def test_threads_refresh_once_through_the_database(database: Database,
                                                   server: ScriptedServer) -> None:
    token_endpoint(server)
    server.route("GET", "/s/broker/api/v4/account", Reply(200, {"id": 1001}))
    account_id = add_account(database, server.url, expires_in_hours=-1)
    with database.session() as s:
        account = s.get(Account, account_id)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def work() -> None:
        client = client_for_account(database, account, SETTINGS, clock=FrozenClock(NOW))
        barrier.wait()
        try:
            client.account()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(server.calls("POST", "/s/broker/oauth2/access_token")) == 1
    pair = SqlTokenStore(database, account_id).load()
    assert pair is not None and pair.version == 2 and pair.access_token == "A2"


def test_blocked_alert_marks_the_account(database: Database, server: ScriptedServer) -> None:
    server.route("GET", "/s/broker/api/v4/account",
                 Reply(403, "<html>blocked</html>", headers={"Content-Type": "text/html"}))
    account_id = add_account(database, server.url, amocrm_id=int(uuid.uuid4().int % 10**9))
    with database.session() as s:
        account = s.get(Account, account_id)
    alerts = []
    from amo_bridge.amocrm.ratelimit import LocalRateLimiter

    client = client_for_account(database, account, SETTINGS, clock=FrozenClock(NOW),
                                limiter=LocalRateLimiter(rate=5), alert=alerts.append)
    from amo_bridge.amocrm.errors import AccountBlocked

    with pytest.raises(AccountBlocked):
        client.account()
    assert [a.kind for a in alerts] == ["blocked"]
    with database.session() as s:
        assert s.get(Account, account_id).status == AccountStatus.BLOCKED


def test_a_blocked_row_keeps_the_circuit_open_until_unblocked(
        database: Database, server: ScriptedServer) -> None:
    from amo_bridge.amocrm.errors import AccountBlocked
    from amo_bridge.connections import local_limiter, unblock_account

    server.route("GET", "/s/broker/api/v4/account", Reply(200, {"id": 7}))
    account_id = add_account(database, server.url, amocrm_id=int(uuid.uuid4().int % 10**9))
    with database.session() as s:
        s.get(Account, account_id).status = AccountStatus.BLOCKED
    with database.session() as s:
        account = s.get(Account, account_id)
    client = client_for_account(database, account, SETTINGS, clock=FrozenClock(NOW))
    with pytest.raises(AccountBlocked):
        client.account()
    assert server.seen == []
    unblock_account(database, account, SETTINGS, clock=FrozenClock(NOW))
    assert local_limiter(SETTINGS.amocrm_rate_per_second).circuit(str(account.amocrm_id)) is None
    with database.session() as s:
        account = s.get(Account, account_id)
        assert account.status == AccountStatus.ACTIVE
    assert client_for_account(database, account, SETTINGS, clock=FrozenClock(NOW)).account().id == 7


def test_refresh_stale_tokens(database: Database, server: ScriptedServer) -> None:
    token_endpoint(server)
    clock = FrozenClock(NOW)
    old = add_account(database, server.url, refreshed_days_ago=40, amocrm_id=1)
    fresh = add_account(database, server.url, refreshed_days_ago=1, amocrm_id=2)
    expiring = add_account(database, server.url, expires_in_hours=1, amocrm_id=3)
    add_account(database, server.url, refreshed_days_ago=400, kind="long_lived", amocrm_id=4)
    outcomes = refresh_stale_tokens(database, SETTINGS, clock=clock)
    assert outcomes == {old: "refreshed", expiring: "refreshed"}
    assert SqlTokenStore(database, fresh).load().version == 1
    assert SqlTokenStore(database, old).load().version == 2


def test_refresh_stale_tokens_disconnects_revoked(database: Database,
                                                  server: ScriptedServer) -> None:
    server.route("POST", "/s/broker/oauth2/access_token",
                 Reply(401, {"hint": "Token has been revoked", "status": 401}))
    account_id = add_account(database, server.url, refreshed_days_ago=40)
    assert refresh_stale_tokens(database, SETTINGS, clock=FrozenClock(NOW)) == {
        account_id: "disconnected"}
    with database.session() as s:
        account = s.get(Account, account_id)
        assert account.status == AccountStatus.DISCONNECTED
    # Nothing more reaches amoCRM for this account until it is reconnected.
    calls = len(server.seen)
    with pytest.raises(IntegrationDisabled):
        client_for_account(database, account, SETTINGS, clock=FrozenClock(NOW)).account()
    assert len(server.seen) == calls


@pytest.mark.redis
def test_redis_lock_serialises_refresh(database: Database, server: ScriptedServer,
                                       redis_conn) -> None:
    token_endpoint(server)
    server.route("GET", "/s/broker/api/v4/account", Reply(200, {"id": 1001}))
    account_id = add_account(database, server.url, expires_in_hours=-1,
                             amocrm_id=int(uuid.uuid4().int % 10**9))
    with database.session() as s:
        account = s.get(Account, account_id)
    prefix = f"test-conn-{uuid.uuid4().hex}"
    from amo_bridge.amocrm.ratelimit_redis import RedisRateLimiter

    limiter = RedisRateLimiter(redis_conn, rate=7, prefix=prefix)
    barrier = threading.Barrier(5)
    errors: list[BaseException] = []

    def work() -> None:
        client = client_for_account(database, account, SETTINGS, redis=redis_conn,
                                    limiter=limiter, clock=FrozenClock(NOW))
        barrier.wait()
        try:
            client.account()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    try:
        threads = [threading.Thread(target=work) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        limiter.forget(str(account.amocrm_id))
    assert errors == []
    assert len(server.calls("POST", "/s/broker/oauth2/access_token")) == 1
