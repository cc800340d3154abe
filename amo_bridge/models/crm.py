"""The mirror of amoCRM: contacts (and companies), deals, stage history, tasks, our own writes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from amo_bridge.db import Base, Money, UTCDateTime
from amo_bridge.models._base import AccountScoped, Timestamps, enum_column, utcnow


class ContactKind(enum.StrEnum):
    CONTACT = "contact"
    COMPANY = "company"


class Contact(AccountScoped, Timestamps, Base):
    __tablename__ = "contact"
    __table_args__ = (UniqueConstraint("account_id", "amocrm_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Null until an imported client has been created in amoCRM.
    amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = enum_column(ContactKind, default=ContactKind.CONTACT)
    name: Mapped[str] = mapped_column(String(255), default="")
    first_name: Mapped[str | None] = mapped_column(String(128))
    last_name: Mapped[str | None] = mapped_column(String(128))
    middle_name: Mapped[str | None] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(128))
    timezone: Mapped[str | None] = mapped_column(String(64))
    responsible_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    inn: Mapped[str | None] = mapped_column(String(12))
    marketing_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phone_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_phone: Mapped[str | None] = mapped_column(String(20))
    custom_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    amocrm_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ContactPhone(AccountScoped, Base):
    """Normalised (E.164) phones, indexed for matching imports and callers to contacts."""

    __tablename__ = "contact_phone"
    __table_args__ = (
        UniqueConstraint("contact_id", "phone"),
        Index("ix_contact_phone_lookup", "account_id", "phone"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))
    #: amoCRM's enum code: MOB, WORK, WORKDD, HOME, FAX, OTHER.
    label: Mapped[str | None] = mapped_column(String(16))


class Deal(AccountScoped, Timestamps, Base):
    """A mirror of an amoCRM lead."""

    __tablename__ = "deal"
    __table_args__ = (
        UniqueConstraint("account_id", "amocrm_id"),
        Index("ix_deal_won", "account_id", "won_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    amocrm_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(255), default="")
    pipeline_id: Mapped[int | None] = mapped_column(BigInteger)
    status_id: Mapped[int | None] = mapped_column(BigInteger)
    price: Mapped[int] = mapped_column(Money, default=0)
    responsible_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    seller_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    issuer_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    won_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    loss_reason_id: Mapped[int | None] = mapped_column(BigInteger)
    loss_reason: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    custom_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: The bridge created this lead itself (a renewal): its stage moves trigger no SMS rule.
    created_by_bridge: Mapped[bool] = mapped_column(Boolean, default=False)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    amocrm_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    amocrm_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StageChange(AccountScoped, Base):
    """One ``lead_status_changed`` event from amoCRM's events list (each has its own id)."""

    __tablename__ = "stage_change"
    __table_args__ = (
        UniqueConstraint("account_id", "amocrm_event_id"),
        Index("ix_stage_change_deal", "deal_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"))
    amocrm_event_id: Mapped[str] = mapped_column(String(64))
    from_pipeline_id: Mapped[int | None] = mapped_column(BigInteger)
    from_status_id: Mapped[int | None] = mapped_column(BigInteger)
    to_pipeline_id: Mapped[int | None] = mapped_column(BigInteger)
    to_status_id: Mapped[int | None] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_by_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    #: The moving user was responsible for the deal at that moment (seller/issuer rules use it).
    responsible_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)


class Task(AccountScoped, Timestamps, Base):
    __tablename__ = "task"
    __table_args__ = (UniqueConstraint("account_id", "amocrm_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    amocrm_id: Mapped[int] = mapped_column(BigInteger)
    entity_type: Mapped[str | None] = mapped_column(String(16))
    entity_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    task_type_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text, default="")
    responsible_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    complete_till: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_text: Mapped[str | None] = mapped_column(Text)
    created_by_bridge: Mapped[bool] = mapped_column(Boolean, default=False)
    amocrm_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboundWrite(AccountScoped, Base):
    """Every write the bridge makes in amoCRM, so that its echo (a webhook) triggers no rule."""

    __tablename__ = "outbound_write"
    __table_args__ = (
        Index("ix_outbound_write_entity", "account_id", "entity_type", "entity_id", "written_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(64))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
