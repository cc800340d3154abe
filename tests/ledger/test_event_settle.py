"""A burst of stage events is read once, after it has settled in amoCRM's list, and then
serves the batches behind it; amoCRM's ``Date`` (the simulator's clock) dates every listing."""

from __future__ import annotations

from datetime import timedelta

from amo_bridge.devstack import SUBDOMAIN
from amo_bridge.ledger.event_reads import LIST_LAG, EventReads, dated_events_reader

SALES, NEW, IN_WORK = 7811001, 61100002, 61100003
EVENTS = "GET /api/v4/events"


def _moves(stack, n: int) -> int:
    sim = stack.simulator.simulator
    leads = sim.ui_create(SUBDOMAIN, "leads", [
        {"name": f"ОСАГО №{i}", "pipeline_id": SALES, "status_id": NEW} for i in range(n)],
        skip_webhooks=True)
    sim.ui_update(SUBDOMAIN, "leads", [{"id": i, "status_id": IN_WORK} for i in leads],
                  skip_webhooks=True)
    return sim.clock.timestamp()


def _reader(stack, waits: list[float]):
    sim = stack.simulator.simulator

    def settle(seconds: float) -> None:  # amoCRM's time passes while the job waits
        waits.append(seconds)
        sim.clock.advance(timedelta(seconds=seconds))

    return dated_events_reader(stack.client(), types=["lead_status_changed"], entity="lead",
                               settle=settle)


def _read_fresh_moves(stack, n: int):
    """n moves at a frozen moment, then one read of their window, counted from zero requests:
    (when they moved, the reader's waits, the events, amoCRM's Date of the answer)."""
    stack.simulator.simulator.clock.freeze()
    moved_at = _moves(stack, n)
    stack.simulator.simulator.reset_stats(SUBDOMAIN)
    waits: list[float] = []
    events, answered = _reader(stack, waits)(moved_at - 30, moved_at + 5)
    return moved_at, waits, events, answered


def _event_requests(stack) -> int:
    return stack.simulator.simulator.stats(SUBDOMAIN)["endpoints"].get(EVENTS, 0)


def test_a_burst_in_the_last_seconds_is_read_after_it_settles(stack):
    moved_at, waits, events, answered = _read_fresh_moves(stack, 150)
    assert len([e for e in events if e.type == "lead_status_changed"]) == 150
    lag = LIST_LAG.total_seconds()
    assert waits == [5 + lag + 1]  # until the window's end is LIST_LAG old, whole seconds
    assert answered.timestamp() - lag >= moved_at + 5  # the whole window counts as listed
    assert _event_requests(stack) == 1 + 2  # the abandoned first page, then two pages


def test_a_small_window_is_read_at_once(stack):
    moved_at, waits, events, answered = _read_fresh_moves(stack, 20)
    assert len(events) == 20 and waits == [] and answered.timestamp() == moved_at
    assert _event_requests(stack) == 1


def test_batches_behind_a_settled_burst_read_nothing_more(stack):
    stack.simulator.simulator.clock.freeze()
    moved_at = _moves(stack, 150)
    clock = stack.runtime.clock
    reads, waits = EventReads(), []
    read = _reader(stack, waits)
    first = reads.window("acct", moved_at - 30, moved_at + 5, now=clock.now(),
                         stored_before=clock.now(), read=read)
    stack.simulator.simulator.reset_stats(SUBDOMAIN)
    # The next batch's hooks were stored after that read began: amoCRM's clock vouches for it.
    later = clock.now() + timedelta(seconds=1)
    second = reads.window("acct", moved_at - 29, moved_at + 5, now=later,
                          stored_before=later, read=read)
    assert {e.id for e in second} == {e.id for e in first} and len(first) == 150
    assert _event_requests(stack) == 0
    # A move after the burst is outside what was listed: read, and only that edge.
    stack.simulator.simulator.clock.advance(timedelta(seconds=30))
    moved_again = _moves(stack, 1)
    third = reads.window("acct", moved_at - 29, moved_again + 5, now=later,
                         stored_before=later, read=read)
    assert len(third) == 151 and _event_requests(stack) == 1
