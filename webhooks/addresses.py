"""Webhook secret → account, remembered per process for a few seconds.

Every amoCRM request names its account by the secret in its URL; looking the secret up in the
database for each of a burst's thousands of requests would cost more than storing them.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select

from amo_bridge.accounts import token_hash
from amo_bridge.db import Database
from amo_bridge.models import Account

#: How long a process trusts its memory of a webhook address. A rotated or deleted secret stops
#: working within this long; every request in between saves an account lookup.
ADDRESS_TTL_SECONDS = 10.0
_MAX_REMEMBERED = 10_000


@dataclass(frozen=True, slots=True)
class Address:
    account_id: int
    amocrm_id: int


class AddressBook:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._known: dict[str, tuple[Address, float]] = {}
        self._lock = threading.Lock()

    def find(self, token: str) -> Address | None:
        digest = token_hash(token)
        now = time.monotonic()
        known = self._known.get(digest)
        if known is not None and known[1] > now:
            return known[0]
        with self.database.read_session() as session:  # a reader: never a SQLite write turn
            found = session.execute(
                select(Account.id, Account.amocrm_id, Account.webhook_token_hash)
                .where(Account.webhook_token_hash == digest)
            ).first()
        if found is None or not hmac.compare_digest(found.webhook_token_hash, digest):
            return None  # unknown addresses are not remembered: a new account works at once
        address = Address(found.id, found.amocrm_id)
        with self._lock:
            if len(self._known) >= _MAX_REMEMBERED:
                self._known.clear()
            self._known[digest] = (address, now + ADDRESS_TTL_SECONDS)
        return address
