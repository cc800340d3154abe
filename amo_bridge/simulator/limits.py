"""amoCRM's request limit (AMOCRM.md "Limits"): 7 requests/second, 429 beyond, and an account
block (403 with an HTML body on every call) after repeated excess.

Windows are measured with ``time.monotonic`` (real time), independent of the business clock.
Every request that reaches the account counts toward the window, including ones answered 429:
a client that hammers after a 429 stays limited, as it would at amoCRM.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .config import LimitSettings


@dataclass
class Verdict:
    allowed: bool
    blocked: bool = False
    window_count: int = 0


@dataclass
class RateLimiter:
    settings: LimitSettings = field(default_factory=LimitSettings)
    now: Callable[[], float] = time.monotonic
    blocked: bool = False
    _arrivals: deque[float] = field(default_factory=deque)
    _violations: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self) -> Verdict:
        """Register one arrival and say whether it may be served."""
        with self._lock:
            t = self.now()
            self._arrivals.append(t)
            while self._arrivals and self._arrivals[0] <= t - 1.0:
                self._arrivals.popleft()
            count = len(self._arrivals)
            if self.blocked:
                return Verdict(False, blocked=True, window_count=count)
            if not self.settings.enabled or count <= self.settings.per_second:
                return Verdict(True, window_count=count)
            self._violations.append(t)
            while self._violations and self._violations[0] <= t - self.settings.block_window:
                self._violations.popleft()
            if len(self._violations) >= self.settings.block_after:
                self.blocked = True
            return Verdict(False, window_count=count)

    def window_count(self) -> int:
        """Requests in the current 1-second window (without registering one)."""
        with self._lock:
            t = self.now()
            return sum(1 for a in self._arrivals if a > t - 1.0)

    def reset(self) -> None:
        """Lift the block and forget history ("support unblocked the account")."""
        with self._lock:
            self.blocked = False
            self._arrivals.clear()
            self._violations.clear()
