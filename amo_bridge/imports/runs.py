"""Import runs for the widget: upload → queued → running (progress) → done / failed.

The state machine, written down once::

    queued ──► running ──► done
       ▲          │  └────► failed   (the file cannot be imported as it is: nothing to retry)
       └──────────┘ an unexpected error: back to queued for a retry, failed after MAX_ATTEMPTS
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from amo_bridge.i18n import t
from amo_bridge.imports.problems import ImportFileError, Issue
from amo_bridge.imports.report import ImportResult
from amo_bridge.imports.service import ImportOptions
from amo_bridge.models import ImportRun, ImportStatus

MAX_ATTEMPTS = 5
#: A running import touches its row after every batch; one silent this long has died.
STALE_AFTER = timedelta(minutes=5)
ALLOWED = {
    ImportStatus.QUEUED: {ImportStatus.RUNNING, ImportStatus.FAILED},
    ImportStatus.RUNNING: {ImportStatus.RUNNING, ImportStatus.DONE, ImportStatus.FAILED,
                           ImportStatus.QUEUED},
    ImportStatus.DONE: set(),
    ImportStatus.FAILED: set(),
}


class StateError(RuntimeError):
    pass


def _move(run: ImportRun, status: ImportStatus) -> None:
    if status not in ALLOWED[ImportStatus(run.status)]:
        raise StateError(f"import run {run.id}: {run.status} → {status} is not allowed")
    run.status = status


def create_run(session: Session, *, account_id: int, filename: str, content: bytes,
               kind: str, dry_run: bool, sheet: str | None, mapping: list[str], lang: str,
               requested_by: int | None, now: datetime) -> ImportRun:
    run = ImportRun(account_id=account_id, filename=filename[:255], content=content, kind=kind,
                    dry_run=dry_run, sheet=sheet, mapping=mapping, lang=lang,
                    requested_by_amocrm_id=requested_by, status=ImportStatus.QUEUED,
                    summary={}, report={}, created_at=now, updated_at=now)
    session.add(run)
    session.flush()
    return run


def running_for(session: Session, account_id: int, *, now: datetime) -> ImportRun | None:
    """A live (not stale) import of the account: one at a time keeps the counts readable."""
    return session.scalar(select(ImportRun).where(
        ImportRun.account_id == account_id,
        ImportRun.status.in_((ImportStatus.QUEUED, ImportStatus.RUNNING)),
        ImportRun.updated_at > now - STALE_AFTER).order_by(ImportRun.id).limit(1))


def begin(session: Session, run: ImportRun, *, now: datetime) -> bool:
    """Mark the run running; False when there is nothing to do (finished, or running
    elsewhere right now)."""
    if run.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return False
    if run.status == ImportStatus.RUNNING and run.updated_at > now - STALE_AFTER:
        return False
    _move(run, ImportStatus.RUNNING)
    run.attempts += 1
    run.started_at = now
    run.rows_done = 0
    run.updated_at = now
    return True


def options_of(run: ImportRun) -> ImportOptions:
    return ImportOptions(kind=run.kind, dry_run=run.dry_run, sheet=run.sheet,
                         mapping=tuple(run.mapping or ()), lang=run.lang,
                         entered_by=run.requested_by_amocrm_id, run_id=run.id)


def record_progress(session: Session, run_id: int, done: int, total: int | None, *,
                    now: datetime) -> None:
    session.execute(update(ImportRun).where(ImportRun.id == run_id).values(
        rows_done=done, rows_total=total, updated_at=now))


def finish(run: ImportRun, result: ImportResult, rejected_csv: bytes | None, *,
           now: datetime) -> None:
    _move(run, ImportStatus.DONE)
    run.summary = result.summary.to_json()
    run.report = result.to_json(run.lang)
    run.rejected_csv = rejected_csv if result.summary.rejected else None
    run.content = None  # the client base does not linger in the database
    run.rows_done = run.rows_total or run.rows_done
    run.finished_at = now
    run.error = None


def fail(run: ImportRun, exc: ImportFileError, *, now: datetime) -> None:
    _move(run, ImportStatus.FAILED)
    run.error = exc.message(run.lang)
    run.report = {"error": {"code": exc.key, "params": dict(exc.params)}}
    run.content = None
    run.finished_at = now


def interrupted(run: ImportRun, reason: str, *, now: datetime) -> None:
    """An unexpected error: retried (queued) until MAX_ATTEMPTS, then failed."""
    run.error = reason[:2000]
    if run.attempts >= MAX_ATTEMPTS:
        _move(run, ImportStatus.FAILED)
        run.content = None
        run.finished_at = now
    elif run.status == ImportStatus.RUNNING:
        _move(run, ImportStatus.QUEUED)


def run_view(run: ImportRun, lang: str) -> dict[str, Any]:
    """The widget's view of a run (progress while running, the report when done)."""
    report = dict(run.report or {})
    issues = [Issue.from_json(i) for i in report.pop("issues", [])]
    error = report.pop("error", None)
    message = run.error
    if error is not None:
        message = ImportFileError(error["code"], **error.get("params", {})).message(lang)
    total = run.rows_total
    return {
        "id": run.id, "status": run.status, "filename": run.filename, "kind": run.kind,
        "dry_run": run.dry_run, "attempts": run.attempts,
        "progress": {"rows_done": run.rows_done, "rows_total": total,
                     "percent": min(100, round(100 * run.rows_done / total)) if total else None},
        "summary": run.summary or None, "report": report or None,
        "issues": [{**i.to_json(lang), "text": i.render(lang)} for i in issues],
        "error": message,
        "status_text": t(f"import.status.{run.status}", lang),
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
