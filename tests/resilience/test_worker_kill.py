"""A worker killed with SIGKILL in the middle of a job: the event is still mirrored, once.

Real processes: ``amo-bridge worker`` subprocesses on PostgreSQL and a throwaway Redis (so the
``default`` queue is private to this test). The simulator makes ``GET /api/v4/leads`` slow, the
worker is killed while it waits for that answer — after it claimed the inbox row, before the
mirror wrote anything. The sweeper (its clock moved past ``SWEEPER_STALE_SECONDS``) re-enqueues
the abandoned row and a fresh worker finishes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from amo_bridge.devstack import SUBDOMAIN, local_stack
from amo_bridge.models import Contact, ContactPhone, Deal, InboxEvent, StageChange
from jobs.sweeper import sweep

from .conftest import IN_WORK, NEW, SALES, ShiftedClock, bridge_settings

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
ROOT = Path(__file__).resolve().parents[2]
SLOW_READ = "GET /api/v4/leads"


def _worker(settings, log: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "JOB_MODE": "rq", "INSTANCE_PATH": str(settings.instance_path)}
    command = [str(Path(sys.executable).with_name("amo-bridge")), "worker", *extra]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (RQ forks a work horse per job, and a scheduler process)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [pid], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            tree.append(child)
            todo.append(child)
    return tree


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_job_killed_mid_flight_is_finished_by_the_next_worker_without_duplicates(
        pg_migrated_url, tmp_path, throwaway_redis):
    clock = ShiftedClock()
    settings = bridge_settings(pg_migrated_url, tmp_path, REDIS_URL=throwaway_redis.url,
                               JOB_MODE="rq")
    log = tmp_path / "workers.log"
    with local_stack(settings, clock=clock) as stack:
        sim = stack.simulator.simulator
        [contact] = sim.ui_create(SUBDOMAIN, "contacts", [{
            "name": "Петров Пётр", "custom_fields_values": [{"field_code": "PHONE", "values": [
                {"value": "+7 (916) 555-01-02", "enum_code": "MOB"}]}]}], skip_webhooks=True)
        [lead] = sim.ui_create(SUBDOMAIN, "leads", [{
            "name": "ОСАГО Kia Rio", "price": 9800, "pipeline_id": SALES, "status_id": NEW,
            "_embedded": {"contacts": [{"id": contact, "is_main": True}]}}], skip_webhooks=True)
        sim.ui_update(SUBDOMAIN, "leads", [{"id": lead, "status_id": IN_WORK}])
        sim.add_fault(SUBDOMAIN, match=SLOW_READ, latency=3.0)
        stack.http.post(f"{stack.sim_url}/_sim/webhooks/flush", timeout=30).raise_for_status()
        # The door's wake-up reaches Redis from its sender thread, right after the answer.
        _wait_for(lambda: stack.runtime.queue.rq_queue.count == 1, timeout=5,
                  what="the door's wake-up")

        def row() -> InboxEvent:
            with stack.runtime.db.read_session() as session:
                return session.scalars(select(InboxEvent)).one()

        first = _worker(settings, log)
        tree: list[int] = [first.pid]
        try:
            _wait_for(lambda: sim.stats(SUBDOMAIN)["endpoints"].get(SLOW_READ, 0) >= 1
                      and row().status == "processing", timeout=30,
                      what="the worker to claim the row and call amoCRM")
            # The whole worker dies at once, as in an OOM kill or a lost container: the work
            # horse running the job, the worker that forked it and its scheduler process.
            tree = _process_tree(first.pid)
            assert len(tree) >= 2, "the job should run in a forked work horse"
            _kill(tree[::-1])
            assert first.wait(10) == -signal.SIGKILL
        finally:
            _kill(tree)
        sim.clear_faults(SUBDOMAIN)

        # Killed mid-job: the row is left claimed, the ledger untouched, the wake-up consumed.
        killed = row()
        assert (killed.status, killed.attempts) == ("processing", 1)
        with stack.runtime.session() as session:
            assert _count(session, Deal) == 0
        assert stack.runtime.queue.rq_queue.count == 0

        assert sweep() == {}  # not stale yet: a slow job is not swept from under itself
        clock.advance(seconds=settings.sweeper_stale_seconds + 1)
        assert sweep() == {"inbox": 1}
        second = _worker(settings, log, "--burst")
        assert second.wait(60) == 0, log.read_text()

        done = row()
        with stack.runtime.session() as session:
            deals = session.scalars(select(Deal)).all()
            moves = session.scalars(select(StageChange)).all()
            contacts, phones = _count(session, Contact), _count(session, ContactPhone)
        assert stack.runtime.queue.rq_queue.failed_job_registry.count == 0
    assert (done.status, done.attempts, done.pending_reactions) == ("done", 2, None)
    assert [(d.amocrm_id, d.status_id, d.price) for d in deals] == [(lead, IN_WORK, 980_000)]
    assert [(m.from_status_id, m.to_status_id) for m in moves] == [(NEW, IN_WORK)]
    assert (contacts, phones) == (1, 1)
