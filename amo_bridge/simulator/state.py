"""The simulator: accounts, clock, lock, webhooks, randomness (plus the Python API in ``ops``)."""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .config import LimitSettings, SimulatorConfig
from .model import Account, Actor, HookChange, Operation
from .ops import SimulatorOps
from .simclock import SimClock

__all__ = ["Account", "Actor", "HookChange", "Operation", "Simulator"]
_ULID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase


class Simulator(SimulatorOps):
    """All simulated accounts plus the shared clock, lock, webhooks and randomness."""

    def __init__(self, config: SimulatorConfig | None = None, *, clock: Any = None) -> None:
        from .webhooks import WebhookDispatcher  # late: webhooks imports state for typing

        self.config = config or SimulatorConfig()
        self.clock = clock if isinstance(clock, SimClock) else SimClock(clock)
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.random = random.Random(self.config.random_seed)
        self.public_url = self.config.public_url.rstrip("/")
        self.webhooks = WebhookDispatcher(self)
        self._event_counter = itertools.count(1)

    # -- accounts -------------------------------------------------------------------------
    def account(self, subdomain: str) -> Account:
        return self.accounts[subdomain]

    def add_account(self, account: Account) -> Account:
        account.limits = LimitSettings(**vars(self.config.limits))
        account.limiter.settings = account.limits
        self.accounts[account.subdomain] = account
        return account

    def load_seed(self, source: Any) -> list[Account]:
        """Add the accounts of a seed (a path to .toml/.json, or an already parsed dict)."""
        from .seed import load_seed

        with self.lock:
            return [self.add_account(a) for a in load_seed(source, self)]

    def base_url(self, account: Account) -> str:
        return f"{self.public_url}/s/{account.subdomain}"

    # -- changes --------------------------------------------------------------------------
    @contextlib.contextmanager
    def operation(
        self, account: Account, actor: Actor, *, skip_webhooks: bool = False
    ) -> Iterator[Operation]:
        """Run a change under the lock; on success hand its webhook changes to the dispatcher."""
        with self.lock:
            op = Operation(self, account, actor)
            op.skip_webhooks = skip_webhooks
            yield op
            if op.changes:
                self.webhooks.enqueue(account, op)

    def new_event_id(self, moment: datetime) -> str:
        """A ULID-like, lowercase, 26-character id ("01pz58t6p04ymgsgfbmfyfy1mf")."""
        millis = int(moment.timestamp() * 1000)
        tail = (next(self._event_counter) << 40) | self.random.getrandbits(40)
        return _base32(millis, 10) + _base32(tail, 16)


def _base32(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        chars.append(_ULID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
