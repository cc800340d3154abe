"""Injectable time.

Everything date-driven asks a :class:`Clock` for "now" instead of calling ``datetime.now``, so
tests and the demo move time forward by swapping the clock, never by sleeping.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to; safe to share between threads."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        with self._lock:
            self._now += delta if delta is not None else timedelta(**kwargs)
            return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        with self._lock:
            self._now = moment.astimezone(UTC)


def local_today(clock: Clock, zone: str | tzinfo) -> date:
    """Today's date in a timezone (an account's, a client's)."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return clock.now().astimezone(tz).date()


def ensure_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: every datetime in amo-bridge is aware")
    return moment.astimezone(UTC)


system_clock = SystemClock()
