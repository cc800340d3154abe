"""Stage events read from amoCRM, remembered briefly so that a burst's window is read once.

Each mirror batch reads the ``lead_status_changed`` events of the window its stamps span (± a
margin). In a burst, batch after batch asks for nearly the same window, and every re-read costs
one request per 100 events (10 000 moves: about 100 requests for each batch of 500 hooks).
amoCRM's events never change once listed, so an earlier read can serve a later batch — for the
hooks that had already been stored when that read began: amoCRM records the event with the
change and sends the hook after it, so their events were listed by then (``SETTLE`` allows for a
lagging list; if the list ever lagged more, the move would be picked up by the periodic
reconcile, which never reuses a read). The rule compares two instants of the bridge's own clock,
never amoCRM's clock with ours. Only the parts of a window no usable read covers are fetched.
Per process (the embedded worker, or an RQ ``SimpleWorker``; RQ's forking worker starts every
job in a fresh process and gains nothing), for ``KEEP``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from amo_bridge.amocrm.entities import Event

#: A read serves the hooks stored at least this long before it began.
SETTLE = timedelta(seconds=2)
#: How long a read is remembered, and how many events at most per account.
KEEP = timedelta(minutes=10)
MAX_EVENTS = 200_000


@dataclass(frozen=True, slots=True)
class _Read:
    start: int  # unix seconds, inclusive (amoCRM's ``filter[created_at]`` bounds)
    end: int
    began: datetime  # the bridge's clock
    events: tuple[Event, ...]


class EventReads:
    def __init__(self) -> None:
        self._reads: dict[str, list[_Read]] = {}
        self._lock = threading.Lock()

    def window(self, key: str, start: int, end: int, *, now: datetime,
               stored_before: datetime | None,
               read: Callable[[int, int], Iterable[Event]]) -> list[Event]:
        """The events created in ``[start, end]``; ``stored_before``: when the newest hook of
        the batch was stored (None: reuse nothing, e.g. a reconcile poll)."""
        with self._lock:
            reads = [r for r in self._reads.get(key, ()) if r.began > now - KEEP]
            usable = [r for r in reads if stored_before is not None
                      and r.began >= stored_before + SETTLE]
        fresh = [_Read(a, b, now, tuple(read(a, b)))
                 for a, b in _gaps(start, end, [(r.start, r.end) for r in usable])]
        with self._lock:
            kept = [r for r in self._reads.get(key, ()) if r.began > now - KEEP] + fresh
            while sum(len(r.events) for r in kept) > MAX_EVENTS and len(kept) > 1:
                kept.pop(0)
            self._reads[key] = kept
        found: dict[str, Event] = {}
        for item in (*usable, *fresh):
            for event in item.events:
                if start <= (event.created_at or 0) <= end:
                    found[event.id] = event
        return list(found.values())


def _gaps(start: int, end: int, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of ``[start, end]`` outside every covered interval (inclusive seconds)."""
    gaps, cursor = [], start
    for a, b in sorted(covered):
        if b < cursor:
            continue
        if a > end:
            break
        if a > cursor:
            gaps.append((cursor, a - 1))
        cursor = max(cursor, b + 1)
        if cursor > end:
            return gaps
    if cursor <= end:
        gaps.append((cursor, end))
    return gaps
