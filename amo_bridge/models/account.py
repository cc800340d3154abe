"""Accounts, their users, tokens, settings, sync watermarks and the audit log."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from amo_bridge.db import Base, UTCDateTime
from amo_bridge.models._base import AccountScoped, Role, Timestamps, enum_column, utcnow


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    #: amoCRM revoked our tokens (integration disabled): nothing is retried until reconnected.
    DISCONNECTED = "disconnected"
    #: amoCRM answered 403 with its HTML block page: the circuit is open, an admin is alerted.
    BLOCKED = "blocked"


class Account(Timestamps, Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    amocrm_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    subdomain: Mapped[str] = mapped_column(String(128), unique=True)
    #: API origin, e.g. https://broker.amocrm.ru, https://broker.kommo.com or the simulator's URL.
    base_url: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    #: SHA-256 of the secret in the webhook URL; the secret itself is never stored.
    webhook_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = enum_column(AccountStatus, default=AccountStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class User(AccountScoped, Timestamps, Base):
    """A mirror of an amoCRM user, plus the bridge's own profile and role."""

    __tablename__ = "app_user"
    __table_args__ = (UniqueConstraint("account_id", "amocrm_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    amocrm_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = enum_column(Role, default=Role.MANAGER)
    #: Granted in the bridge by an admin; amoCRM has no such right.
    is_finance: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    rights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    away_until: Mapped[date | None] = mapped_column(Date)
    backup_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    #: What a client sees in SMS: amoCRM's API gives no phone for a user.
    profile_name: Mapped[str | None] = mapped_column(String(255))
    profile_phone: Mapped[str | None] = mapped_column(String(32))
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OAuthToken(AccountScoped, Base):
    __tablename__ = "oauth_token"
    __table_args__ = (UniqueConstraint("account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``oauth`` (24 h access + single-use 3-month refresh) or ``long_lived`` (no refresh).
    kind: Mapped[str] = mapped_column(String(16), default="oauth")
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Bumped on every rotation, so a reader can tell that someone else refreshed first.
    version: Mapped[int] = mapped_column(Integer, default=1)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountSetting(AccountScoped, Base):
    """One JSON document per settings section (products, field_mapping, schedules, templates…)."""

    __tablename__ = "account_setting"
    __table_args__ = (UniqueConstraint("account_id", "section"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(BigInteger)


class SyncState(AccountScoped, Base):
    """Watermarks of the periodic reconcile (leads, contacts, events) and similar cursors."""

    __tablename__ = "sync_state"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(255), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AuditLog(AccountScoped, Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
