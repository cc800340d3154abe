"""The money of imported policies — the importer's one call site of the money engine.

The "ours" lines written by a batch are priced together by
:func:`amo_bridge.ledger.money_batch.book_policies` — the money of
:func:`~amo_bridge.ledger.money.price_policy` policy by policy, in a few queries per batch: it
fills the commission from the rate table when the file gave none, computes income and salary
shares (keeping the figures the file states — an income agreed years ago stays as it was) and
books the sale in the month of ``sold_on``. Pricing again with nothing changed books nothing, so
re-importing a file is a no-op here too. A cancellation in the file goes through
``cancel_policy`` (a refund line) after its policy is priced, never by setting the columns
directly.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from amo_bridge.clock import Clock
from amo_bridge.imports.writer import ToPrice
from amo_bridge.ledger.money import cancel_policy, uncancel_policy
from amo_bridge.ledger.money_batch import book_policies
from amo_bridge.models import Policy

CHUNK = 500
#: What the money engine reads of a policy; the rest (the insured object's JSON, terms…) is
#: not loaded for 100 000 policies that do not need it.
_PRICED = (Policy.account_id, Policy.external_key, Policy.kind, Policy.product_code,
           Policy.insurer, Policy.premium, Policy.commission_pct, Policy.income,
           Policy.seller_share, Policy.issuer_share, Policy.starts_on, Policy.sold_on,
           Policy.seller_amocrm_id, Policy.issuer_amocrm_id, Policy.cancelled_on, Policy.refund)


def price_imported(session: Session, items: Sequence[ToPrice], *, clock: Clock) -> int:
    """Price the batch's policies; returns how many money lines were written."""
    by_id = {item.policy_id: item for item in items if item.price or item.cancellation}
    ids = sorted(by_id)
    policies: list[Policy] = []
    for start in range(0, len(ids), CHUNK):
        policies += session.scalars(
            select(Policy).options(load_only(*_PRICED))
            .where(Policy.id.in_(ids[start:start + CHUNK])).order_by(Policy.id))
    # Each policy's cancellation follows its own pricing, as before; lines of different
    # policies never depend on each other, so pricing them all first books the same lines.
    written = len(book_policies(session, [p for p in policies if by_id[p.id].price],
                                clock=clock, keep_figures=lambda p: by_id[p.id].keep))
    for policy in policies:
        item = by_id[policy.id]
        if item.cancellation is not None:
            on, refund = item.cancellation
            if policy.cancelled_on is not None:
                written += uncancel_policy(session, policy, clock=clock) is not None
            written += cancel_policy(session, policy, on=on, refund=refund,
                                     clock=clock) is not None
    return written
