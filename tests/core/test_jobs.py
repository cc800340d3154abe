"""Job wiring: enqueue after commit, the three modes, the sweeper, and the cron scheduler."""

from __future__ import annotations

import json
import logging
import threading
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from amo_bridge.clock import FrozenClock
from amo_bridge.models import Account, InboxEvent
from amo_bridge.settings import load_settings
from jobs import sweeper
from jobs.queue import JobCall, ThreadJobQueue, enqueue_after_commit
from jobs.runtime import build_runtime, get_runtime, set_runtime

CALLS: list[tuple] = []
FAILURES: dict[str, int] = {}
_lock = threading.Lock()


def record(*args):
    """A job for these tests: importable by dotted path, like every real job."""
    with _lock:
        CALLS.append(args)


def flaky(key: str, failures: int):
    with _lock:
        FAILURES[key] = FAILURES.get(key, 0) + 1
        if FAILURES[key] <= failures:
            raise RuntimeError(f"failure {FAILURES[key]}")
        CALLS.append((key,))


def mark_done(inbox_id: int):
    """A sweepable's job: marks the row done (idempotent), as a real job would."""
    runtime = get_runtime()
    with runtime.session() as session:
        row = session.get(InboxEvent, inbox_id)
        row.status = "done"
        CALLS.append(("swept", inbox_id))


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    FAILURES.clear()
    yield
    set_runtime(None)


def _runtime(url: str, mode: str, **env):
    settings = load_settings({"DATABASE_URL": url, "JOB_MODE": mode, **env})
    runtime = build_runtime(settings)
    set_runtime(runtime)
    return runtime


def test_inline_job_runs_after_commit_only(migrated_url):
    runtime = _runtime(migrated_url, "inline")
    with runtime.session() as session:
        enqueue_after_commit(session, "tests.core.test_jobs.record", 1, "a")
        assert CALLS == []  # nothing before the commit
    assert CALLS == [(1, "a")]


def test_rolled_back_work_enqueues_nothing(migrated_url):
    runtime = _runtime(migrated_url, "inline")
    with pytest.raises(RuntimeError), runtime.session() as session:
        enqueue_after_commit(session, "tests.core.test_jobs.record", 2)
        raise RuntimeError("boom")
    with runtime.session() as session:
        pass  # a later commit must not carry the dropped job
    assert CALLS == []


def test_jobs_take_ids_not_objects(migrated_url):
    runtime = _runtime(migrated_url, "inline")
    with runtime.session() as session, pytest.raises(TypeError, match="jobs take ids"):
        enqueue_after_commit(session, "tests.core.test_jobs.record", object())


def test_thread_worker_runs_jobs_off_the_caller_thread_and_retries():
    queue = ThreadJobQueue(retry_intervals=(0.01, 0.01, 0.01))
    queue.start()
    try:
        queue.enqueue(JobCall("tests.core.test_jobs.flaky", ("k", 2)))
        queue.enqueue(JobCall("tests.core.test_jobs.record", (3,)))
        deadline = datetime.now(UTC) + timedelta(seconds=5)
        while len(CALLS) < 2 and datetime.now(UTC) < deadline:
            threading.Event().wait(0.02)
    finally:
        queue.stop()
    assert set(CALLS) == {(3,), ("k",)} and len(CALLS) == 2
    assert FAILURES["k"] == 3  # two failures, then success on the third attempt


def test_thread_worker_gives_up_after_the_last_retry(caplog):
    queue = ThreadJobQueue(retry_intervals=(0.01,))
    queue.start()
    try:
        with caplog.at_level(logging.ERROR):
            queue.enqueue(JobCall("tests.core.test_jobs.flaky", ("never", 99)))
            deadline = datetime.now(UTC) + timedelta(seconds=5)
            while "failed for good" not in caplog.text and datetime.now(UTC) < deadline:
                threading.Event().wait(0.02)
    finally:
        queue.stop()
    assert FAILURES["never"] == 2
    assert "failed for good" in caplog.text


