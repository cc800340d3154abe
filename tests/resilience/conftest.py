"""Shared pieces of the resilience tests: a throwaway Redis, a movable clock, scenario helpers.

The shared Redis at ``REDIS_URL`` is never stopped or flushed: tests that take Redis away start
their own ``redis-server`` on a spare loopback port, in a temporary directory, with persistence
off, so a restart comes back empty — exactly what a crashed, non-persistent Redis looks like.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

SALES, NEW, IN_WORK, CALC, ISSUING, WON, LOST = (7811001, 61100002, 61100003, 61100004,
                                                 61100005, 142, 143)


class ShiftedClock:
    """Wall-clock time plus an offset the test moves forward: "five minutes later", no sleep."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._offset += timedelta(**delta)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayRedis:
    """A private ``redis-server`` on a spare loopback port that a test may stop and restart."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        from redis import Redis
        from redis.exceptions import RedisError

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        probe = Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                probe.ping()
                break
            except RedisError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)
            finally:
                probe.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def pause(self) -> None:
        """Hang, as a Redis behind a dead network path: connections open, nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


@pytest.fixture
def throwaway_redis(tmp_path: Path):
    if shutil.which("redis-server") is None:
        if os.environ.get("REQUIRE_SERVICES", "") not in ("", "0", "false", "no"):
            pytest.fail("redis-server is not installed: cannot start a throwaway Redis")
        pytest.skip("redis-server is not installed: cannot start a throwaway Redis")
    server = ThrowawayRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_migrated_url(pg_database_url: str):
    """The session's PostgreSQL database, migrated, and emptied again afterwards."""
    from amo_bridge import migrate

    migrate.upgrade(pg_database_url)
    yield pg_database_url
    engine = create_engine(pg_database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def recorded():
    """Every change the mirror reports to reactions, as a recording reaction sees it."""
    from amo_bridge.ledger.changes import (
        DealCreated,
        DealLost,
        DealWon,
        PolicyRecorded,
        StageMoved,
        reacts_to,
        unregister,
    )

    seen: list = []
    lock = threading.Lock()

    @reacts_to(DealCreated, StageMoved, DealWon, DealLost, PolicyRecorded,
               name="tests.resilience.recorder")
    def record(_session, change):
        with lock:
            seen.append(change)

    yield seen
    unregister("tests.resilience.recorder")


def bridge_settings(database_url: str, instance: Path, **env: str):
    from amo_bridge.settings import load_settings

    return load_settings({"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), **env})
