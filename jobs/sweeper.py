"""Re-enqueue work whose wake-up was lost.

The database is the source of truth for work in progress; Redis only carries wake-ups. A row
left in a pending or processing state for longer than ``SWEEPER_STALE_SECONDS`` (Redis was down
at enqueue time, a worker was killed mid-job) gets its job enqueued again. Jobs are idempotent,
so a row swept while its job is merely slow costs a no-op run, never a duplicate side effect.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from jobs.queue import enqueue_after_commit
from jobs.runtime import get_runtime

log = logging.getLogger(__name__)
BATCH = 500


@dataclass(frozen=True, slots=True)
class Sweepable:
    """A table of work items: rows in ``states`` older than the cutoff get ``job(row.id)``."""

    name: str
    model: Any  # a mapped class with id, status and updated_at columns
    states: tuple[str, ...]
    job: str


#: The work tables, by name. Each capability that owns a work table registers it here.
SWEEPABLES: dict[str, Sweepable] = {}
#: Modules whose import registers their work tables (``register(...)`` at module level).
WORK_MODULES: list[str] = ["jobs.inbox", "jobs.sms", "jobs.exports"]


def register(sweepable: Sweepable) -> Sweepable:
    SWEEPABLES[sweepable.name] = sweepable
    return sweepable


def sweep() -> dict[str, int]:
    """Periodic job: returns how many rows of each table were re-enqueued."""
    for module in WORK_MODULES:
        importlib.import_module(module)
    runtime = get_runtime()
    now = runtime.clock.now()
    cutoff = now - timedelta(seconds=runtime.settings.sweeper_stale_seconds)
    swept: dict[str, int] = {}
    for item in list(SWEEPABLES.values()):
        with runtime.session() as session:
            model = item.model
            ids = session.scalars(
                select(model.id)
                .where(model.status.in_(item.states), model.updated_at < cutoff)
                .order_by(model.updated_at)
                .limit(BATCH)
            ).all()
            if not ids:
                continue
            # Touch the rows so the next tick does not sweep them again before they run.
            session.execute(
                update(model).where(model.id.in_(ids)).values(updated_at=now),
                execution_options={"synchronize_session": False},
            )
            for row_id in ids:
                enqueue_after_commit(
                    session, item.job, row_id, job_id=f"sweep-{item.name}-{row_id}"
                )
            swept[item.name] = len(ids)
        log.info("sweeper re-enqueued %d %s rows", len(ids), item.name)
    return swept
WORK_MODULES.append("jobs.imports")  # issue 6: import runs and clients to create in amoCRM
WORK_MODULES.append("jobs.renewals")  # issue 5: renewal reservations and lost-deal follow-ups
