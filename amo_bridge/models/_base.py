"""Shared pieces of the ledger models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from amo_bridge.db import UTCDateTime


def utcnow() -> datetime:
    # Technical row timestamps only; business times (received, due, sent) come from the clock.
    return datetime.now(UTC)


def enum_column(kind: type[enum.StrEnum], *, default: enum.StrEnum | None = None, **kw: object):
    """Enums are stored as plain strings: adding a state never needs a type migration."""
    return mapped_column(String(24), default=default, **kw)


class AccountScoped:
    """Every table carries ``account_id``: one deployment serves several amoCRM accounts."""

    account_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("account.id", ondelete="CASCADE"), index=True
    )


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Role(enum.StrEnum):
    MANAGER = "manager"
    ADMIN = "admin"
    FINANCE = "finance"


class PolicyKind(enum.StrEnum):
    OURS = "ours"
    FOREIGN = "foreign"
