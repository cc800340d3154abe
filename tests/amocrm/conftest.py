from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from amo_bridge.amocrm import AmoClient, LocalRateLimiter, OAuthCredentials, TokenPair
from amo_bridge.amocrm.http import make_session
from amo_bridge.amocrm.memory import MemoryTokenStore
from amo_bridge.amocrm.transport import AccountAlert, RetryPolicy
from amo_bridge.amocrm.writes import MemoryRecorder
from amo_bridge.clock import FrozenClock
from tests.amocrm.scripted_server import ScriptedServer

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
CREDENTIALS = OAuthCredentials(client_id="cid", client_secret="secret",
                               redirect_uri="https://bridge.example/oauth")


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


def fresh_pair(*, access: str = "A1", refresh: str | None = "R1", hours: float = 20,
               version: int = 1) -> TokenPair:
    return TokenPair(access_token=access, refresh_token=refresh,
                     expires_at=NOW + timedelta(hours=hours), refreshed_at=NOW, version=version)


class FakeTime:
    """Monotonic time that moves only when slept: the limiter's waits cost nothing."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Harness:
    def __init__(self, server: ScriptedServer, clock: FrozenClock) -> None:
        self.server = server
        self.store = MemoryTokenStore(fresh_pair())
        self.time = FakeTime()
        self.limiter = LocalRateLimiter(rate=7, timer=self.time)
        self.recorder = MemoryRecorder()
        self.alerts: list[AccountAlert] = []
        self.client = AmoClient(
            base_url=server.url + "/s/broker", tokens=self.store, limiter=self.limiter,
            account_key="1001", credentials=CREDENTIALS,
            session=make_session(timeout=0.5, connect_retries=0), recorder=self.recorder,
            alert=self.alerts.append, policy=RetryPolicy(attempts=3, backoff=0.01),
            clock=clock, sleep=self.time.sleep,
        )


@pytest.fixture
def harness(server: ScriptedServer, clock: FrozenClock) -> Harness:
    return Harness(server, clock)
