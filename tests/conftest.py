"""Test configuration: the embedded default always; PostgreSQL and Redis when configured.

- Tests marked ``postgres`` run when ``DATABASE_URL`` points at PostgreSQL; each test session
  creates its own throwaway database on that server (so parallel runs never collide) and drops
  it at the end.
- Tests marked ``redis`` run when ``REDIS_URL`` is set.
- Without those variables the marked tests are deselected (the embedded run). With
  ``REQUIRE_SERVICES=1`` a missing variable or an unreachable service fails the run instead:
  CI must fail, not skip, when PostgreSQL or Redis is down.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from amo_bridge.settings import normalize_database_url

ROOT = Path(__file__).resolve().parent.parent


def _require_services() -> bool:
    return os.environ.get("REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def _pg_server_url() -> str | None:
    raw = os.environ.get("DATABASE_URL", "").strip()
    if not raw or raw.startswith("sqlite"):
        return None
    return normalize_database_url(raw)


def _redis_url() -> str | None:
    return os.environ.get("REDIS_URL", "").strip() or None


def pytest_configure(config: pytest.Config) -> None:
    if not _require_services():
        return
    problems = []
    if _pg_server_url() is None:
        problems.append("DATABASE_URL is not set to a PostgreSQL URL")
    else:
        try:
            engine = create_engine(_pg_server_url())
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            engine.dispose()
        except Exception as exc:  # noqa: BLE001 - any failure is reported verbatim
            problems.append(f"PostgreSQL unreachable: {str(exc).splitlines()[0]}")
    if _redis_url() is None:
        problems.append("REDIS_URL is not set")
    else:
        from redis import Redis
        from redis.exceptions import RedisError

        try:
            Redis.from_url(_redis_url(), socket_connect_timeout=2).ping()
        except RedisError as exc:
            problems.append(f"Redis unreachable: {exc}")
    if problems:
        raise pytest.UsageError("REQUIRE_SERVICES=1 but: " + "; ".join(problems))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = {"postgres": _pg_server_url() is None, "redis": _redis_url() is None}
    selected, deselected = [], []
    for item in items:
        if any(missing[name] and item.get_closest_marker(name) for name in missing):
            deselected.append(item)
        else:
            selected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


# --- databases ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    server = _pg_server_url()
    if server is None:
        pytest.fail("postgres fixture used without DATABASE_URL (missing @pytest.mark.postgres?)")
    name = f"amo_bridge_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Both backends: the embedded SQLite, and PostgreSQL when configured. Starts empty."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
        return
    url = request.getfixturevalue("pg_database_url")
    yield url
    _drop_everything(url)


def _drop_everything(url: str) -> None:
    """Empty the test database, and close connections the test's engines left in their pools.

    Engines made inside code under test keep pooled connections until the process ends; a
    whole suite would otherwise run PostgreSQL out of client slots ("too many clients").
    """
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        )
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def migrated_url(any_database_url: str) -> str:
    from amo_bridge import migrate

    migrate.upgrade(any_database_url)
    return any_database_url


# --- redis ----------------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    url = _redis_url()
    if url is None:
        pytest.fail("redis fixture used without REDIS_URL (missing @pytest.mark.redis?)")
    return url


@pytest.fixture
def redis_conn(redis_url: str):
    from redis import Redis

    connection = Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def unique() -> str:
    """A short unique token for Redis key prefixes and queue names."""
    return uuid.uuid4().hex[:12]
