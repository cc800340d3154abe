"""Export requests: who may export, the audit of every attempt, running and expiring the files.

Managers may never export the client base (seed 002, part 4): a request from someone who is
neither admin nor finance is refused — and the refusal is recorded like any other request.
Every request, refused or not, is an :class:`ExportRecord` (who, when, filters, rows, status)
and an ``audit_log`` entry; so is every download.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.clock import Clock
from amo_bridge.exports.columns import SHEET_NAMES
from amo_bridge.exports.workbooks import write_workbook
from amo_bridge.models import AuditLog, ExportKind, ExportRecord, ExportStatus, Role
from amo_bridge.reports.common import ReportFilter
from amo_bridge.reports.period import Period

EXPORT_ROLES = frozenset({Role.ADMIN.value, Role.FINANCE.value})
#: Channels run by someone with shell or operator access; the widget is checked by role.
TRUSTED_CHANNELS = frozenset({"cli", "demo"})
KEEP_FILES = timedelta(hours=24)
#: Longer than the job timeout (jobs/queue.py): a run older than this died with its worker.
STALE_RUN = timedelta(minutes=15)
FILE_STEMS = {"ledger": "ledger", "payroll": "payroll", "plan": "plan", "retention": "retention"}


@dataclass(frozen=True, slots=True)
class Requester:
    channel: str  # widget, cli, demo
    amocrm_user_id: int | None = None
    roles: frozenset[str] = frozenset()

    @property
    def may_export(self) -> bool:
        return self.channel in TRUSTED_CHANNELS or bool(self.roles & EXPORT_ROLES)


def filter_to_json(flt: ReportFilter, lang: str) -> dict[str, Any]:
    return {
        "from": flt.period.start.isoformat(),
        "to": flt.period.last_day.isoformat(),
        "manager": flt.manager,
        "product": flt.product,
        "insurer": flt.insurer,
        "lang": lang,
    }


def filter_from_json(data: dict[str, Any]) -> tuple[ReportFilter, str]:
    period = Period.parse(f"{data['from']}..{data['to']}")
    flt = ReportFilter(
        period=period,
        manager=data.get("manager"),
        product=data.get("product"),
        insurer=data.get("insurer"),
    )
    return flt, data.get("lang") or "ru"


def _audit(
    session: Session,
    record: ExportRecord,
    action: str,
    at: datetime,
    actor: int | None,
    **details: Any,
) -> None:
    session.add(
        AuditLog(
            account_id=record.account_id,
            at=at,
            actor_amocrm_id=actor,
            action=action,
            target=f"export:{record.id}",
            details={
                "kind": record.kind,
                "channel": record.channel,
                "filters": record.filters,
                **details,
            },
        )
    )


def request_export(
    session: Session,
    *,
    account_id: int,
    requester: Requester,
    kind: str,
    flt: ReportFilter,
    lang: str,
    clock: Clock,
) -> ExportRecord:
    """Record a request; queued when allowed, refused (and kept as the audit) when not."""
    allowed = requester.may_export
    record = ExportRecord(
        account_id=account_id,
        kind=ExportKind(kind),
        channel=requester.channel,
        actor_amocrm_id=requester.amocrm_user_id,
        actor_roles=",".join(sorted(requester.roles)),
        filters=filter_to_json(flt, lang),
        requested_at=clock.now(),
        status=ExportStatus.QUEUED if allowed else ExportStatus.REFUSED,
    )
    session.add(record)
    session.flush()
    _audit(
        session,
        record,
        "export.requested" if allowed else "export.refused",
        clock.now(),
        requester.amocrm_user_id,
    )
    return record


def start_export(session: Session, record_id: int, *, clock: Clock) -> ExportRecord | None:
    """Mark a queued (or failed, on retry) export as running; None if there is nothing to run."""
    record = session.get(ExportRecord, record_id)
    if record is None or record.status not in (
        ExportStatus.QUEUED,
        ExportStatus.FAILED,
        ExportStatus.RUNNING,
    ):
        return None
    if (
        record.status == ExportStatus.RUNNING
        and record.started_at is not None
        and clock.now() - record.started_at < STALE_RUN
    ):
        return None  # another worker is on it (the sweeper re-enqueued a slow export)
    record.status = ExportStatus.RUNNING
    record.started_at = clock.now()
    record.attempts += 1
    record.error = None
    return record


def download_name(record: ExportRecord) -> str:
    lang = "en" if record.filters.get("lang") == "en" else "ru"
    sheet = "payroll" if record.kind == ExportKind.PAYROLL else record.kind
    flt, _ = filter_from_json(record.filters)
    return f"{SHEET_NAMES[sheet][lang]}_{flt.period.label()}.xlsx".replace("..", "—")


def complete_export(
    session: Session, record_id: int, *, exports_dir: Path, clock: Clock, out: Path | None = None
) -> ExportRecord:
    """Write the workbook of a running export; the record says where and how many rows.

    ``out`` writes to a path of the caller's choosing (the CLI); otherwise a fresh file under
    ``exports_dir/<account id>/`` that only a signed link serves.
    """
    record = session.get(ExportRecord, record_id)
    if record is None:
        raise LookupError(f"no export {record_id}")
    flt, lang = filter_from_json(record.filters)
    if out is None:
        folder = exports_dir / str(record.account_id)
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"{record.id}-{FILE_STEMS[record.kind]}-{secrets.token_hex(8)}.xlsx"
        stored = str(out.relative_to(exports_dir))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        stored = str(out.resolve())
    try:
        rows = write_workbook(
            session,
            account_id=record.account_id,
            kind=record.kind,
            flt=flt,
            lang=lang,
            path=out,
            made_at=clock.now(),
        )
    except BaseException:
        out.unlink(missing_ok=True)  # never leave half a workbook behind
        raise
    if out.is_relative_to(exports_dir):
        out.chmod(0o600)  # client data: readable by the service's own user only
    record.status = ExportStatus.DONE
    record.rows = rows
    record.file_path = stored
    record.file_name = download_name(record)
    record.size_bytes = out.stat().st_size
    record.finished_at = clock.now()
    _audit(session, record, "export.finished", clock.now(), record.actor_amocrm_id, rows=rows)
    return record


def fail_export(session: Session, record_id: int, *, error: str, clock: Clock) -> None:
    record = session.get(ExportRecord, record_id)
    if record is not None and record.status != ExportStatus.DONE:
        record.status = ExportStatus.FAILED
        record.error = error[:2000]
        record.finished_at = clock.now()


def export_file(record: ExportRecord, exports_dir: Path) -> Path | None:
    if record.status != ExportStatus.DONE or not record.file_path:
        return None
    path = Path(record.file_path)
    path = path if path.is_absolute() else exports_dir / path
    return path if path.is_file() else None


def record_download(
    session: Session, record: ExportRecord, *, clock: Clock, remote: str | None = None
) -> None:
    record.downloads += 1
    record.last_download_at = clock.now()
    _audit(session, record, "export.downloaded", clock.now(), None, remote=remote)


def purge_exports(
    session: Session, *, exports_dir: Path, clock: Clock, keep: timedelta = KEEP_FILES
) -> int:
    """Delete export files older than ``keep``; their records stay (status ``expired``)."""
    cutoff = clock.now() - keep
    stale = session.scalars(
        select(ExportRecord).where(
            ExportRecord.status == ExportStatus.DONE,
            ExportRecord.finished_at < cutoff,
            ExportRecord.channel != "cli",
        )
    ).all()
    for record in stale:
        path = export_file(record, exports_dir)
        if path is not None:
            path.unlink(missing_ok=True)
        record.status = ExportStatus.EXPIRED
        record.file_path = None
    return len(stale)
