"""Tables of the renewals capability (issue 5) beyond the ledger's ``renewal``.

- ``renewal_followup``: the re-contact task after a lost deal (seed 001: 3/6/12 months by loss
  reason) and the «холодный» tag on the contact. A reservation under a unique business key,
  written before any remote call, like ``renewal``.
- ``ix_policy_renewable``: the renewal scan's index — live policies (not cancelled, not renewed)
  by account and end date. The scan is a range walk over it, never a table scan.
"""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from amo_bridge.db import Base
from amo_bridge.models._base import AccountScoped, Timestamps, enum_column
from amo_bridge.models.policy import Policy


class FollowupStatus(enum.StrEnum):
    PENDING = "pending"  # key taken, nothing sent yet
    CREATING = "creating"  # the task request is (or was) in flight: look it up before a retry
    CREATED = "created"  # the task exists; the tag may still be pending (``tagged``)
    DONE = "done"  # task created and contact tagged
    FAILED = "failed"  # amoCRM refused the task (validation): an admin must look


class RenewalFollowup(AccountScoped, Timestamps, Base):
    """A lost deal's re-contact reminder (one per deal and day it was lost)."""

    __tablename__ = "renewal_followup"
    __table_args__ = (
        # A deal lost, reopened and lost again the same day gets one reminder.
        UniqueConstraint("account_id", "deal_id", "lost_on"),
        Index("ix_renewal_followup_status", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"))
    lost_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(255))
    months: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    #: Where the task goes: ``contacts`` (the client) or ``leads`` (a deal without a client).
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_amocrm_id: Mapped[int] = mapped_column(BigInteger)
    contact_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    responsible_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = enum_column(FollowupStatus, default=FollowupStatus.PENDING)
    amocrm_task_id: Mapped[int | None] = mapped_column(BigInteger)
    tagged: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


# The due scan: ``account_id = ? AND ends_on BETWEEN ? AND ?`` over live policies only.
# (A partial index: cancelled and renewed policies — most of an old base — are not in it.)
_LIVE = "cancelled_on IS NULL AND renewed_by_id IS NULL"
ix_policy_renewable = Index(
    "ix_policy_renewable", Policy.account_id, Policy.ends_on,
    postgresql_where=text(_LIVE), sqlite_where=text(_LIVE),
)
