"""SMS test fixtures: a migrated database (SQLite always, PostgreSQL when configured), a runtime
with a frozen clock, the fake provider, and an inline job queue."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from amo_bridge import migrate
from amo_bridge.clock import FrozenClock
from amo_bridge.settings import load_settings
from jobs.queue import InlineJobQueue, JobCall
from jobs.runtime import Runtime, build_runtime, set_runtime
from sms.fake import FakeGateway
from sms.registry import GatewaySet

#: Monday 3 March 2025, 12:00 in Moscow.
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sms-template") / "template.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _fresh_postgres(url: str) -> str:
    engine = create_engine(url)
    try:
        if "alembic_version" not in inspect(engine).get_table_names():
            migrate.upgrade(url)
            return url
        with engine.begin() as connection:
            tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
            connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                    + " RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, _sqlite_template: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "sms.sqlite3"
        shutil.copy(_sqlite_template, target)
        return f"sqlite:///{target}"
    return _fresh_postgres(request.getfixturevalue("pg_database_url"))


class TestQueue(InlineJobQueue):
    """Inline, except amoCRM note writes, which are only recorded (tests opt in)."""

    __test__ = False

    def __init__(self) -> None:
        super().__init__()
        self.held: list[JobCall] = []
        self.hold = {"jobs.sms.write_notes", "jobs.sms.sync_verification"}

    def enqueue(self, call: JobCall) -> None:
        if call.func in self.hold:
            self.held.append(call)
            return
        super().enqueue(call)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def runtime(db_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Runtime]:
    settings = load_settings({"DATABASE_URL": db_url, "JOB_MODE": "inline",
                              "SECRET_KEY": "test-secret", "INSTANCE_PATH": str(tmp_path)})
    rt = build_runtime(settings, clock=clock)
    rt.queue = TestQueue()
    rt.extras["sms.gateways"] = GatewaySet(FakeGateway())
    set_runtime(rt)
    yield rt
    set_runtime(None)
    rt.db.dispose()


@pytest.fixture
def fake(runtime: Runtime) -> FakeGateway:
    return runtime.extras["sms.gateways"].primary
