"""The money of imported policies — the importer's one call site of the money engine.

For each "ours" line written by a batch, :func:`amo_bridge.ledger.money.price_policy` fills the
commission from the rate table when the file gave none, computes income and salary shares
(keeping the figures the file states — an income agreed years ago stays as it was) and books
the sale in the month of ``sold_on``. Calling it again with nothing changed books nothing, so
re-importing a file is a no-op here too. A cancellation in the file goes through
``cancel_policy`` (a refund line), never by setting the columns directly.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.clock import Clock
from amo_bridge.imports.writer import ToPrice
from amo_bridge.ledger.money import cancel_policy, price_policy, uncancel_policy
from amo_bridge.models import Policy

CHUNK = 500


def price_imported(session: Session, items: Sequence[ToPrice], *, clock: Clock) -> int:
    """Price the batch's policies; returns how many money lines were written."""
    by_id = {item.policy_id: item for item in items if item.price or item.cancellation}
    written = 0
    ids = list(by_id)
    for start in range(0, len(ids), CHUNK):
        policies = session.scalars(
            select(Policy).where(Policy.id.in_(ids[start:start + CHUNK])).order_by(Policy.id))
        for policy in policies:
            item = by_id[policy.id]
            if item.price:
                written += len(price_policy(session, policy, clock=clock,
                                            keep_figures=item.keep))
            if item.cancellation is not None:
                on, refund = item.cancellation
                if policy.cancelled_on is not None:
                    written += uncancel_policy(session, policy, clock=clock) is not None
                written += cancel_policy(session, policy, on=on, refund=refund,
                                         clock=clock) is not None
    return written
