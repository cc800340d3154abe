"""Event reads reused across mirror batches: each window is read once in a burst, and a read
never serves a hook that arrived after it began (its event may not have been listed yet)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from amo_bridge.amocrm.entities import Event
from amo_bridge.ledger.event_reads import SETTLE, EventReads, _gaps

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BASE = int(T0.timestamp())


class Amo:
    """amoCRM's events list: immutable events, filtered by ``created_at`` (inclusive)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.calls: list[tuple[int, int]] = []

    def add(self, at: int) -> Event:
        event = Event(id=f"e{len(self.events)}", type="lead_status_changed", entity_id=1,
                      entity_type="lead", created_by=0, created_at=at, value_after=(),
                      value_before=(), account_id=1)
        self.events.append(event)
        return event

    def read(self, start: int, end: int) -> list[Event]:
        self.calls.append((start, end))
        return [e for e in self.events if start <= e.created_at <= end]


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
