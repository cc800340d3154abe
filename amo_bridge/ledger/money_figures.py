"""What a policy's money is: the figures of a booking, the lines of a policy, and how the figures
are computed from the policy and the rule tables (:mod:`money_rules`). :mod:`money` books them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.ledger import money_rules as rules
from amo_bridge.models import LineKind, MoneyLine, Policy, PolicyKind

#: Figures a caller may ask to keep as found on the policy (an imported historical ledger).
KEEPABLE = frozenset({"income", "seller_share", "issuer_share"})


class MoneyError(ValueError):
    """A money operation that makes no sense (negative premium, refund above premium…)."""


class AlreadyCancelled(MoneyError):
    pass


@dataclass(frozen=True, slots=True)
class Figures:
    """What one booking says: the policy's dimensions and its money, as of booking time."""

    sold_on: date | None
    product_code: str
    insurer: str | None
    seller_amocrm_id: int | None
    issuer_amocrm_id: int | None
    premium: int
    commission_pct: Decimal | None
    income: int
    seller_share: int
    issuer_share: int
    commission_source: str = "manual"
    rate_id: int | None = None
    seller_rule_id: int | None = None
    issuer_rule_id: int | None = None

    def key(self) -> tuple:
        # Provenance (source, rule ids) is not compared: the same money is the same booking.
        return tuple(getattr(self, f.name) for f in fields(self)[:10])

    @classmethod
    def of_line(cls, line: MoneyLine) -> Figures:
        return cls(**{f.name: getattr(line, f.name) for f in fields(cls)})

    def negated(self) -> Figures:
        return replace(
            self,
            premium=-self.premium,
            income=-self.income,
            seller_share=-self.seller_share,
            issuer_share=-self.issuer_share,
        )


@dataclass(frozen=True, slots=True)
class Ledger:
    """The lines of one policy and what they add up to now."""

    lines: tuple[MoneyLine, ...]

    @property
    def _reversed(self) -> set[int]:
        return {line.reverses_id for line in self.lines if line.reverses_id is not None}

    def active(self, *kinds: LineKind) -> MoneyLine | None:
        """The latest line of ``kinds`` that no reversal has undone."""
        undone = self._reversed
        for line in reversed(self.lines):
            if line.kind in kinds and line.id not in undone:
                return line
        return None

    @property
    def booking(self) -> MoneyLine | None:
        return self.active(LineKind.SALE, LineKind.CORRECTION)

    @property
    def cancellation(self) -> MoneyLine | None:
        return self.active(LineKind.CANCELLATION)

    @property
    def next_seq(self) -> int:
        return max((line.seq for line in self.lines), default=0) + 1


def policy_ledger(session: Session, policy_id: int) -> Ledger:
    lines = session.scalars(
        select(MoneyLine).where(MoneyLine.policy_id == policy_id).order_by(MoneyLine.seq)
    ).all()
    return Ledger(tuple(lines))


def bookable(policy: Policy) -> bool:
    """Only our own sold policies carry money; foreign ones are known, not sold."""
    return policy.kind == PolicyKind.OURS and policy.sold_on is not None


class SessionRules:
    """Rule lookups straight from the database (the batch path passes a cached ``RuleBook``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find_rate(self, account_id: int, **kwargs: Any) -> Any:
        return rules.find_rate(self.session, account_id, **kwargs)

    def find_salary_rule(self, account_id: int, **kwargs: Any) -> Any:
        return rules.find_salary_rule(self.session, account_id, **kwargs)


def compute_figures(
    session: Session,
    policy: Policy,
    *,
    previous: MoneyLine | None = None,
    keep_figures: Iterable[str] = (),
    lookups: Any = None,
) -> Figures:
    """The figures ``policy`` should carry now, from its inputs and the rule tables.

    ``lookups`` answers ``find_rate`` / ``find_salary_rule`` (default: the database).
    """
    lookups = lookups if lookups is not None else SessionRules(session)
    keep = frozenset(keep_figures)
    if not keep <= KEEPABLE:
        raise MoneyError(f"cannot keep {sorted(keep - KEEPABLE)}; keepable: {sorted(KEEPABLE)}")
    if policy.premium is None or policy.premium < 0:
        raise MoneyError(f"policy {policy.external_key}: premium must be 0 or more")
    on = rules.pricing_date(policy.starts_on, policy.sold_on)
    pct, source, rate_id = policy.commission_pct, "manual", None
    # A commission that came from the rate table last time is looked up again: the start date
    # or the product may have changed since, and with them the rate that applies.
    was_from_rate = (
        previous is not None
        and previous.commission_source == "rate"
        and pct is not None
        and pct == previous.commission_pct
    )
    if (pct is None or was_from_rate) and on is not None:
        rate = lookups.find_rate(
            policy.account_id,
            insurer=policy.insurer,
            product_code=policy.product_code,
            on=on,
        )
        if rate is not None:
            pct, source, rate_id = rate.rate_pct, "rate", rate.id
    if pct is None:
        source = "none"
    income = policy.income if "income" in keep else rules.percent_of(policy.premium, pct)
    shares: dict[str, tuple[int, int | None]] = {}
    for role, user in (
        (rules.SELLER, policy.seller_amocrm_id),
        (rules.ISSUER, policy.issuer_amocrm_id),
    ):
        if f"{role}_share" in keep:
            shares[role] = (getattr(policy, f"{role}_share"), None)
            continue
        rule = None
        if on is not None:
            rule = lookups.find_salary_rule(
                policy.account_id,
                role=role,
                product_code=policy.product_code,
                user_amocrm_id=user,
                on=on,
            )
        shares[role] = (
            rules.salary_share(rule, premium=policy.premium, income=income),
            rule.id if rule is not None else None,
        )
    return Figures(
        sold_on=policy.sold_on,
        product_code=policy.product_code,
        insurer=policy.insurer,
        seller_amocrm_id=policy.seller_amocrm_id,
        issuer_amocrm_id=policy.issuer_amocrm_id,
        premium=policy.premium,
        commission_pct=pct,
        income=income,
        seller_share=shares[rules.SELLER][0],
        issuer_share=shares[rules.ISSUER][0],
        commission_source=source,
        rate_id=rate_id,
        seller_rule_id=shares[rules.SELLER][1],
        issuer_rule_id=shares[rules.ISSUER][1],
    )
