"""Stage events read from amoCRM, remembered briefly so that a burst's window is read once.

Each mirror batch reads the ``lead_status_changed`` events of the window its stamps span (± a
margin). In a burst, batch after batch asks for nearly the same window, and every re-read costs
one request per 100 events (10 000 moves: about 100 requests for each batch of 500 hooks).
amoCRM's events never change once listed, so an earlier read can serve a later batch for the
part of the window it is known to have listed completely. Two rules say so, each comparing
instants of one clock only:

- **amoCRM's clock**: a listing answered at amoCRM's ``Date`` *D* holds every event created up
  to *D* − :data:`LIST_LAG` (the lag allows for a list that trails the change, and for skew
  between amoCRM's own servers). That part of a read serves any later batch — in a live burst
  the hooks keep arriving while earlier reads already hold their events.
- **the bridge's clock**, when the answer carried no usable ``Date``: amoCRM records the event
  with the change and sends the hook after it, so a read that began :data:`SETTLE` after a
  hook was stored holds that hook's event.

Only the parts of a window no usable read covers are fetched. If the list ever lagged more, the
move would be picked up by the periodic reconcile, which never reuses a read. Per process (the
embedded worker, or an RQ ``SimpleWorker``; RQ's forking worker starts every job in a fresh
process and gains nothing), for ``KEEP``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from amo_bridge.amocrm.client import AmoClient
from amo_bridge.amocrm.entities import Event
from amo_bridge.amocrm.reads import EVENTS_PAGE_LIMIT

#: A read serves the hooks stored at least this long (bridge clock) before it began.
SETTLE = timedelta(seconds=2)
#: A listing answered at amoCRM time D holds every event created up to D minus this.
LIST_LAG = timedelta(seconds=5)
#: The longest a burst's read waits to settle (a stamp far in amoCRM's future must not stall it).
MAX_SETTLE = timedelta(seconds=15)
#: How long a read is remembered, and how many events at most per account.
KEEP = timedelta(minutes=10)
MAX_EVENTS = 200_000

#: ``read(start, end)`` → the events created in ``[start, end]`` and amoCRM's clock when it
#: answered (None if unknown).
Reader = Callable[[int, int], tuple[Iterable[Event], datetime | None]]


@dataclass(frozen=True, slots=True)
class _Read:
    start: int  # unix seconds, inclusive (amoCRM's ``filter[created_at]`` bounds)
    end: int
    began: datetime  # the bridge's clock
    listed_until: int | None  # complete up to here by amoCRM's clock (None: not vouched)
    events: tuple[Event, ...]

    def serves(self, stored_before: datetime) -> tuple[int, int] | None:
        """The part of this read that holds every event a batch can need."""
        if self.began >= stored_before + SETTLE:
            return self.start, self.end
        if self.listed_until is not None and self.listed_until >= self.start:
            return self.start, self.listed_until
        return None


class EventReads:
    def __init__(self) -> None:
        self._reads: dict[str, list[_Read]] = {}
        self._lock = threading.Lock()

    def window(self, key: str, start: int, end: int, *, now: datetime,
               stored_before: datetime | None, read: Reader) -> list[Event]:
        """The events created in ``[start, end]``; ``stored_before``: when the newest hook of
        the batch was stored (None: reuse nothing, e.g. a reconcile poll)."""
        with self._lock:
            reads = [r for r in self._reads.get(key, ()) if r.began > now - KEEP]
        serving = [] if stored_before is None else [
            (r, part) for r in reads if (part := r.serves(stored_before)) is not None]
        covered = [part for _, part in serving]
        fresh = [_fetch(read, a, b, now) for a, b in _gaps(start, end, covered)]
        with self._lock:
            kept = [r for r in self._reads.get(key, ()) if r.began > now - KEEP] + fresh
            while sum(len(r.events) for r in kept) > MAX_EVENTS and len(kept) > 1:
                kept.pop(0)
            self._reads[key] = kept
        found: dict[str, Event] = {}
        for item in (*(r for r, _ in serving), *fresh):
            for event in item.events:
                if start <= (event.created_at or 0) <= end:
                    found[event.id] = event
        return list(found.values())


def dated_events_reader(client: AmoClient, *, types: Sequence[str], entity: str,
                        settle: Callable[[float], None] | None = None) -> Reader:
    """A :data:`Reader` over ``client.events``, dated by amoCRM's answer to the first page.

    With ``settle`` (a sleep), a *burst* — a full first page — whose window reaches into the
    last :data:`LIST_LAG` by amoCRM's clock is read again from the start once that much time has
    passed (at most :data:`MAX_SETTLE`): the whole burst then counts as listed, and the batches
    behind it read nothing more. Reading it at once would leave its newest part to be read a
    second time by every later batch — one request per 100 events each. Small windows are read
    at once: a page costs what it costs.
    """

    def read(start: int, end: int) -> tuple[list[Event], datetime | None]:
        def listing() -> tuple[Iterator[Event], dict[str, Any]]:
            answered: dict[str, Any] = {}
            return client.events(types=types, entity=entity, created_from=start,
                                 created_to=end, answered=answered), answered

        events_of, answered = listing()
        events = list(islice(events_of, EVENTS_PAGE_LIMIT))
        date = answered.get("date")
        if settle is not None and date is not None and len(events) == EVENTS_PAGE_LIMIT:
            # Date has whole seconds: one more second makes sure ``end`` is listed.
            wait = end + LIST_LAG.total_seconds() + 1 - date.timestamp()
            if wait > 0:
                events_of.close()
                settle(min(wait, MAX_SETTLE.total_seconds()))
                (events_of, answered), events = listing(), []
        events.extend(events_of)
        return events, answered.get("date")

    return read


def _fetch(read: Reader, start: int, end: int, now: datetime) -> _Read:
    events, answered_at = read(start, end)
    listed_until = None
    if answered_at is not None:
        listed_until = min(end, int((answered_at - LIST_LAG).timestamp()))
    return _Read(start, end, now, listed_until, tuple(events))


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
