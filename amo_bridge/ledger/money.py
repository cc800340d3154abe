"""Money of a policy line: commission, broker income, salary shares; sales and cancellations.

Public API (stable; the mirror, the widget's policy panel and the importer call it):

- :func:`price_policy` fills the commission from the rate table when it is blank, computes the
  broker income and the seller's and issuer's salary shares, stores them on the policy, and
  books a :class:`~amo_bridge.models.MoneyLine` — a sale in the month the deal was won, or, when
  a booked policy changed, a reversal of the old booking and a correction, dated the day the
  change was seen. Calling it again with nothing changed books nothing.
- :func:`money_batch.price_policies` does what :func:`price_policy` does for many policies at
  once, in a few queries (the importer uses it).
- :func:`cancel_policy` marks a policy cancelled and books a negative line in the cancellation's
  month; :func:`uncancel_policy` reverses a cancellation entered by mistake.

History is never rewritten: lines are only inserted. Amounts are integer kopecks; every
computed amount is rounded once, half away from zero (:func:`money_rules.round_kopecks`):

- income = premium × commission %;
- a salary share = income × % (``income_pct``), premium × % (``premium_pct``) or a fixed amount
  per policy (``fixed``), by the salary rule valid on the policy's start date;
- a cancellation's income = −(refund × commission %); its salary shares are clawed back in the
  proportion refund / premium (a full refund gives back exactly the shares paid).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields, replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from amo_bridge.clock import Clock, local_today, system_clock
from amo_bridge.ledger import money_rules as rules
from amo_bridge.ledger.money_figures import (
    KEEPABLE,
    AlreadyCancelled,
    Figures,
    Ledger,
    MoneyError,
    bookable,
    compute_figures,
    policy_ledger,
)
from amo_bridge.models import Account, LineKind, MoneyLine, Policy

__all__ = [
    "KEEPABLE",
    "AlreadyCancelled",
    "Figures",
    "Ledger",
    "MoneyError",
    "cancel_policy",
    "compute_figures",
    "lines_total",
    "policy_ledger",
    "price_policy",
    "uncancel_policy",
]


def price_policy(
    session: Session,
    policy: Policy,
    *,
    clock: Clock = system_clock,
    keep_figures: Iterable[str] = (),
) -> list[MoneyLine]:
    """Compute and store the policy's money; book what changed. Returns the lines written.

    ``keep_figures`` names figures (``income``, ``seller_share``, ``issuer_share``) to take as
    found on the policy instead of computing them — for an imported historical ledger whose
    figures were agreed long ago. The commission is still filled from the rate table if blank.
    """
    if policy.id is None:
        session.flush()  # the policy needs its id before lines can point at it
    ledger = policy_ledger(session, policy.id)
    figures = compute_figures(session, policy, previous=ledger.booking, keep_figures=keep_figures)
    written = book_figures(policy, ledger, figures, today=lambda: _today(session, policy, clock),
                           clock=clock)
    if written:
        session.add_all(written)
        session.flush()
    return written


def book_figures(
    policy: Policy,
    ledger: Ledger,
    figures: Figures,
    *,
    today: Callable[[], date],
    clock: Clock,
    make: Callable[..., Any] = MoneyLine,
) -> list[Any]:
    """Store ``figures`` on ``policy`` and return the lines that book what changed since
    ``ledger`` (not yet added to a session). Shared by :func:`price_policy` and the batch
    (:mod:`money_batch`), so both follow one set of booking rules.

    ``today`` is asked only when a line is written (the account's local date). ``make`` builds
    a line from its column values: a :class:`MoneyLine` here, a plain record for the batch,
    which inserts its lines without the ORM.
    """
    booking = ledger.booking
    policy.commission_pct = figures.commission_pct
    policy.income = figures.income
    policy.seller_share = figures.seller_share
    policy.issuer_share = figures.issuer_share

    if bookable(policy):
        if booking is not None and Figures.of_line(booking).key() == figures.key():
            return []
    elif booking is None:
        return []
    on_today = today()
    written: list[MoneyLine] = []
    seq = ledger.next_seq
    undo: list[MoneyLine] = []
    if booking is not None:
        undo = [booking]
        if not bookable(policy) and ledger.cancellation is not None:
            undo.append(ledger.cancellation)  # an un-won deal takes its refund back too
        for line in undo:
            on = max(on_today, line.booked_on)
            written.append(_reverse(policy, line, seq=seq, on=on, clock=clock, make=make))
            seq += 1
    if bookable(policy):
        first = not any(line.kind == LineKind.SALE for line in ledger.lines)
        written.append(
            _line(
                policy,
                figures,
                seq=seq,
                kind=LineKind.SALE if first else LineKind.CORRECTION,
                # A first sale counts on the won date even when it is seen late; a correction
                # counts the day it is made, so a month already paid out stays as it was.
                on=figures.sold_on if first else max(on_today, figures.sold_on),
                policies=1,
                clock=clock,
                make=make,
            )
        )
        seq += 1
        live_refund = (policy.refund or 0) > 0 and policy.cancelled_on is not None
        if live_refund and (ledger.cancellation is None or ledger.cancellation in undo):
            # Cancelled before it was booked (or re-won after an un-win): the refund follows.
            on = max(policy.cancelled_on, written[-1].booked_on)
            written.append(
                _refund_line(policy, written[-1], on=on, seq=seq, clock=clock, make=make)
            )
    return written


def cancel_policy(
    session: Session,
    policy: Policy,
    *,
    on: date,
    refund: int,
    clock: Clock = system_clock,
    note: str | None = None,
) -> MoneyLine | None:
    """Cancel a policy on ``on`` refunding ``refund`` kopecks to the client.

    Books a negative line in the cancellation's month (none when nothing was booked or nothing
    is refunded). Repeating the same cancellation is a no-op; a different one for an already
    cancelled policy raises :class:`AlreadyCancelled` (reverse it with :func:`uncancel_policy`).
    """
    if refund < 0 or refund > policy.premium:
        raise MoneyError(f"refund must be between 0 and the premium ({policy.premium} kopecks)")
    if policy.sold_on is not None and on < policy.sold_on:
        raise MoneyError(f"cancellation date {on} is before the sale ({policy.sold_on})")
    if policy.cancelled_on is not None:
        if policy.cancelled_on == on and (policy.refund or 0) == refund:
            return None
        raise AlreadyCancelled(
            f"policy {policy.external_key} is already cancelled on {policy.cancelled_on}"
        )
    if policy.id is None:
        session.flush()
    policy.cancelled_on = on
    policy.refund = refund
    ledger = policy_ledger(session, policy.id)
    booking = ledger.booking
    if booking is None or refund == 0:
        session.flush()
        return None
    line = _refund_line(policy, booking, on=on, seq=ledger.next_seq, clock=clock, note=note)
    session.add(line)
    session.flush()
    return line


def _refund_line(
    policy: Policy,
    booking: Any,
    *,
    on: date,
    seq: int,
    clock: Clock,
    note: str | None = None,
    make: Callable[..., Any] = MoneyLine,
) -> Any:
    """The negative line of ``policy.refund``: income = −refund × commission %, shares clawed
    back in the proportion refund / premium of the booking it cancels."""
    refund = policy.refund or 0
    sold = Figures.of_line(booking)
    figures = replace(
        sold,
        premium=-refund,
        income=-rules.percent_of(refund, sold.commission_pct),
        seller_share=-rules.proportion_of(sold.seller_share, refund, sold.premium),
        issuer_share=-rules.proportion_of(sold.issuer_share, refund, sold.premium),
    )
    return _line(
        policy,
        figures,
        seq=seq,
        kind=LineKind.CANCELLATION,
        on=on,
        cancellations=1,
        clock=clock,
        note=note,
        make=make,
    )


def uncancel_policy(
    session: Session, policy: Policy, *, clock: Clock = system_clock
) -> MoneyLine | None:
    """Undo a cancellation entered by mistake: a reversal dated today; the policy is live again."""
    if policy.cancelled_on is None:
        return None
    ledger = policy_ledger(session, policy.id)
    policy.cancelled_on = None
    policy.refund = None
    cancellation = ledger.cancellation
    if cancellation is None:
        session.flush()
        return None
    today = _today(session, policy, clock)
    on = max(today, cancellation.booked_on)
    line = _reverse(policy, cancellation, seq=ledger.next_seq, on=on, clock=clock)
    session.add(line)
    session.flush()
    return line


def _today(session: Session, policy: Policy, clock: Clock) -> date:
    account = session.get(Account, policy.account_id)
    return local_today(clock, account.timezone if account else "Europe/Moscow")


def _reverse(
    policy: Policy,
    line: MoneyLine,
    *,
    seq: int,
    on: date,
    clock: Clock,
    make: Callable[..., Any] = MoneyLine,
) -> Any:
    return _line(
        policy,
        Figures.of_line(line).negated(),
        seq=seq,
        kind=LineKind.REVERSAL,
        on=on,
        policies=-line.policies,
        cancellations=-line.cancellations,
        reverses_id=line.id,
        clock=clock,
        make=make,
    )


def _line(
    policy: Policy,
    figures: Figures,
    *,
    seq: int,
    kind: LineKind,
    on: date,
    clock: Clock,
    policies: int = 0,
    cancellations: int = 0,
    reverses_id: int | None = None,
    note: str | None = None,
    make: Callable[..., Any] = MoneyLine,
) -> Any:
    return make(
        account_id=policy.account_id,
        policy_id=policy.id,
        seq=seq,
        kind=kind,
        booked_on=on,
        month=on.replace(day=1),
        policies=policies,
        cancellations=cancellations,
        reverses_id=reverses_id,
        note=note,
        recorded_at=clock.now(),
        **{name: getattr(figures, name) for name in _FIGURES},
    )


_FIGURES = tuple(f.name for f in fields(Figures))


def lines_total(lines: Sequence[MoneyLine]) -> dict[str, int]:
    """Sums of a set of lines (tests and the API's policy panel use it)."""
    return {
        name: sum(getattr(line, name) for line in lines)
        for name in (
            "premium",
            "income",
            "seller_share",
            "issuer_share",
            "policies",
            "cancellations",
        )
    }


# The cancelled-stage reaction registers itself with the mirror's registry on import.
from amo_bridge.ledger import money_stage as _money_stage  # noqa: E402,F401
