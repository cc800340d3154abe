"""Policies (ours and foreign), renewals, and the money rules: rates, salaries, plans, assignees."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from amo_bridge.db import Base, Money, Percent, UTCDateTime
from amo_bridge.models._base import AccountScoped, PolicyKind, Timestamps, enum_column

#: Stands for "any product" / "any user" in rule keys (NULL would not be unique).
ANY = "*"


class PolicySource(enum.StrEnum):
    DEAL = "deal"  # mapped custom fields of a won deal
    WIDGET = "widget"  # the deal card's policy panel
    IMPORT = "import"  # the broker's existing base
    MANUAL = "manual"  # entered through the API (foreign policies)


class Policy(AccountScoped, Timestamps, Base):
    """One line per policy sold or known. Income and salary shares are stored on the line."""

    __tablename__ = "policy"
    __table_args__ = (
        # Natural identity, e.g. "deal:123:1", "number:ingosstrakh:XXX0123456789".
        UniqueConstraint("account_id", "external_key"),
        # The renewal scan walks this index by end date; it never scans the table.
        Index("ix_policy_due", "account_id", "ends_on"),
        Index("ix_policy_sold", "account_id", "sold_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = enum_column(PolicyKind, default=PolicyKind.OURS)
    source: Mapped[str] = enum_column(PolicySource, default=PolicySource.DEAL)
    product_code: Mapped[str] = mapped_column(String(32))
    insurer: Mapped[str | None] = mapped_column(String(255))
    number: Mapped[str | None] = mapped_column(String(64))
    premium: Mapped[int] = mapped_column(Money, default=0)
    commission_pct: Mapped[Decimal | None] = mapped_column(Percent)
    income: Mapped[int] = mapped_column(Money, default=0)
    seller_share: Mapped[int] = mapped_column(Money, default=0)
    issuer_share: Mapped[int] = mapped_column(Money, default=0)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    #: The day the deal was won: plan vs fact, payroll and exports by period use it.
    sold_on: Mapped[date | None] = mapped_column(Date)
    sum_insured: Mapped[int | None] = mapped_column(Money)
    deductible: Mapped[int | None] = mapped_column(Money)
    terms: Mapped[str | None] = mapped_column(Text)
    #: Insured object; for motor: make, model, year, plate, vin.
    insured_object: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seller_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    issuer_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    entered_by_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deal.id"), index=True)
    renewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id"))
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    refund: Mapped[int | None] = mapped_column(Money)


class RenewalStatus(enum.StrEnum):
    RESERVED = "reserved"  # key taken, nothing sent to amoCRM yet
    CREATING = "creating"  # a create call is in flight: on retry, look the lead up first
    CREATED = "created"  # lead and task exist in amoCRM
    RENEWED = "renewed"  # the renewal deal was won
    NOT_RENEWED = "not_renewed"  # the renewal deal was lost
    CANCELLED = "cancelled"  # the policy was cancelled before the renewal was worked
    FAILED = "failed"  # amoCRM refused the lead (validation): an admin fixes and retries


class Renewal(AccountScoped, Timestamps, Base):
    """A reservation under a unique key, written before any remote call."""

    __tablename__ = "renewal"
    __table_args__ = (
        UniqueConstraint("account_id", "policy_id", "term_end"),
        Index("ix_renewal_status", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id", ondelete="CASCADE"))
    term_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = enum_column(RenewalStatus, default=RenewalStatus.RESERVED)
    #: Written into the lead so an unknown outcome can be reconciled by looking it up.
    marker: Mapped[str] = mapped_column(String(64), unique=True)
    assignee_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    amocrm_lead_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    amocrm_task_id: Mapped[int | None] = mapped_column(BigInteger)
    outcome_reason: Mapped[str | None] = mapped_column(String(255))
    new_policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CommissionRate(AccountScoped, Base):
    __tablename__ = "commission_rate"
    __table_args__ = (UniqueConstraint("account_id", "insurer", "product_code", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    insurer: Mapped[str] = mapped_column(String(255))
    product_code: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[date] = mapped_column(Date)
    rate_pct: Mapped[Decimal] = mapped_column(Percent)


class SalaryBasis(enum.StrEnum):
    INCOME_PCT = "income_pct"
    PREMIUM_PCT = "premium_pct"
    FIXED = "fixed"


class SalaryRule(AccountScoped, Base):
    __tablename__ = "salary_rule"
    __table_args__ = (
        UniqueConstraint("account_id", "role", "product_code", "user_key", "valid_from"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``seller`` or ``issuer`` — the two employees of a deal in the spec.
    role: Mapped[str] = mapped_column(String(16))
    product_code: Mapped[str] = mapped_column(String(32), default=ANY)
    #: An amoCRM user id as text, or ``*`` for everyone.
    user_key: Mapped[str] = mapped_column(String(32), default=ANY)
    basis: Mapped[str] = enum_column(SalaryBasis)
    pct: Mapped[Decimal | None] = mapped_column(Percent)
    fixed_amount: Mapped[int | None] = mapped_column(Money)
    valid_from: Mapped[date] = mapped_column(Date)


class Plan(AccountScoped, Base):
    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("account_id", "user_amocrm_id", "month", "product_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_amocrm_id: Mapped[int] = mapped_column(BigInteger)
    #: The first day of the month.
    month: Mapped[date] = mapped_column(Date)
    product_code: Mapped[str] = mapped_column(String(32), default=ANY)
    income_target: Mapped[int | None] = mapped_column(Money)
    premium_target: Mapped[int | None] = mapped_column(Money)


class AssigneeStrategy(enum.StrEnum):
    SELLER = "seller"
    FIXED = "fixed"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


class AssigneeRule(AccountScoped, Timestamps, Base):
    __tablename__ = "assignee_rule"
    __table_args__ = (UniqueConstraint("account_id", "policy_kind", "product_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_kind: Mapped[str] = enum_column(PolicyKind)
    product_code: Mapped[str] = mapped_column(String(32), default=ANY)
    strategy: Mapped[str] = enum_column(AssigneeStrategy)
    fixed_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    pool: Mapped[list[int]] = mapped_column(JSON, default=list)
    fallback_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    #: Round-robin position; advanced under a row lock.
    cursor: Mapped[int] = mapped_column(Integer, default=0)
