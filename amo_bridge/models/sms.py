"""SMS tables beyond the outbox row: templates, verification codes, suppressed numbers, the
per-account state of each gateway channel, and the amoCRM notes that show messages in cards."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from amo_bridge.db import Base, UTCDateTime
from amo_bridge.models._base import AccountScoped, Timestamps, enum_column, utcnow


class TemplateKind(enum.StrEnum):
    SERVICE = "service"  # about the client's own policy or request: no consent needed
    MARKETING = "marketing"  # offers: needs the client's recorded consent


class SmsTemplate(AccountScoped, Timestamps, Base):
    """An account's own version of a template (defaults live in config/defaults.toml)."""

    __tablename__ = "sms_template"
    __table_args__ = (UniqueConstraint("account_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str] = enum_column(TemplateKind, default=TemplateKind.SERVICE)
    body: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[int | None] = mapped_column(BigInteger)


class VerificationStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    EXPIRED = "expired"
    LOCKED = "locked"  # too many wrong attempts
    REPLACED = "replaced"  # a new code was requested


class SmsVerification(AccountScoped, Base):
    """A phone confirmation by SMS code; only a keyed hash of the code is stored."""

    __tablename__ = "sms_verification"
    __table_args__ = (Index("ix_sms_verification_phone", "account_id", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    salt: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = enum_column(VerificationStatus, default=VerificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_by_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    sms_message_id: Mapped[int | None] = mapped_column(ForeignKey("sms_message.id"))
    #: The amoCRM side (checkbox or tag, plus a note) has been written.
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsSuppression(AccountScoped, Base):
    """A number that must not get SMS: the provider said it is invalid, or the client opted out."""

    __tablename__ = "sms_suppression"
    __table_args__ = (UniqueConstraint("account_id", "phone"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    #: ``provider`` (permanent error), ``opt_out`` (the client asked) or ``admin``.
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class SmsChannel(AccountScoped, Base):
    """One gateway as seen by one account; paused on account-level errors (no money…)."""

    __tablename__ = "sms_channel"
    __table_args__ = (UniqueConstraint("account_id", "gateway"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gateway: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = enum_column(ChannelStatus, default=ChannelStatus.ACTIVE)
    reason: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: While paused, one message is let through as a probe after this moment.
    probe_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class NoteStatus(enum.StrEnum):
    PENDING = "pending"
    WRITING = "writing"
    WRITTEN = "written"
    SKIPPED = "skipped"  # nothing in amoCRM to attach it to


class SmsNote(AccountScoped, Base):
    """A note about a message for its deal or contact card; one per (message, kind)."""

    __tablename__ = "sms_note"
    __table_args__ = (
        UniqueConstraint("message_id", "kind"),
        Index("ix_sms_note_status", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("sms_message.id", ondelete="CASCADE"))
    #: ``sent``, ``final`` (delivered/failed), ``blocked`` (rejected or needs attention),
    #: ``verified`` (a phone confirmed).
    kind: Mapped[str] = mapped_column(String(16))
    entity_type: Mapped[str | None] = mapped_column(String(16))  # leads | contacts
    entity_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = enum_column(NoteStatus, default=NoteStatus.PENDING)
    amocrm_note_id: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SmsCallback(AccountScoped, Base):
    """A provider's delivery callback as received, one row per account it concerns.

    Kept apart from ``inbox_event``: those rows belong to the amoCRM mirror's job, which
    claims every pending row of an account.
    """

    __tablename__ = "sms_callback"
    __table_args__ = (Index("ix_sms_callback_status", "status", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gateway: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    method: Mapped[str] = mapped_column(String(8), default="POST")
    query: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[str] = mapped_column(String(255), default="")
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: pending | done | duplicate | rejected
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
