"""Event reads reused across mirror batches: each window is read once in a burst, and a read
serves a later batch only for the part it is known to have listed completely — by amoCRM's own
clock (the answer's ``Date``), or else by the bridge's (it began after the hook was stored)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from amo_bridge.amocrm.entities import Event
from amo_bridge.ledger.event_reads import LIST_LAG, SETTLE, EventReads, _gaps

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BASE = int(T0.timestamp())


class Amo:
    """amoCRM's events list: immutable events, filtered by ``created_at`` (inclusive)."""

    def __init__(self, *, dated: bool = False) -> None:
        self.events: list[Event] = []
        self.calls: list[tuple[int, int]] = []
        self.now = BASE  # amoCRM's clock; sent as the answer's Date when ``dated``
        self.dated = dated

    def add(self, at: int | None = None) -> Event:
        at = self.now if at is None else at
        event = Event(id=f"e{len(self.events)}", type="lead_status_changed", entity_id=1,
                      entity_type="lead", created_by=0, created_at=at, value_after=(),
                      value_before=(), account_id=1)
        self.events.append(event)
        return event

    def read(self, start: int, end: int) -> tuple[list[Event], datetime | None]:
        self.calls.append((start, end))
        answered = datetime.fromtimestamp(self.now, UTC) if self.dated else None
        return [e for e in self.events if start <= e.created_at <= end], answered


def test_gaps():
    assert _gaps(0, 10, []) == [(0, 10)]
    assert _gaps(0, 10, [(0, 10)]) == []
    assert _gaps(0, 10, [(3, 4), (6, 20)]) == [(0, 2), (5, 5)]
    assert _gaps(5, 10, [(0, 6), (9, 9)]) == [(7, 8), (10, 10)]


def test_a_burst_is_read_once_and_only_new_edges_are_fetched():
    amo, reads = Amo(), EventReads()
    burst = [amo.add(BASE + i % 3) for i in range(300)]
    stored = T0 + timedelta(seconds=3)  # every hook of the burst is in the inbox by now
    later = stored + SETTLE + timedelta(seconds=1)
    first = reads.window("acct", BASE - 30, BASE + 30, now=later, stored_before=stored,
                         read=amo.read)
    second = reads.window("acct", BASE - 29, BASE + 32, now=later + timedelta(seconds=2),
                          stored_before=stored, read=amo.read)
    assert {e.id for e in first} == {e.id for e in second} == {e.id for e in burst}
    assert amo.calls == [(BASE - 30, BASE + 30), (BASE + 31, BASE + 32)]


def test_a_read_never_serves_a_hook_stored_after_it_began():
    amo, reads = Amo(), EventReads()
    amo.add(BASE)
    began = T0 + timedelta(seconds=10)
    reads.window("acct", BASE - 30, BASE + 30, now=began, stored_before=T0, read=amo.read)
    late = amo.add(BASE + 20)  # A→B again, after the read: its hook arrives later
    got = reads.window("acct", BASE - 30, BASE + 30, now=began + timedelta(seconds=30),
                       stored_before=began + timedelta(seconds=1), read=amo.read)
    assert late.id in {e.id for e in got}
    assert len(amo.calls) == 2


def test_no_reuse_within_settle_without_a_receipt_time_or_for_another_account():
    began = T0 + timedelta(seconds=10)
    for stored_before, key in ((began - SETTLE / 2, "acct"), (None, "acct"), (T0, "other")):
        amo, reads = Amo(), EventReads()
        amo.add(BASE)
        reads.window("acct", BASE - 30, BASE + 30, now=began, stored_before=T0, read=amo.read)
        reads.window(key, BASE - 30, BASE + 30, now=began + timedelta(seconds=1),
                     stored_before=stored_before, read=amo.read)
        assert len(amo.calls) == 2, (stored_before, key)


LAG = int(LIST_LAG.total_seconds())


def test_a_dated_listing_serves_hooks_that_arrive_after_it_for_what_it_listed():
    """A live burst: the moves happened, their hooks trickle in while batches run. A read
    answered at amoCRM time D holds every event created up to D - LIST_LAG, whenever the hook
    arrives; only the edge after that is read again."""
    amo, reads = Amo(dated=True), EventReads()
    burst = [amo.add(BASE + i % 3) for i in range(300)]
    amo.now = BASE + 10
    began = T0 + timedelta(seconds=10)
    reads.window("acct", BASE - 30, BASE + 30, now=began, stored_before=began, read=amo.read)
    late = amo.add(BASE + 12)  # a new move after the first listing
    amo.now = BASE + 14
    got = reads.window("acct", BASE - 30, BASE + 30, now=began + timedelta(seconds=1),
                       stored_before=began + timedelta(seconds=1), read=amo.read)
    assert {e.id for e in got} == {e.id for e in burst} | {late.id}
    assert amo.calls == [(BASE - 30, BASE + 30), (BASE + 10 - LAG + 1, BASE + 30)]


def test_events_created_within_the_list_lag_of_an_answer_are_read_again():
    amo, reads = Amo(dated=True), EventReads()
    amo.now = BASE + 1
    early = amo.add(BASE)
    reads.window("acct", BASE - 30, BASE + 30, now=T0, stored_before=T0, read=amo.read)
    trailing = amo.add(BASE)  # listed late: it was created before the first answer
    got = reads.window("acct", BASE - 30, BASE + 30, now=T0 + timedelta(seconds=1),
                       stored_before=T0 + timedelta(seconds=1), read=amo.read)
    assert {e.id for e in got} == {early.id, trailing.id}
    assert amo.calls[1] == (BASE + 1 - LAG + 1, BASE + 30)


def test_a_reconcile_poll_reuses_no_dated_listing_either():
    amo, reads = Amo(dated=True), EventReads()
    amo.add(BASE)
    amo.now = BASE + 600
    reads.window("acct", BASE - 30, BASE + 30, now=T0, stored_before=T0, read=amo.read)
    reads.window("acct", BASE - 30, BASE + 30, now=T0, stored_before=None, read=amo.read)
    assert len(amo.calls) == 2
