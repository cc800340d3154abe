"""Imports of a broker's existing base: the run the widget follows, and the clients to create.

The uploaded file is kept in the database (not on a local disk) because the web process that
receives it and the worker that reads it may run on different machines; it is dropped once the
run has finished.
"""

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
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from amo_bridge.db import Base, UTCDateTime
from amo_bridge.models._base import AccountScoped, Timestamps, enum_column


class ImportStatus(enum.StrEnum):
    QUEUED = "queued"  # uploaded; the job has not started (or will be retried)
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the file cannot be imported as it is (see ``error``)


class ImportRun(AccountScoped, Timestamps, Base):
    __tablename__ = "import_run"
    __table_args__ = (Index("ix_import_run_status", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16), default="ours")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    sheet: Mapped[str | None] = mapped_column(String(255))
    #: ``--map`` overrides: ["Header=field", …].
    mapping: Mapped[list[str]] = mapped_column(JSON, default=list)
    lang: Mapped[str] = mapped_column(String(8), default="ru")
    status: Mapped[str] = enum_column(ImportStatus, default=ImportStatus.QUEUED)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    #: read, imported, updated, unchanged, rejected, empty, contacts…
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Format, columns and the issues (capped; the rejected CSV has every rejected row).
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rejected_csv: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    requested_by_amocrm_id: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ContactPushStatus(enum.StrEnum):
    PENDING = "pending"  # to be created in amoCRM
    CREATING = "creating"  # sent; if the answer was lost, look it up before sending again
    CREATED = "created"
    FAILED = "failed"  # amoCRM refused it (validation); ``last_error`` says why


class ImportContact(AccountScoped, Timestamps, Base):
    """A client an import created locally, to be created in amoCRM by a background job."""

    __tablename__ = "import_contact"
    __table_args__ = (
        UniqueConstraint("contact_id"),
        Index("ix_import_contact_status", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_run.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = enum_column(ContactPushStatus, default=ContactPushStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
