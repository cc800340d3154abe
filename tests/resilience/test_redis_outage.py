"""Redis goes away: every webhook is still answered 200, and all of them reach the ledger once.

A throwaway ``redis-server`` (never the shared one) backs the bridge's RQ queue. It is stopped,
the simulator delivers 500 real amoCRM webhooks, Redis comes back *empty* (no persistence), the
sweeper re-enqueues the rows that waited in the inbox, and an RQ worker drains the queue.
"""

from __future__ import annotations

from collections import Counter

import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from amo_bridge.devstack import SUBDOMAIN, local_stack
from amo_bridge.ledger.changes import DealCreated, StageMoved
from amo_bridge.models import Deal, InboxEvent, StageChange
from jobs.sweeper import sweep

from .conftest import IN_WORK, NEW, SALES, ShiftedClock, bridge_settings

pytestmark = pytest.mark.redis
HOOKS = 500


def test_webhooks_during_a_redis_outage_are_answered_and_all_mirrored_once(
        migrated_url, tmp_path, throwaway_redis, recorded):
    clock = ShiftedClock()
    settings = bridge_settings(migrated_url, tmp_path, REDIS_URL=throwaway_redis.url,
                               JOB_MODE="rq")
    with local_stack(settings, clock=clock) as stack:
        sim = stack.simulator.simulator
        leads = sim.ui_create(SUBDOMAIN, "leads", [
            {"name": f"ОСАГО №{i}", "price": 5000 + i, "pipeline_id": SALES, "status_id": NEW}
            for i in range(HOOKS)], skip_webhooks=True)

        throwaway_redis.stop()
        for lead_id in leads:  # one change, one webhook each
            sim.ui_update(SUBDOMAIN, "leads", [{"id": lead_id, "status_id": IN_WORK}])
        stack.http.post(f"{stack.sim_url}/_sim/webhooks/flush", timeout=120).raise_for_status()

        sent = [d for d in sim.deliveries(SUBDOMAIN) if d["state"] != "skipped"]
        assert len(sent) == HOOKS
        # amoCRM's view: each hook answered 200 on its first attempt, within its 2 s timeout.
        assert Counter((d["state"], tuple(a["status"] for a in d["attempts"])) for d in sent) \
            == {("delivered", (200,)): HOOKS}
        with stack.runtime.session() as session:
            assert session.scalar(select(func.count()).select_from(InboxEvent).where(
                InboxEvent.status == "pending")) == HOOKS
            assert session.scalar(select(func.count()).select_from(Deal)) == 0

        throwaway_redis.start()  # back, and empty: every wake-up sent while it was down is lost
        queue = stack.runtime.queue.rq_queue
        assert queue.count == 0
        clock.advance(seconds=settings.sweeper_stale_seconds + 1)
        assert sweep() == {"inbox": HOOKS}
        SimpleWorker([queue], connection=stack.runtime.redis,
                     serializer=JSONSerializer).work(burst=True)
        assert queue.failed_job_registry.count == 0
        stats = sim.stats(SUBDOMAIN)
        assert stats["rate_limited"] == 0, stats

        with stack.runtime.session() as session:
            rows = session.scalars(select(InboxEvent)).all()
            deals = session.scalars(select(Deal)).all()
            moves = session.scalars(select(StageChange)).all()
    # Every row processed, each claimed exactly once although 500 wake-ups were swept.
    assert Counter((r.status, r.attempts) for r in rows) == {("done", 1): HOOKS}
    assert sorted(d.amocrm_id for d in deals) == sorted(leads)
    assert {d.status_id for d in deals} == {IN_WORK}
    assert Counter((m.from_status_id, m.to_status_id) for m in moves) == {(NEW, IN_WORK): HOOKS}
    assert len({m.deal_id for m in moves}) == HOOKS
    # Reactions saw each change once: no deal "created" twice, no move reported twice.
    created = [c.deal_id for c in recorded if isinstance(c, DealCreated)]
    moved = [c.event_id for c in recorded if isinstance(c, StageMoved)]
    assert len(created) == len(set(created)) == HOOKS
    assert len(moved) == len(set(moved)) == HOOKS


def test_a_hung_redis_still_gets_every_webhook_answered_within_amocrms_timeout(
        migrated_url, tmp_path, throwaway_redis):
    """Not refused but hanging (a dead network path): each enqueue waits for its timeout, which
    must leave the answer inside amoCRM's 2 seconds — the simulator counts a slower 200 as a
    failure, and amoCRM switches a hook off after 100 of them."""
    clock = ShiftedClock()
    settings = bridge_settings(migrated_url, tmp_path, REDIS_URL=throwaway_redis.url,
                               JOB_MODE="rq")
    with local_stack(settings, clock=clock) as stack:
        sim = stack.simulator.simulator
        leads = sim.ui_create(SUBDOMAIN, "leads", [
            {"name": f"КАСКО №{i}", "pipeline_id": SALES, "status_id": NEW} for i in range(3)],
            skip_webhooks=True)
        for lead_id in leads:
            sim.ui_update(SUBDOMAIN, "leads", [{"id": lead_id, "status_id": IN_WORK}])
        throwaway_redis.pause()
        try:
            sim.flush_webhooks()
        finally:
            throwaway_redis.resume()
        sent = [d for d in sim.deliveries(SUBDOMAIN) if d["state"] != "skipped"]
        assert [(d["state"], [a["status"] for a in d["attempts"]]) for d in sent] == [
            ("delivered", [200])] * 3
        clock.advance(seconds=settings.sweeper_stale_seconds + 1)
        assert sweep() == {"inbox": 3}
        SimpleWorker([stack.runtime.queue.rq_queue], connection=stack.runtime.redis,
                     serializer=JSONSerializer).work(burst=True)
        with stack.runtime.session() as session:
            assert sorted(session.scalars(select(Deal.amocrm_id))) == sorted(leads)
