"""The simulator's business clock: any :class:`~amo_bridge.clock.Clock`, made advanceable.

It drives token expiry, ``created_at``/``updated_at`` and webhook retry times. A
``FrozenClock`` is advanced in place (so a test holding it sees the same time); any other
clock gets an offset added.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from amo_bridge.clock import Clock, FrozenClock, SystemClock


class SimClock:
    def __init__(self, inner: Clock | None = None) -> None:
        self._inner: Clock = inner if inner is not None else SystemClock()
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._inner.now().astimezone(UTC) + self._offset

    def timestamp(self) -> int:
        return int(self.now().timestamp())

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            if isinstance(self._inner, FrozenClock):
                self._inner.advance(delta)
            else:
                self._offset += delta
        return self.now()

    def set(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("the simulator clock needs an aware datetime")
        with self._lock:
            if isinstance(self._inner, FrozenClock):
                self._inner.set(moment)
            else:
                self._offset = moment - self._inner.now()
        return self.now()

    def freeze(self) -> datetime:
        """Stop time at the current instant (later moved only by ``advance``/``set``)."""
        moment = self.now()
        with self._lock:
            if not isinstance(self._inner, FrozenClock):
                self._inner = FrozenClock(moment)
                self._offset = timedelta(0)
        return moment

    @property
    def frozen(self) -> bool:
        return isinstance(self._inner, FrozenClock)
