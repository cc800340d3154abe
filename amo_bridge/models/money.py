"""Money lines (the booked ledger behind every report) and export records (the export audit).

A policy row holds the policy's *current* figures; a :class:`MoneyLine` is one booking of money
in a given month. A sale writes one line in the month the deal was won; a cancellation writes a
negative line in the cancellation's month; a later change of a booked policy writes a reversal
of the previous booking and a correction with the new figures, both dated the day the change was
seen. Lines are only ever inserted, so a month that was paid out never changes afterwards.
"""

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
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from amo_bridge.db import Base, Money, Percent, UTCDateTime
from amo_bridge.models._base import AccountScoped, Timestamps, enum_column


class LineKind(enum.StrEnum):
    SALE = "sale"  # the first booking of a policy, in the month its deal was won
    CANCELLATION = "cancellation"  # refund: negative premium, income and shares
    REVERSAL = "reversal"  # storno of the previous booking (its figures negated)
    CORRECTION = "correction"  # the new figures of a policy changed after it was booked


class MoneyLine(AccountScoped, Base):
    __tablename__ = "money_line"
    __table_args__ = (
        # Lines of a policy are numbered; two workers pricing the same policy at once collide
        # here, and the retried job then sees the other's line and books nothing.
        UniqueConstraint("policy_id", "seq"),
        # Every report groups by month within one account.
        Index("ix_money_line_month", "account_id", "month"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = enum_column(LineKind)
    #: The day the line counts in, and the first day of its month (grouping key of reports).
    booked_on: Mapped[date] = mapped_column(Date)
    month: Mapped[date] = mapped_column(Date)
    #: +1 for a sale or correction, -1 for its reversal: SUM() = policies sold, net.
    policies: Mapped[int] = mapped_column(SmallInteger, default=0)
    #: +1 for a cancellation, -1 for its reversal: SUM() = policies cancelled, net.
    cancellations: Mapped[int] = mapped_column(SmallInteger, default=0)
    # Snapshots of the policy at booking time: reports filter on them without a join.
    sold_on: Mapped[date | None] = mapped_column(Date)
    product_code: Mapped[str] = mapped_column(String(32))
    insurer: Mapped[str | None] = mapped_column(String(255))
    seller_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    issuer_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    # Signed kopecks.
    premium: Mapped[int] = mapped_column(Money, default=0)
    commission_pct: Mapped[Decimal | None] = mapped_column(Percent)
    income: Mapped[int] = mapped_column(Money, default=0)
    seller_share: Mapped[int] = mapped_column(Money, default=0)
    issuer_share: Mapped[int] = mapped_column(Money, default=0)
    #: Where the commission came from: ``manual`` (entered), ``rate`` (the rate table), ``none``.
    commission_source: Mapped[str] = mapped_column(String(16), default="manual")
    # Which rate and salary rules produced the figures (plain ids: rules may be deleted later).
    rate_id: Mapped[int | None] = mapped_column(Integer)
    seller_rule_id: Mapped[int | None] = mapped_column(Integer)
    issuer_rule_id: Mapped[int | None] = mapped_column(Integer)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("money_line.id"))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExportKind(enum.StrEnum):
    LEDGER = "ledger"
    PAYROLL = "payroll"
    PLAN = "plan"
    RETENTION = "retention"


class ExportStatus(enum.StrEnum):
    REFUSED = "refused"  # a manager asked: refused and kept here as the audit of the attempt
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"  # the file was purged; the record stays


class ExportRecord(AccountScoped, Timestamps, Base):
    """One export request — allowed or refused — with who, when, filters and rows: the audit."""

    __tablename__ = "export_record"
    __table_args__ = (
        Index("ix_export_record_requested", "account_id", "requested_at"),
        Index("ix_export_record_status", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = enum_column(ExportKind)
    #: ``widget`` (an amoCRM user through the widget API), ``cli`` or ``demo``.
    channel: Mapped[str] = mapped_column(String(16), default="widget")
    actor_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_roles: Mapped[str] = mapped_column(String(64), default="")
    #: period (from/to), manager, product, insurer, lang.
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = enum_column(ExportStatus, default=ExportStatus.QUEUED)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rows: Mapped[int | None] = mapped_column(Integer)
    file_path: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    last_download_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
