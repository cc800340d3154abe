"""What a job needs to run: settings, database, queue, clock, Redis — built once per process.

The serving process (app factory) and the tests install a runtime explicitly with
:func:`set_runtime`. An RQ worker process builds one from the environment on first use: this
is the "worker bootstrap", one of the three places allowed to read ``os.environ``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from amo_bridge.clock import Clock, system_clock
from amo_bridge.db import Database
from amo_bridge.settings import Settings, load_settings
from jobs.queue import JobQueue, install_after_commit, make_queue


@dataclass
class Runtime:
    settings: Settings
    db: Database
    queue: JobQueue
    clock: Clock = system_clock
    redis: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.db.session() as session:
            yield session


_current: Runtime | None = None
_lock = threading.Lock()


def build_runtime(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    mode: str | None = None,
    db: Database | None = None,
) -> Runtime:
    mode = mode or settings.effective_job_mode
    redis = connect_redis(settings.redis_url) if settings.redis_url else None
    database = db or Database(settings.database_url)
    queue = make_queue(mode, redis=redis)
    runtime = Runtime(settings=settings, db=database, queue=queue, clock=clock, redis=redis)
    install_after_commit(database.sessionmaker, lambda: runtime.queue)
    return runtime


def connect_redis(url: str) -> Any:
    from redis import Redis

    # RQ stores binary job payloads: no decode_responses. Short timeouts: the webhook door
    # enqueues inside amoCRM's 2-second answer window, and a Redis that hangs (rather than
    # refusing) must cost it at most ~1 s; RQ's worker raises the timeout for its own blocking
    # dequeue (rq.worker: connection_timeout).
    return Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1, health_check_interval=30)


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    with _lock:
        _current = runtime


def get_runtime() -> Runtime:
    global _current
    with _lock:
        if _current is None:
            _current = build_runtime(load_settings(os.environ))
        return _current
