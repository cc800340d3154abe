"""The SMS outbox and the webhook inbox: rows first, side effects after."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from amo_bridge.db import Base, Money, UTCDateTime
from amo_bridge.models._base import AccountScoped, Timestamps, enum_column, utcnow


class SmsStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    #: The provider's answer was lost: resolved by a status query, never by sending again.
    UNKNOWN = "unknown"
    #: Refused before sending (invalid phone, opt-out, no consent); visible with its reason.
    REJECTED = "rejected"
    #: Cannot be sent until someone fixes something (e.g. a manager profile without a phone).
    NEEDS_ATTENTION = "needs_attention"


class SmsMessage(AccountScoped, Timestamps, Base):
    __tablename__ = "sms_message"
    __table_args__ = (
        # One message per (rule, entity, occasion): duplicates of a trigger are harmless.
        UniqueConstraint("account_id", "idempotency_key"),
        Index("ix_sms_due", "status", "not_before"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    rule: Mapped[str] = mapped_column(String(32))
    template_code: Mapped[str | None] = mapped_column(String(64))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deal.id"), index=True)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id"))
    phone: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    segments: Mapped[int] = mapped_column(Integer, default=0)
    encoding: Mapped[str | None] = mapped_column(String(8))
    cost: Mapped[int | None] = mapped_column(Money)
    status: Mapped[str] = enum_column(SmsStatus, default=SmsStatus.QUEUED)
    reason: Mapped[str | None] = mapped_column(Text)
    gateway: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: The amoCRM note that shows the message in the card (and its delivery status later).
    note_amocrm_id: Mapped[int | None] = mapped_column(Integer)
    #: ``service`` or ``marketing`` (marketing needs consent); from the template.
    kind: Mapped[str] = mapped_column(String(16), default="service")
    #: After this moment a queued message is stale (a reminder after the policy ended).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The manager whose name and phone the text carries (to re-queue when the profile is fixed).
    manager_amocrm_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    #: Machine-readable details: reason code, missing values, template variables used.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class InboxStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    #: Stored and answered 200, but could not be parsed: kept with the reason for admins.
    REJECTED = "rejected"
    #: A true redelivery of a stored body (same bytes within amoCRM's retry horizon).
    DUPLICATE = "duplicate"
    FAILED = "failed"


class InboxEvent(AccountScoped, Base):
    """A raw inbound request (amoCRM webhook, Digital Pipeline hook, SMS callback), as received."""

    __tablename__ = "inbox_event"
    __table_args__ = (
        Index("ix_inbox_dedupe", "account_id", "body_sha256", "received_at"),
        Index("ix_inbox_status", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_type: Mapped[str | None] = mapped_column(String(255))
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = enum_column(InboxStatus, default=InboxStatus.PENDING)
    reason: Mapped[str | None] = mapped_column(Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_event.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Changes the mirror committed whose reactions have not all run yet (serialised): a retry
    #: runs just these, so a crash between the mirror and its reactions loses no SMS or renewal.
    pending_reactions: Mapped[list[Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
