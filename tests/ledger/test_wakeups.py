"""One waiting job per account stands for every row the account stored meanwhile: nothing is
left pending when its own row went with an earlier batch, or when more rows wait than a batch
takes (found by bench/mirror: 7 493 rows once waited for the sweeper)."""

from __future__ import annotations

from sqlalchemy import select

import jobs.inbox
from amo_bridge.devstack import SUBDOMAIN
from amo_bridge.models import Deal, InboxEvent
from jobs.inbox import _claim

SALES, NEW, IN_WORK = 7811001, 61100002, 61100003


def _leads(stack, n: int) -> list[int]:
    """n leads, one user action (one webhook) each."""
    sim = stack.simulator.simulator
    return [sim.ui_create(SUBDOMAIN, "leads", [
        {"name": f"ОСАГО №{i}", "pipeline_id": SALES, "status_id": NEW}])[0] for i in range(n)]


def _statuses(stack) -> list[str]:
    with stack.runtime.db.read_session() as session:
        return list(session.scalars(select(InboxEvent.status).order_by(InboxEvent.id)))


def _queued(stack) -> list[tuple]:
    return [item[0].args for item in list(stack.runtime.queue._pending.queue) if item]


def test_a_job_whose_row_went_with_an_earlier_batch_takes_the_rows_behind_it(stack):
    queue = stack.runtime.queue
    queue.stop()
    _leads(stack, 1)
    stack.simulator.simulator.flush_webhooks()
    [first] = _statuses(stack)
    [(row_id, account_id)] = _queued(stack)
    # An earlier job's batch claims that row; the next hooks find the wake-up taken.
    assert _claim(stack.runtime, row_id, takeover=False) == ([row_id], False)
    with stack.runtime.session() as session:
        session.get(InboxEvent, row_id).status = "done"
    leads = _leads(stack, 3)
    stack.simulator.simulator.flush_webhooks()
    assert _statuses(stack) == ["done", "pending", "pending", "pending"]
    assert len(_queued(stack)) == 1  # still only the first wake-up
    queue.start()
    stack.wait()
    assert _statuses(stack) == ["done"] * 4
    with stack.runtime.db.read_session() as session:
        mirrored = set(session.scalars(select(Deal.amocrm_id)))
    assert set(leads) <= mirrored


def test_more_rows_than_a_batch_are_all_taken_one_batch_after_another(stack, monkeypatch):
    monkeypatch.setattr(jobs.inbox, "BATCH", 2)
    queue = stack.runtime.queue
    queue.stop()
    leads = _leads(stack, 5)
    stack.simulator.simulator.flush_webhooks()
    assert len(_queued(stack)) == 1 and _statuses(stack) == ["pending"] * 5
    queue.start()
    stack.wait()
    assert _statuses(stack) == ["done"] * 5
    with stack.runtime.db.read_session() as session:
        assert set(leads) <= set(session.scalars(select(Deal.amocrm_id)))
