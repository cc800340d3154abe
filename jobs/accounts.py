"""Periodic account upkeep: refresh idle OAuth tokens, mirror users and their rights."""

from __future__ import annotations

from sqlalchemy import select

from amo_bridge.connect import fetch_users, sync_users
from amo_bridge.connections import client_for_account, refresh_stale_tokens
from amo_bridge.models import Account, AccountStatus
from jobs.queue import enqueue_after_commit
from jobs.runtime import get_runtime


def refresh_tokens() -> dict[int, str]:
    """Refresh pairs that would die unused (refresh tokens live 3 months, single-use)."""
    runtime = get_runtime()
    return refresh_stale_tokens(runtime.db, runtime.settings, redis=runtime.redis,
                                clock=runtime.clock)


def sync_all_users() -> int:
    runtime = get_runtime()
    with runtime.session() as session:
        ids = list(session.scalars(select(Account.id).where(
            Account.status == AccountStatus.ACTIVE)))
        for account_id in ids:
            enqueue_after_commit(session, "jobs.accounts.sync_account_users", account_id)
    return len(ids)


def sync_account_users(account_id: int) -> int:
    runtime = get_runtime()
    with runtime.db.read_session() as session:
        account = session.get(Account, account_id)
    if account is None or account.status != AccountStatus.ACTIVE:
        return 0
    client = client_for_account(runtime.db, account, runtime.settings, redis=runtime.redis,
                                clock=runtime.clock)
    users = fetch_users(client)
    with runtime.session() as session:
        return sync_users(session, users, session.get(Account, account_id), clock=runtime.clock)
