from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from amo_bridge.amocrm.errors import IntegrationDisabled
from amo_bridge.amocrm.http import make_session
from amo_bridge.amocrm.memory import MemoryTokenStore
from amo_bridge.amocrm.oauth import (
    TokenManager,
    disable_hook_signature,
    exchange_code,
    long_lived_token,
    verify_disable_hook,
)
from amo_bridge.clock import FrozenClock
from tests.amocrm.conftest import CREDENTIALS, NOW, fresh_pair
from tests.amocrm.scripted_server import Reply, ScriptedServer, Seen

TOKEN_PATH = "/s/broker/oauth2/access_token"


def issuing(server: ScriptedServer) -> list[Seen]:
    """Route the token endpoint to a rotating issuer that kills used refresh tokens."""
    used: set[str] = set()
    counter = iter(range(2, 1000))
    lock = threading.Lock()

    def handler(seen: Seen) -> Reply:
        with lock:
            token = seen.body.get("refresh_token")
            if seen.body.get("grant_type") == "refresh_token" and token in used:
                return Reply(401, {"hint": "Token has been revoked", "status": 401})
            used.add(token)
            n = next(counter)
        return Reply(200, {"token_type": "Bearer", "expires_in": 86400,
                           "access_token": f"A{n}", "refresh_token": f"R{n}"})

    server.route("POST", TOKEN_PATH, handler)
    return server.calls("POST", TOKEN_PATH)


def manager(server: ScriptedServer, store: MemoryTokenStore, clock: FrozenClock) -> TokenManager:
    return TokenManager(store, session=make_session(timeout=2), base_url=server.url + "/s/broker",
                        credentials=CREDENTIALS, clock=clock)


def test_fresh_token_is_used_without_refresh(server: ScriptedServer, clock: FrozenClock) -> None:
    issuing(server)
    store = MemoryTokenStore(fresh_pair())
    assert manager(server, store, clock).current().access_token == "A1"
    assert server.seen == []


def test_expired_token_is_refreshed_and_persisted(server: ScriptedServer,
                                                  clock: FrozenClock) -> None:
    issuing(server)
    store = MemoryTokenStore(fresh_pair())
    clock.advance(hours=21)
    pair = manager(server, store, clock).current()
    assert pair.access_token == "A2" and pair.refresh_token == "R2" and pair.version == 2
    assert store.pair == pair and store.saves == 1
    sent = server.seen[0].body
    assert sent == {"client_id": "cid", "client_secret": "secret", "grant_type": "refresh_token",
                    "refresh_token": "R1", "redirect_uri": "https://bridge.example/oauth"}
    assert pair.expires_at == clock.now() + timedelta(seconds=86400)


def test_stale_holder_uses_the_pair_someone_else_rotated(server: ScriptedServer,
                                                         clock: FrozenClock) -> None:
    issuing(server)
    old = fresh_pair()
    store = MemoryTokenStore(fresh_pair(access="A9", refresh="R9", version=2))
    pair = manager(server, store, clock).refresh(stale=old, force=True)
    assert pair.access_token == "A9" and server.seen == []


def test_concurrent_refreshes_reach_amocrm_once(server: ScriptedServer,
                                               clock: FrozenClock) -> None:
    issuing(server)
    store = MemoryTokenStore(fresh_pair())
    clock.advance(hours=24)
    results: list[str] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        results.append(manager(server, store, clock).current().access_token)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["A2"] * 8
    assert len(server.calls("POST", TOKEN_PATH)) == 1


def test_revoked_refresh_disconnects(server: ScriptedServer, clock: FrozenClock) -> None:
    server.route("POST", TOKEN_PATH, Reply(401, {"hint": "Token has been revoked"}))
    store = MemoryTokenStore(fresh_pair())
    clock.advance(days=2)
    with pytest.raises(IntegrationDisabled) as info:
        manager(server, store, clock).current()
    assert not info.value.retryable
    assert "revoked" in (store.disconnected or "")
    # Afterwards nothing reaches amoCRM: the stored pair is marked revoked.
    with pytest.raises(IntegrationDisabled):
        manager(server, store, clock).current()
    assert len(server.seen) == 1


def test_long_lived_token_is_never_refreshed(server: ScriptedServer, clock: FrozenClock) -> None:
    issuing(server)
    store = MemoryTokenStore(long_lived_token("LL", expires_at=NOW + timedelta(days=365)))
    tokens = manager(server, store, clock)
    assert tokens.current().access_token == "LL"
    with pytest.raises(IntegrationDisabled):
        tokens.refresh(stale=store.pair, force=True)
    assert server.seen == [] and store.disconnected


def test_refresh_if_stale(server: ScriptedServer, clock: FrozenClock) -> None:
    issuing(server)
    store = MemoryTokenStore(fresh_pair())
    tokens = manager(server, store, clock)
    assert tokens.refresh_if_stale() is False
    clock.advance(hours=19)  # access token expires within 2 h
    assert tokens.refresh_if_stale() is True
    assert store.pair is not None and store.pair.access_token == "A2"
    # An idle account: access still valid but the pair is 31 days old.
    store.pair = replace(store.pair, expires_at=clock.now() + timedelta(days=60))
    clock.advance(days=31)
    assert tokens.refresh_if_stale() is True


def test_exchange_code(server: ScriptedServer, clock: FrozenClock) -> None:
    issuing(server)
    pair = exchange_code(make_session(), server.url + "/s/broker", CREDENTIALS, code="C",
                         clock=clock)
    assert pair.access_token == "A2" and pair.refreshed_at == clock.now()
    assert server.seen[0].body["grant_type"] == "authorization_code"


def test_exchange_code_refused(server: ScriptedServer, clock: FrozenClock) -> None:
    server.route("POST", TOKEN_PATH, Reply(400, {"hint": "Authorization code has expired"}))
    with pytest.raises(IntegrationDisabled):
        exchange_code(make_session(), server.url + "/s/broker", CREDENTIALS, code="C",
                      clock=clock)


def test_verify_disable_hook() -> None:
    good = disable_hook_signature("secret", client_uuid="uuid-1", account_id=42)
    assert verify_disable_hook("secret", client_uuid="uuid-1", account_id="42", signature=good)
    assert verify_disable_hook("secret", client_uuid="uuid-1", account_id=42,
                               signature=good.upper())
    assert not verify_disable_hook("secret", client_uuid="uuid-1", account_id=43, signature=good)
    assert not verify_disable_hook("other", client_uuid="uuid-1", account_id=42, signature=good)
    assert not verify_disable_hook("secret", client_uuid="uuid-1", account_id=42, signature="")


def test_lost_token_answer_is_retryable_and_keeps_the_pair(server: ScriptedServer,
                                                           clock: FrozenClock) -> None:
    from amo_bridge.amocrm.errors import Unavailable

    server.route("POST", TOKEN_PATH, Reply(drop=True))
    store = MemoryTokenStore(fresh_pair())
    clock.advance(days=2)
    with pytest.raises(Unavailable) as info:
        manager(server, store, clock).current()
    assert info.value.retryable
    assert store.pair == fresh_pair() and store.disconnected is None
