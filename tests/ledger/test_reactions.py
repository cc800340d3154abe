"""Reactions run after the mirror commits, once per change, and survive a crash in between."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from amo_bridge.ledger.changes import DealCreated, StageMoved, reacts_to, unregister
from amo_bridge.models import Deal, InboxEvent

from .test_mirror_e2e import IN_WORK, _create_lead

SEEN: list = []
FAIL_TIMES = {"n": 0}
_lock = threading.Lock()


@pytest.fixture(autouse=True)
def recorders():
    SEEN.clear()
    FAIL_TIMES["n"] = 0

    @reacts_to(StageMoved, DealCreated, name="test.recorder")
    def record(session, change):
        # A reaction runs in its own committed unit of work and can read the mirrored state.
        deal = session.get(Deal, change.deal_id)
        with _lock:
            SEEN.append((type(change).__name__, deal.amocrm_id, getattr(change, "to_status_id",
                                                                         None)))

    @reacts_to(StageMoved, name="test.flaky")
    def flaky(session, change):
        with _lock:
            if FAIL_TIMES["n"] > 0:
                FAIL_TIMES["n"] -= 1
                raise RuntimeError("the SMS gateway fell over")
            SEEN.append(("flaky-ok", change.event_id, None))

    yield
    unregister("test.recorder")
    unregister("test.flaky")


def test_each_change_reaches_each_reaction_once(stack):
    lead_id = _create_lead(stack)
    stack.deliver()
    stack.sim("PATCH", f"/leads/{lead_id}", {"status_id": IN_WORK})
    stack.deliver()
    stack.deliver()  # nothing new: no reaction runs again
    assert [s for s in SEEN if s[0] != "flaky-ok"] == [
        ("DealCreated", lead_id, None), ("StageMoved", lead_id, IN_WORK)]
    assert len([s for s in SEEN if s[0] == "flaky-ok"]) == 1


def test_a_failed_reaction_is_retried_alone(stack):
    stack.runtime.queue.retry_intervals = (0.05, 0.05, 0.05)
    lead_id = _create_lead(stack)
    stack.deliver()
    FAIL_TIMES["n"] = 2  # the next two attempts of the flaky reaction fail
    stack.sim("PATCH", f"/leads/{lead_id}", {"status_id": IN_WORK})
    stack.deliver()
    stack.wait()
    moved = [s for s in SEEN if s[0] == "StageMoved"]
    assert moved == [("StageMoved", lead_id, IN_WORK)]  # the healthy reaction ran once
    assert len([s for s in SEEN if s[0] == "flaky-ok"]) == 1  # the flaky one, after 2 failures
    with stack.runtime.session() as session:
        rows = session.scalars(select(InboxEvent)).all()
    assert all(r.status == "done" and not r.pending_reactions for r in rows)


def test_the_bridges_own_writes_trigger_no_reaction(stack):
    client = stack.client()
    result = client.create_leads([{"name": "Пролонгация: ОСАГО", "pipeline_id": 7811002,
                                   "request_id": "r1"}])
    stack.deliver()
    lead_id = result.ids["r1"]
    with stack.runtime.session() as session:
        deal = session.scalar(select(Deal).where(Deal.amocrm_id == lead_id))
    assert deal is not None and deal.created_by_bridge
    assert SEEN == []
