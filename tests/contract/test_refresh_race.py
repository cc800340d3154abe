"""Eight workers meet an expired access token at once: exactly one refresh reaches amoCRM.

Threads and separate processes (``spawn``), with the token row in SQLite (write lock by
``BEGIN IMMEDIATE``) and PostgreSQL (``SELECT … FOR UPDATE``), and with a Redis lock.
"""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from amo_bridge.db import Database
from amo_bridge.models import Account, AccountStatus, OAuthToken
from amo_bridge.simulator.server import RunningServer
from tests.contract.conftest import CREDENTIALS, oauth_pair
from tests.contract.sim import SimControl
from tests.contract.workers import call_account, run_in_processes

pytestmark = pytest.mark.slow
WORKERS = 8
CREDS = {"client_id": CREDENTIALS.client_id, "client_secret": CREDENTIALS.client_secret,
         "redirect_uri": CREDENTIALS.redirect_uri}


def install(database_url: str, sim: SimControl, *, expired: bool = True) -> int:
    """An account row plus a real token pair whose access token we consider expired."""
    pair = oauth_pair(sim)
    db = Database(database_url)
    try:
        with db.session() as session:
            account = Account(amocrm_id=sim.account_id, subdomain=sim.subdomain,
                              base_url=sim.base_url, webhook_token_hash=uuid.uuid4().hex)
            session.add(account)
            session.flush()
            expires = datetime.now(UTC) - timedelta(minutes=1) if expired else pair.expires_at
            session.add(OAuthToken(account_id=account.id, access_token=pair.access_token,
                                   refresh_token=pair.refresh_token, expires_at=expires,
                                   refreshed_at=datetime.now(UTC) - timedelta(days=1),
                                   version=1))
            return account.id
    finally:
        db.dispose()


def check(database_url: str, account_id: int, sim: SimControl, outcomes: list[str]) -> None:
    assert len(outcomes) == WORKERS
    failures = [o for o in outcomes if not o.startswith("ok:")]
    assert failures == []
    stats = sim.stats()
    assert stats["token_refresh_attempts"] == 1, stats
    assert stats["token_refreshes"] == 1
    assert len({o for o in outcomes}) == 1  # everyone ended up with the same new token
    db = Database(database_url)
    try:
        with db.session() as session:
            token = session.query(OAuthToken).filter_by(account_id=account_id).one()
            account = session.get(Account, account_id)
            assert token.version == 2 and token.revoked_at is None
            assert outcomes[0] == f"ok:{token.access_token}"
            assert account.status == AccountStatus.ACTIVE
    finally:
        db.dispose()


def run_threads(database_url: str, account_id: int, **redis: str) -> list[str]:
    barrier = threading.Barrier(WORKERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        outcome = call_account(database_url, account_id, CREDS, barrier, **redis)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def run_processes(database_url: str, account_id: int, **redis: str) -> list[str]:
    return run_in_processes(WORKERS, "call_account", database_url, account_id, CREDS, **redis)


@pytest.fixture
def sim(simulator: RunningServer) -> SimControl:
    return SimControl.add_account(simulator.url)


@pytest.mark.parametrize("runner", [run_threads, run_processes], ids=["threads", "processes"])
def test_one_refresh_with_the_database_lock(database_url: str, sim: SimControl, runner) -> None:
    account_id = install(database_url, sim)
    if runner is run_processes:
        # Without Redis, separate processes share no rate budget (the embedded mode is one
        # process); eight at once would meet amoCRM's 429. The subject here is the lock.
        sim.set_limits(enabled=False)
    sim.reset_stats()
    outcomes = runner(database_url, account_id)
    check(database_url, account_id, sim, outcomes)


@pytest.mark.redis
@pytest.mark.parametrize("runner", [run_threads, run_processes], ids=["threads", "processes"])
def test_one_refresh_with_the_redis_lock(database_url: str, sim: SimControl, runner,
                                         redis_prefix: str) -> None:
    account_id = install(database_url, sim)
    sim.reset_stats()
    outcomes = runner(database_url, account_id, redis_url=os.environ["REDIS_URL"],
                      redis_prefix=redis_prefix)
    check(database_url, account_id, sim, outcomes)


def test_one_refresh_when_amocrm_answers_401(database_url: str, sim: SimControl) -> None:
    """Our row says the token is valid, amoCRM has already let it die: 401 → one refresh."""
    account_id = install(database_url, sim, expired=False)
    # The subject is the lock: on a loaded machine the threads' requests can bunch up past
    # amoCRM's 7/s at the simulator, and a 429 would fail a worker for another reason.
    sim.set_limits(enabled=False)
    sim.advance_clock(hours=25)
    try:
        sim.reset_stats()
        outcomes = run_threads(database_url, account_id)
    finally:
        sim.advance_clock(hours=-25)
    check(database_url, account_id, sim, outcomes)
    assert sim.stats()["statuses"]["401"] >= 1
