"""Per-account request statistics readable through ``/_sim/accounts/<sub>/stats``."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class AccountStats:
    total: int = 0
    endpoints: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0  # answers 429
    blocked_answers: int = 0  # answers 403-HTML while blocked
    injected_errors: int = 0
    dropped_responses: int = 0
    token_refreshes: int = 0  # successful refresh_token grants
    token_refresh_attempts: int = 0
    code_exchanges: int = 0
    max_per_second: int = 0  # most requests seen in any sliding 1-second window
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count_request(self, endpoint: str, window_count: int) -> None:
        with self._lock:
            self.total += 1
            self.endpoints[endpoint] += 1
            self.max_per_second = max(self.max_per_second, window_count)

    def count_status(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1

    def bump(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def reset(self) -> None:
        with self._lock:
            for name in (
                "total",
                "rate_limited",
                "blocked_answers",
                "injected_errors",
                "dropped_responses",
                "token_refreshes",
                "token_refresh_attempts",
                "code_exchanges",
                "max_per_second",
            ):
                setattr(self, name, 0)
            self.endpoints.clear()
            self.statuses.clear()

    def snapshot(self, *, blocked: bool) -> dict[str, Any]:
        with self._lock:
            return {
                "total_requests": self.total,
                "endpoints": dict(self.endpoints),
                "statuses": {str(k): v for k, v in self.statuses.items()},
                "rate_limited": self.rate_limited,
                "blocked": blocked,
                "blocked_answers": self.blocked_answers,
                "injected_errors": self.injected_errors,
                "dropped_responses": self.dropped_responses,
                "token_refreshes": self.token_refreshes,
                "token_refresh_attempts": self.token_refresh_attempts,
                "code_exchanges": self.code_exchanges,
                "max_requests_per_second": self.max_per_second,
            }