@pytest.mark.redis
def test_rq_job_round_trips_as_json_through_a_real_worker(migrated_url, redis_conn, unique):
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    from jobs.queue import RQJobQueue

    runtime = _runtime(migrated_url, "inline")
    runtime.queue = RQJobQueue(redis_conn, name=f"test-{unique}")
    with runtime.session() as session:
        enqueue_after_commit(session, "tests.core.test_jobs.record", 7, "x")
    queue = Queue(f"test-{unique}", connection=redis_conn, serializer=JSONSerializer)
    assert queue.count == 1
    job = queue.jobs[0]
    assert job.func_name == "tests.core.test_jobs.record" and job.args == [7, "x"]
    assert job.retries_left == 5
    stored = json.loads(zlib.decompress(redis_conn.hget(job.key, "data")))  # JSON, not pickle
    assert stored[0] == "tests.core.test_jobs.record" and stored[2] == [7, "x"]
    SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True)
    assert CALLS == [(7, "x")]
    queue.delete(delete_jobs=True)


def test_redis_down_keeps_the_commit_and_warns(migrated_url, caplog):
    runtime = _runtime(migrated_url, "rq", REDIS_URL="redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING), runtime.session() as session:
        account = Account(amocrm_id=1, subdomain="a", base_url="http://x",
                          webhook_token_hash="1" * 64)
        session.add(account)
        session.flush()
        enqueue_after_commit(session, "tests.core.test_jobs.record", account.id)
    with runtime.session() as session:
        assert session.query(Account).count() == 1
    assert "the sweeper will retry it" in caplog.text


def _stuck_rows(runtime, clock_now):
    with runtime.session() as session:
        account = Account(amocrm_id=2, subdomain="b", base_url="http://x",
                          webhook_token_hash="2" * 64)
        session.add(account)
        session.flush()
        rows = []
        for status in ("pending", "processing", "done", "pending"):
            row = InboxEvent(account_id=account.id, source="amocrm", body=b"x", body_sha256="h",
                             received_at=clock_now, status=status)
            session.add(row)
            rows.append(row)
        session.flush()
        return [r.id for r in rows]


def test_sweeper_re_enqueues_stale_work_once(migrated_url, monkeypatch):
    runtime = _runtime(migrated_url, "inline")
    clock = FrozenClock(datetime.now(UTC))
    runtime.clock = clock
    monkeypatch.setattr(sweeper, "WORK_MODULES", [])
    monkeypatch.setattr(sweeper, "SWEEPABLES", {
        "test_inbox": sweeper.Sweepable("test_inbox", InboxEvent, ("pending", "processing"),
                                        "tests.core.test_jobs.mark_done"),
    })
    ids = _stuck_rows(runtime, clock.now())

    assert sweeper.sweep() == {}  # fresh rows are left alone
    clock.advance(seconds=runtime.settings.sweeper_stale_seconds + 5)
    assert sweeper.sweep() == {"test_inbox": 3}
    assert sorted(CALLS) == sorted(("swept", i) for i in (ids[0], ids[1], ids[3]))
    CALLS.clear()
    clock.advance(hours=1)
    assert sweeper.sweep() == {}  # all done now: nothing to sweep
    assert CALLS == []


@pytest.mark.redis
def test_cron_scheduler_enqueues_json_jobs_from_config(redis_conn, unique):
    from rq.serializers import JSONSerializer

    from jobs.schedule import PERIODIC
    from jobs.worker import make_cron_scheduler

    scheduler = make_cron_scheduler(redis_conn)
    names = sorted(job.func.__module__ + "." + job.func.__name__ for job in scheduler.get_jobs())
    assert names == sorted(p.func for p in PERIODIC)
    cron_job = scheduler.get_jobs()[0]
    cron_job.queue_name = f"cron-{unique}"
    job = cron_job.enqueue(redis_conn)
    assert job.serializer is JSONSerializer or job.serializer == JSONSerializer
    stored = json.loads(zlib.decompress(redis_conn.hget(job.key, "data")))  # JSON, not pickle
    assert stored[0] == cron_job.func.__module__ + "." + cron_job.func.__name__
    from rq import Queue

    Queue(f"cron-{unique}", connection=redis_conn).delete(delete_jobs=True)
