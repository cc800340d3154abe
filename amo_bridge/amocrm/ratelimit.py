"""The per-account request budget, shared by every thread (and, with Redis, every process).

Both limiters implement GCRA as a *reservation*: a caller is given the next free slot (slots are
``1/rate`` apart, no burst by default), sleeps until it, then sends. Slots are handed out in
order, so four processes pushing hard still leave amoCRM one request every ``1/rate`` seconds —
any sliding one-second window sees at most ``rate`` requests plus the one on its edge.

amoCRM allows 7 requests/s and blocks an account that exceeds it repeatedly (AMOCRM.md
"Limits"); we default to 5/s. The same object carries the account's shared cool-down (after a
429) and its circuit (after a 403 block), so every worker stops at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from amo_bridge.amocrm.errors import AccountBlocked, RateLimited

DEFAULT_RATE = 5.0
#: Waits up to this long are slept through; longer ones become ``RateLimited`` (reschedule).
DEFAULT_MAX_WAIT = 5.0
#: 429s counted together for escalation, and the longest pause one may cause.
STRIKE_WINDOW = 60.0
MAX_COOL_DOWN = 60.0
#: Each 429 of the last minute widens the spacing by this fraction: at exactly 7/s amoCRM's
#: window has no slack for network jitter, so after a 429 we leave some (7/s → 6.4/s → …).
SLOWDOWN_PER_STRIKE = 0.1


@dataclass(frozen=True, slots=True)
class Permit:
    """The answer to a reservation.

    ``granted``: a slot is reserved ``wait`` seconds from now. Not granted: the earliest slot is
    ``wait`` seconds away (more than the caller accepts), or ``blocked`` holds the circuit reason.
    """

    granted: bool
    wait: float
    blocked: str | None = None


class RateLimiter(Protocol):
    rate: float

    def reserve(self, key: str, *, max_wait: float) -> Permit: ...

    def cool_down(self, key: str, seconds: float) -> float:
        """Pause ``key`` after a 429; returns the pause actually applied.

        Repeated 429s escalate, because amoCRM blocks accounts that exceed the limit
        *repeatedly*: the n-th within :data:`STRIKE_WINDOW` waits ``seconds * 2**(n-1)`` (at
        most :data:`MAX_COOL_DOWN`) and spaces later slots ``1 + n *``
        :data:`SLOWDOWN_PER_STRIKE` times wider until the strikes age out. A pause never
        shortens a longer one.
        """
        ...

    def cooling(self, key: str) -> float:
        """Seconds left of the current cool-down (0 when none)."""
        ...

    def open_circuit(self, key: str, reason: str, *, ttl: float | None = None) -> None: ...

    def close_circuit(self, key: str) -> None: ...

    def circuit(self, key: str) -> str | None:
        """The reason the circuit is open, or None when it is closed."""
        ...


def acquire(
    limiter: RateLimiter,
    key: str,
    *,
    max_wait: float = DEFAULT_MAX_WAIT,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Take one slot: sleep through a short wait, raise on a long one or an open circuit.

    Returns the seconds slept. Raises :class:`AccountBlocked` or :class:`RateLimited`.
    """
    permit = limiter.reserve(key, max_wait=max_wait)
    if permit.blocked is not None:
        raise AccountBlocked(f"account {key} is blocked: {permit.blocked}")
    if not permit.granted:
        raise RateLimited(
            f"no request slot for account {key} within {max_wait:.1f}s",
            retry_after=permit.wait,
        )
    if permit.wait > 0:
        sleep(permit.wait)
        # A 429 may have arrived while we slept: our slot predates the cool-down, and a
        # request sent into it would count as one more excess at amoCRM.
        left = limiter.cooling(key)
        if left > 0:
            raise RateLimited(f"account {key} is cooling down after a 429", retry_after=left)
    return permit.wait


def escalated(seconds: float, strikes: int) -> float:
    return min(seconds * 2 ** max(0, strikes - 1), MAX_COOL_DOWN)


def gcra_slot(
    *, now: float, tat: float, cool_until: float, interval: float, tolerance: float
) -> tuple[float, float]:
    """Pure GCRA step: returns ``(slot, new_tat)``; a slot never precedes a cool-down's end."""
    slot = max(now, tat - tolerance, cool_until)
    return slot, max(tat, slot) + interval


def check_rate(rate: float, burst: int) -> None:
    if not 0 < rate <= 7:
        # 7/s is amoCRM's documented ceiling (AMOCRM.md "Limits").
        raise ValueError(f"rate must be above 0 and at most 7 requests/s, got {rate}")
    if burst < 1:
        raise ValueError(f"burst must be at least 1, got {burst}")


class LocalRateLimiter:
    """Thread-safe limiter for one process (embedded mode, tests)."""

    def __init__(
        self,
        *,
        rate: float = DEFAULT_RATE,
        burst: int = 1,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        check_rate(rate, burst)
        self.rate = rate
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._timer = timer
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._cool: dict[str, float] = {}
        self._strikes: dict[str, list[float]] = {}
        self._circuits: dict[str, tuple[str, float | None]] = {}

    def reserve(self, key: str, *, max_wait: float) -> Permit:
        with self._lock:
            now = self._timer()
            reason = self._open_reason(key, now)
            if reason is not None:
                return Permit(granted=False, wait=0.0, blocked=reason)
            strikes = sum(1 for t in self._strikes.get(key, []) if t > now - STRIKE_WINDOW)
            slot, new_tat = gcra_slot(
                now=now,
                tat=self._tat.get(key, now),
                cool_until=self._cool.get(key, now),
                interval=self._interval * (1 + SLOWDOWN_PER_STRIKE * strikes),
                tolerance=self._tolerance,
            )
            wait = slot - now
            if wait > max_wait:
                return Permit(granted=False, wait=wait)
            self._tat[key] = new_tat
            return Permit(granted=True, wait=wait)

    def cool_down(self, key: str, seconds: float) -> float:
        with self._lock:
            now = self._timer()
            strikes = [t for t in self._strikes.get(key, []) if t > now - STRIKE_WINDOW]
            strikes.append(now)
            self._strikes[key] = strikes
            pause = escalated(seconds, len(strikes))
            self._cool[key] = max(self._cool.get(key, now), now + pause)
            return self._cool[key] - now

    def cooling(self, key: str) -> float:
        with self._lock:
            return max(0.0, self._cool.get(key, 0.0) - self._timer())

    def open_circuit(self, key: str, reason: str, *, ttl: float | None = None) -> None:
        with self._lock:
            self._circuits[key] = (reason, None if ttl is None else self._timer() + ttl)

    def close_circuit(self, key: str) -> None:
        with self._lock:
            self._circuits.pop(key, None)

    def circuit(self, key: str) -> str | None:
        with self._lock:
            return self._open_reason(key, self._timer())

    def _open_reason(self, key: str, now: float) -> str | None:
        entry = self._circuits.get(key)
        if entry is None:
            return None
        reason, until = entry
        if until is not None and now >= until:
            del self._circuits[key]
            return None
        return reason
