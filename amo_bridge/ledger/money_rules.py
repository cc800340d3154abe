"""The money rule tables: commission rates and salary rules, each chosen by its valid-from date.

Which date counts (DESIGN.md): a rate or a salary rule is chosen by its valid-from date against
the policy's start date (the day the deal was won when the start date is unknown), so last
year's deals keep last year's rate whatever the table says today.

The one rounding rule lives here too: see :func:`round_kopecks`.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.models import ANY, CommissionRate, SalaryBasis, SalaryRule
from amo_bridge.products import fold

SELLER = "seller"
ISSUER = "issuer"
ROLES = (SELLER, ISSUER)


def round_kopecks(value: Decimal) -> int:
    """THE rounding rule of amo-bridge: to a whole kopeck, half away from zero.

    Every computed amount is an exact decimal (integer kopecks times an exact percentage),
    rounded once, here. Half away from zero (``ROUND_HALF_UP`` in :mod:`decimal` terms) is what
    a person does on paper, and it is symmetric: a negative line is exactly minus the positive
    one, so a full refund cancels a sale to the kopeck.
    """
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def percent_of(amount: int, pct: Decimal | None) -> int:
    """``amount`` kopecks times ``pct`` percent, rounded by :func:`round_kopecks`."""
    if pct is None or amount == 0:
        return 0
    with localcontext(prec=60):  # exact: 19 digits of kopecks times 9 digits of percent
        return round_kopecks(Decimal(amount) * Decimal(pct) / 100)


def proportion_of(amount: int, part: int, whole: int) -> int:
    """``amount × part / whole``, rounded by :func:`round_kopecks` (0 when ``whole`` is 0)."""
    if whole == 0 or amount == 0 or part == 0:
        return 0
    with localcontext(prec=60):
        return round_kopecks(Decimal(amount) * Decimal(part) / Decimal(whole))


def pricing_date(starts_on: date | None, sold_on: date | None) -> date | None:
    return starts_on or sold_on


def find_rate(
    session: Session, account_id: int, *, insurer: str | None, product_code: str, on: date
) -> CommissionRate | None:
    """The commission rate for insurer × product valid on ``on``.

    An insurer-specific rate beats an ``*`` (any insurer) rate; among equals the latest
    valid-from wins. Insurer names match case- and ё-insensitively, punctuation ignored.
    """
    candidates = session.scalars(
        select(CommissionRate).where(
            CommissionRate.account_id == account_id,
            CommissionRate.product_code == product_code,
            CommissionRate.valid_from <= on,
        )
    ).all()
    wanted = fold(insurer or "")
    best: tuple[int, date] | None = None
    found: CommissionRate | None = None
    for rate in candidates:
        if rate.insurer == ANY:
            specificity = 0
        elif wanted and fold(rate.insurer) == wanted:
            specificity = 1
        else:
            continue
        rank = (specificity, rate.valid_from)
        if best is None or rank > best:
            best, found = rank, rate
    return found


def find_salary_rule(
    session: Session,
    account_id: int,
    *,
    role: str,
    product_code: str,
    user_amocrm_id: int | None,
    on: date,
) -> SalaryRule | None:
    """The salary rule for an employee in a role on a product, valid on ``on``.

    Most specific first: the user's own rule for the product, the user's rule for any product,
    everyone's rule for the product, everyone's rule for any product; then the latest
    valid-from. A personal rule is an exception that stays until a newer personal rule replaces
    it — a new general rule does not override it.
    """
    if user_amocrm_id is None:
        return None
    user_key = str(user_amocrm_id)
    candidates = session.scalars(
        select(SalaryRule).where(
            SalaryRule.account_id == account_id,
            SalaryRule.role == role,
            SalaryRule.valid_from <= on,
            SalaryRule.product_code.in_((product_code, ANY)),
            SalaryRule.user_key.in_((user_key, ANY)),
        )
    ).all()
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda r: (r.user_key == user_key, r.product_code == product_code, r.valid_from),
    )


def salary_share(rule: SalaryRule | None, *, premium: int, income: int) -> int:
    """An employee's share of one policy line under ``rule`` (0 without a rule)."""
    if rule is None:
        return 0
    if rule.basis == SalaryBasis.INCOME_PCT:
        return percent_of(income, rule.pct)
    if rule.basis == SalaryBasis.PREMIUM_PCT:
        return percent_of(premium, rule.pct)
    if rule.basis == SalaryBasis.FIXED:
        return int(rule.fixed_amount or 0)
    raise ValueError(f"unknown salary basis {rule.basis!r}")
