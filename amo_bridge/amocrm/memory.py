"""In-memory token store for tests, demos and scripts (the bridge uses the database one)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from amo_bridge.amocrm.oauth import TokenPair


class MemoryTokenStore:
    def __init__(self, pair: TokenPair | None = None) -> None:
        self.pair = pair
        self.disconnected: str | None = None
        self.saves = 0
        self._lock = threading.RLock()

    def load(self) -> TokenPair | None:
        with self._lock:
            return self.pair

    @contextmanager
    def refresh_lock(self) -> Iterator[_Locked]:
        with self._lock:
            yield _Locked(self)

    def mark_disconnected(self, reason: str) -> None:
        with self._lock:
            self.disconnected = reason
            if self.pair is not None:
                self.pair = replace(self.pair, revoked=True)


class _Locked:
    def __init__(self, store: MemoryTokenStore) -> None:
        self._store = store
        self.current = store.pair

    def save(self, pair: TokenPair) -> TokenPair:
        self._store.pair = pair
        self._store.saves += 1
        self.current = pair
        return pair
