"""`amo-bridge check`: configuration and connectivity, each check named with what is wrong."""

from __future__ import annotations

import os
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from amo_bridge import migrate
from amo_bridge.db import make_engine
from amo_bridge.settings import Settings, describe

Check = tuple[str, bool, str]


def run_checks(settings: Settings) -> Iterator[Check]:
    shown = describe(settings)
    yield "configuration", True, f"env={shown['env']} jobs={settings.effective_job_mode}"
    yield _instance(settings)
    yield from _database(settings)
    if settings.redis_url:
        yield _redis(settings)
    else:
        yield "redis", True, "not configured: jobs run in the serving process (embedded)"


def _instance(settings: Settings) -> Check:
    path = settings.instance_path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return "instance", False, f"{path}: {exc.strerror}"
    if not os.access(path, os.W_OK):
        return "instance", False, f"{path} is not writable"
    return "instance", True, str(path)


def _database(settings: Settings) -> Iterator[Check]:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        yield "database", True, describe(settings)["database_url"]
        current, head = migrate.current_revision(engine), migrate.head_revision()
        if current == head:
            yield "migrations", True, f"at head {head}"
        else:
            yield "migrations", False, (
                f"at {current}, code needs {head}: run 'amo-bridge db upgrade'"
            )
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        yield "database", False, reason
    finally:
        engine.dispose()


def _redis(settings: Settings) -> Check:
    from redis.exceptions import RedisError

    from jobs.runtime import connect_redis

    try:
        connect_redis(settings.redis_url).ping()
    except RedisError as exc:
        return "redis", False, str(exc)
    return "redis", True, describe(settings)["redis_url"]
