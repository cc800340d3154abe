"""Export jobs: write a requested workbook; purge old files.

Thin, as every job: take the export id, open a unit of work, call the domain service, commit.
The export is marked running in its own unit of work first, so the widget can show progress and
a killed worker leaves a row the sweeper re-enqueues.
"""

from __future__ import annotations

from pathlib import Path

from amo_bridge.exports import service
from amo_bridge.models import ExportRecord, ExportStatus
from jobs import sweeper
from jobs.runtime import get_runtime

RUN_EXPORT = "jobs.exports.run_export"

sweeper.register(
    sweeper.Sweepable(
        name="export_record",
        model=ExportRecord,
        states=(ExportStatus.QUEUED, ExportStatus.RUNNING),
        job=RUN_EXPORT,
    )
)


def exports_dir() -> Path:
    return get_runtime().settings.instance_path / "exports"


def run_export(export_id: int) -> int | None:
    """Write export ``export_id``; returns its row count (None when there was nothing to do)."""
    runtime = get_runtime()
    with runtime.session() as session:
        if service.start_export(session, export_id, clock=runtime.clock) is None:
            return None
    try:
        with runtime.session() as session:
            record = service.complete_export(
                session, export_id, exports_dir=exports_dir(), clock=runtime.clock
            )
            return record.rows
    except Exception as exc:
        # Recorded for the widget, then re-raised so the queue's retry policy sees it.
        with runtime.session() as session:
            service.fail_export(
                session, export_id, error=f"{type(exc).__name__}: {exc}", clock=runtime.clock
            )
        raise


def purge_exports() -> int:
    """Periodic: delete export files older than a day (records stay, as the audit)."""
    runtime = get_runtime()
    with runtime.session() as session:
        return service.purge_exports(session, exports_dir=exports_dir(), clock=runtime.clock)
