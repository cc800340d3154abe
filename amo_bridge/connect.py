"""Connecting an amoCRM account to the bridge, and mirroring its users.

An account is connected with an OAuth authorization code (public integrations) or a long-lived
token (private integrations). The bridge reads ``GET /api/v4/account`` to learn the account's
id, subdomain and timezone, stores the token pair, and mirrors the users and their rights —
roles come from amoCRM's rights, never from a JWT claim alone (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.accounts import create_account, rotate_webhook_token
from amo_bridge.amocrm.client import AmoClient
from amo_bridge.amocrm.errors import Forbidden
from amo_bridge.amocrm.memory import MemoryTokenStore
from amo_bridge.amocrm.oauth import TokenPair
from amo_bridge.amocrm.ratelimit import RateLimiter
from amo_bridge.clock import Clock, system_clock
from amo_bridge.connections import SqlTokenStore, local_limiter
from amo_bridge.db import Database
from amo_bridge.models import Account, User


@dataclass(frozen=True, slots=True)
class Connected:
    account_id: int
    amocrm_id: int
    subdomain: str
    created: bool
    #: The webhook secret, shown once when it is created or rotated (stored hashed).
    webhook_token: str | None


def connect_account(
    database: Database,
    *,
    base_url: str,
    pair: TokenPair,
    rate: float = 5.0,
    clock: Clock = system_clock,
    session: requests.Session | None = None,
    limiter: RateLimiter | None = None,
    rotate_token: bool = False,
) -> Connected:
    probe = AmoClient(base_url=base_url, tokens=MemoryTokenStore(pair),
                      limiter=limiter or local_limiter(rate), account_key=f"connect:{base_url}",
                      session=session, clock=clock)
    info = probe.account()
    token: str | None = None
    with database.session() as db:
        account = db.scalar(select(Account).where(Account.amocrm_id == info.id))
        created = account is None
        if account is None:
            account, token = create_account(db, amocrm_id=info.id, subdomain=info.subdomain,
                                            base_url=base_url, timezone=info.timezone,
                                            name=info.name)
        else:
            account.subdomain, account.base_url = info.subdomain, base_url.rstrip("/")
            account.timezone, account.name = info.timezone, info.name or account.name
            if rotate_token:
                token = rotate_webhook_token(db, account)
        account_id = account.id
    SqlTokenStore(database, account_id, clock=clock).replace(pair)
    return Connected(account_id, info.id, info.subdomain, created, token)


def fetch_users(client: AmoClient) -> list | None:
    """amoCRM users with their rights; None when the token is not an admin's (403)."""
    try:
        return list(client.users())
    except Forbidden:
        return None


def sync_users(session: Session, users: list | None, account: Account, *, clock: Clock) -> int:
    """Mirror amoCRM users and rights (admin-only endpoint: None keeps the current mirror)."""
    if users is None:
        return 0
    now = clock.now()
    existing = {u.amocrm_id: u for u in session.scalars(
        select(User).where(User.account_id == account.id))}
    for item in users:
        row = existing.get(item.id)
        if row is None:
            row = User(account_id=account.id, amocrm_id=item.id)
            session.add(row)
        row.name = item.name
        row.email = item.email
        row.is_admin = item.rights.is_admin
        row.is_active = item.rights.is_active
        row.rights = _rights_json(item.rights)
        row.role = "admin" if item.rights.is_admin else "manager"
        row.synced_at = now
    session.flush()
    return len(users)


def _rights_json(rights: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"is_admin": rights.is_admin, "is_free": rights.is_free,
                           "is_active": rights.is_active}
    for entity in ("leads", "contacts", "companies"):
        value = getattr(rights, entity)
        out[entity] = {k: getattr(value, k) for k in ("view", "edit", "add", "delete", "export")}
    return out
