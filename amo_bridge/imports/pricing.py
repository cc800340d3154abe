"""The money of imported policies — the importer's one way into the money engine.

Every "ours" line gets the money :func:`~amo_bridge.ledger.money.price_policy` would give it,
policy by policy: the commission from the file or the rate table, income and salary shares
computed (the figures the file states are kept — an income agreed years ago stays as it was),
and the sale booked in the month of ``sold_on``. Two ways, one set of rules:

- a **new** policy is priced before it is inserted (:func:`price_new`): its figures go into the
  INSERT itself and its sale line is ready to book, with ``compute_figures`` and
  ``book_figures`` — the very functions ``price_policy`` calls — on an empty ledger. (Inserting
  first and pricing after meant loading every new policy back and UPDATE-ing its figures: half
  of the money engine's time.)
- a **changed** policy is priced by :func:`amo_bridge.ledger.money_batch.book_policies`, which
  reads its existing lines (a reversal and a correction when its money moved).

:func:`price_imported` books a batch: the changed policies' lines, then the new policies' lines
(so lines are numbered in policy order, as one ``book_policies`` call over the batch numbered
them), then the cancellations, each after its own policy's sale, through ``cancel_policy``.
Pricing again with nothing changed books nothing, so re-importing a file is a no-op here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from amo_bridge.clock import Clock, local_today
from amo_bridge.imports.bulk import insert_rows, reserve_ids
from amo_bridge.ledger.money import book_figures, cancel_policy, uncancel_policy
from amo_bridge.ledger.money_batch import RuleBook, book_policies
from amo_bridge.ledger.money_figures import Ledger, compute_figures
from amo_bridge.models import Account, MoneyLine, Policy

CHUNK = 500
#: What the money engine reads of a policy; the rest (the insured object's JSON, terms…) is
#: not loaded for policies that do not need it.
_PRICED = (Policy.account_id, Policy.external_key, Policy.kind, Policy.product_code,
           Policy.insurer, Policy.premium, Policy.commission_pct, Policy.income,
           Policy.seller_share, Policy.issuer_share, Policy.starts_on, Policy.sold_on,
           Policy.seller_amocrm_id, Policy.issuer_amocrm_id, Policy.cancelled_on, Policy.refund)
_FIGURES = ("commission_pct", "income", "seller_share", "issuer_share")
_EMPTY = Ledger(())


@dataclass(frozen=True, slots=True)
class ToPrice:
    """A stored policy whose money must be (re)computed after this batch's writes."""

    policy_id: int
    keep: frozenset[str]
    cancellation: tuple[date, int] | None
    price: bool


def price_new(session: Session, policies: Sequence[tuple[dict[str, Any], frozenset[str]]],
              *, clock: Clock) -> list[dict[str, Any]]:
    """Price policies about to be inserted: each ``(columns, figures to keep)`` gets its
    figures written into ``columns``; returns the money lines to insert once the policies are
    in (without ids: :func:`price_imported` numbers them)."""
    if not policies:
        return []
    book = RuleBook(session, {columns["account_id"] for columns, _ in policies})
    days: dict[int, date] = {}

    def today_of(account_id: int) -> date:
        if account_id not in days:
            account = session.get(Account, account_id)
            days[account_id] = local_today(
                clock, account.timezone if account else "Europe/Moscow")
        return days[account_id]

    lines: list[dict[str, Any]] = []
    for columns, keep in policies:
        # The policy as the money engine reads it; a new one is neither cancelled nor booked.
        policy: Any = SimpleNamespace(**columns, cancelled_on=None, refund=None)
        figures = compute_figures(None, policy, keep_figures=keep, lookups=book)
        booked = book_figures(policy, _EMPTY, figures, clock=clock, make=SimpleNamespace,
                              today=partial(today_of, policy.account_id))
        lines += (vars(line) for line in booked)
        for name in _FIGURES:
            columns[name] = getattr(policy, name)
    return lines


def price_imported(session: Session, items: Sequence[ToPrice], *, clock: Clock,
                   new_lines: Sequence[dict[str, Any]] = ()) -> int:
    """Book the batch's money (see the module doc); returns how many lines were written."""
    by_id = {item.policy_id: item for item in items if item.price or item.cancellation}
    ids = sorted(by_id)
    policies: list[Policy] = []
    for start in range(0, len(ids), CHUNK):
        policies += session.scalars(
            select(Policy).options(load_only(*_PRICED))
            .where(Policy.id.in_(ids[start:start + CHUNK])).order_by(Policy.id))
    # Lines of different policies never depend on each other; a policy's cancellation follows
    # its own sale, so every cancellation comes last.
    written = len(book_policies(session, [p for p in policies if by_id[p.id].price],
                                clock=clock, keep_figures=lambda p: by_id[p.id].keep))
    if new_lines:
        line_ids = reserve_ids(session, MoneyLine.__table__, len(new_lines))
        insert_rows(session, MoneyLine.__table__,
                    [{**line, "id": line_id}
                     for line, line_id in zip(new_lines, line_ids, strict=True)])
        written += len(new_lines)
    for policy in policies:
        item = by_id[policy.id]
        if item.cancellation is not None:
            on, refund = item.cancellation
            if policy.cancelled_on is not None:
                written += uncancel_policy(session, policy, clock=clock) is not None
            written += cancel_policy(session, policy, on=on, refund=refund,
                                     clock=clock) is not None
    return written
