"""Jobs of the deal card's policy panel: keep the deal's price in amoCRM equal to its premiums.

Importing this module also registers the panel's reaction to the mirror (a deal won or moved
back out of won stamps and books its widget lines): ``jobs.inbox`` imports it with the other
reaction modules.
"""

from __future__ import annotations

import logging

from amo_bridge.connections import client_for_account
from amo_bridge.ledger import policy_lines
from amo_bridge.models import Account, AccountStatus, Deal
from jobs.runtime import get_runtime

log = logging.getLogger(__name__)


def sync_deal_price(deal_id: int) -> str:
    """Read (no transaction held) → PATCH the lead's price → record it. Idempotent: it reads
    the current total every time, so two quick edits cannot leave an old total behind."""
    runtime = get_runtime()
    with runtime.db.read_session() as session:
        deal = session.get(Deal, deal_id)
        if deal is None:
            return "no such deal"
        lines = policy_lines.deal_lines(session, deal)
        if not policy_lines.is_managed(lines):
            return "the deal's lines come from its fields: its price is left alone"
        account = session.get(Account, deal.account_id)
        if account.status != AccountStatus.ACTIVE:
            return f"account is {account.status}: price not sent"
        target = policy_lines.price_roubles(lines)
        if deal.price == target * 100 and deal.amocrm_updated_at is not None:
            return "in sync"
        lead_id = deal.amocrm_id
    client = client_for_account(runtime.db, account, runtime.settings, redis=runtime.redis,
                                clock=runtime.clock)
    result = client.update_leads([{"id": lead_id, "price": target}]).raise_failure()
    if result.errors:
        # amoCRM refused the value itself (validation): a retry cannot help; it is logged and
        # the panel keeps showing the difference with a button to try again.
        log.warning("amoCRM refused the price %s of lead %s: %s", target, lead_id, result.errors)
        return f"refused: {result.errors}"
    with runtime.session() as session:
        deal = session.get(Deal, deal_id)
        deal.price = target * 100
    return f"price {target} sent"
