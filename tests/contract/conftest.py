"""Fixtures for the contract tests: the simulator over real HTTP on loopback.

Databases come from the suite's ``migrated_url`` fixture: both backends, real migrations.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from amo_bridge.amocrm import AmoClient, LocalRateLimiter, OAuthCredentials, TokenPair
from amo_bridge.amocrm.http import make_session
from amo_bridge.amocrm.memory import MemoryTokenStore
from amo_bridge.amocrm.oauth import exchange_code
from amo_bridge.amocrm.ratelimit import RateLimiter
from amo_bridge.amocrm.transport import AccountAlert, RetryPolicy
from amo_bridge.amocrm.writes import MemoryRecorder
from amo_bridge.simulator.app import create_app
from amo_bridge.simulator.config import SimulatorConfig
from amo_bridge.simulator.server import RunningServer, run_in_thread
from tests.contract.sim import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SimControl

CREDENTIALS = OAuthCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                               redirect_uri=REDIRECT_URI)


@pytest.fixture(scope="module")
def simulator() -> Iterator[RunningServer]:
    app = create_app(SimulatorConfig(webhook_delivery="manual"), seed=None)
    with run_in_thread(app) as running:
        yield running


@pytest.fixture
def sim(simulator: RunningServer) -> SimControl:
    """A fresh account on the shared simulator (accounts never see each other's traffic)."""
    return SimControl.add_account(simulator.url)


def oauth_pair(sim: SimControl) -> TokenPair:
    return exchange_code(make_session(), sim.base_url, CREDENTIALS, code=sim.issue_code())


class ClientKit:
    def __init__(self, sim: SimControl, *, rate: float, limiter: RateLimiter | None = None,
                 store: MemoryTokenStore | None = None) -> None:
        self.sim = sim
        self.store = store or MemoryTokenStore(oauth_pair(sim))
        self.limiter = limiter or LocalRateLimiter(rate=rate)
        self.recorder = MemoryRecorder()
        self.alerts: list[AccountAlert] = []
        self.client = AmoClient(
            base_url=sim.base_url, tokens=self.store, limiter=self.limiter,
            account_key=str(sim.account_id), credentials=CREDENTIALS,
            session=make_session(timeout=5), recorder=self.recorder, alert=self.alerts.append,
            policy=RetryPolicy(attempts=3, backoff=0.05),
        )


@pytest.fixture
def kit_factory(sim: SimControl) -> Callable[..., ClientKit]:
    def make(*, rate: float = 5, **options: Any) -> ClientKit:
        return ClientKit(sim, rate=rate, **options)

    return make


@pytest.fixture
def kit(kit_factory: Callable[..., ClientKit]) -> ClientKit:
    return kit_factory()


# --- databases for the refresh race ---------------------------------------------------------


@pytest.fixture
def database_url(migrated_url: str) -> str:
    """Both backends, migrated with the real migrations (tests/conftest.py)."""
    return migrated_url


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("redis test without REDIS_URL (missing @pytest.mark.redis?)")
    prefix = f"test-contract-{uuid.uuid4().hex[:10]}"
    yield prefix
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
