"""Reservations → renewal deals and tasks in amoCRM, exactly once.

Each round: claim reserved rows (and ``creating`` rows left by a crash or a lost answer) and
mark them ``creating`` — commit; look the stale ones up in amoCRM by their marker (a lead found
is adopted, never created twice); create the other leads in batches of ≤ 50 — record; create
their tasks in batches of ≤ 50 (a stale row's task is looked up on its lead first) — record.
No transaction is open while amoCRM is called (the write log and token store open their own).

A batch whose answer was lost leaves its rows ``creating``: the round stops and the error is
raised, so the job is retried and the next attempt starts with the lookup. Items amoCRM refused
(validation) become ``failed`` with the reason; an admin fixes the cause and retries them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from amo_bridge.amocrm.client import AmoClient
from amo_bridge.amocrm.errors import AmoError, OutcomeUnknown
from amo_bridge.amocrm.reads import chunked
from amo_bridge.amocrm.writes import BATCH_SIZE, BatchResult
from amo_bridge.clock import Clock, local_today
from amo_bridge.db import Database
from amo_bridge.models import Account, Contact, Policy, Renewal, RenewalStatus
from amo_bridge.renewals import payloads
from amo_bridge.renewals.config import load_config
from amo_bridge.renewals.payloads import Work, lead_request_id, task_request_id
from amo_bridge.renewals.remote import catalog_for
from amo_bridge.renewals.stamps import touch

#: A ``creating`` row touched more recently than this may be in flight in another worker.
IN_FLIGHT = timedelta(minutes=3)
#: Rows per claim: five chunks of 50 (a lead request and a task request each).
ROUND = 250


@dataclass
class Creation:
    leads: int = 0
    adopted: int = 0  # found by marker after an earlier attempt: not created again
    tasks: int = 0
    failed: int = 0
    unknown: int = 0  # answer lost: looked up on the next attempt

    def add(self, other: Creation) -> None:
        for name in ("leads", "adopted", "tasks", "failed", "unknown"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class CreationIncomplete(AmoError):
    """Some rows could not be settled this time; the job retries (after the lookup)."""

    retryable = True


def claim(session: Session, account_id: int, *, now: datetime, stale: Collection[int] = (),
          ids: Collection[int] | None = None, limit: int = ROUND,
          lock: bool = True) -> list[Renewal]:
    """Reserved rows whose client is in amoCRM, and ``creating`` rows no longer in flight."""
    reserved = and_(Renewal.status == RenewalStatus.RESERVED,
                    Policy.cancelled_on.is_(None), Policy.renewed_by_id.is_(None),
                    or_(Policy.contact_id.is_(None), Contact.amocrm_id.is_not(None)))
    in_flight_over = or_(Renewal.updated_at < now - IN_FLIGHT, Renewal.id.in_(list(stale) or [0]))
    query = (select(Renewal).join(Policy, Policy.id == Renewal.policy_id)
             .outerjoin(Contact, Contact.id == Policy.contact_id)
             .where(Renewal.account_id == account_id,
                    or_(reserved, and_(Renewal.status == RenewalStatus.CREATING, in_flight_over)))
             .order_by(Renewal.id).limit(limit))
    if ids is not None:
        query = query.where(Renewal.id.in_(list(ids) or [0]))
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Renewal)  # workers split the rows
    return list(session.scalars(query))


def marker_in(text: str, marker: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(marker)}(?![\w-])", text or "") is not None


def find_lead(client: AmoClient, work: Work) -> int | None:
    """The lead an earlier attempt created for this renewal, found by its marker."""
    extra: dict[str, object] = {"query": work.marker}
    if work.pipeline_id:
        extra["filter[pipeline_id]"] = work.pipeline_id
    for lead in client.leads(extra=extra, with_=()):
        values = [str(v.value) for f in lead.custom_fields for v in f.values]
        if marker_in(lead.name, work.marker) or work.marker in values:
            return lead.id
    return None


def create_renewals(database: Database, client: AmoClient, account_id: int, *, clock: Clock,
                    stale: Collection[int] = (), ids: Collection[int] | None = None,
                    max_rounds: int | None = None, concurrency: int = 3) -> Creation:
    """Create the account's pending renewals in amoCRM; returns what happened.

    ``stale``: ``creating`` rows to treat as abandoned whatever their age (the sweeper found
    them). Chunks of 50 (a lead request, then its task request) run on ``concurrency`` threads
    sharing the account's rate limit, and the next round is claimed while they run: amoCRM
    answers a batch in about the time between two request slots, so one thread alone would
    leave slots unused. Raises :class:`CreationIncomplete` (or the client's error) when rows are
    left to a retry; everything settled before that is recorded.
    """
    total, problems = Creation(), []
    rounds = 0
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="renewals") as pool:
        running: set[Future] = set()
        while not problems and (max_rounds is None or rounds < max_rounds):
            work = _claim_round(database, client, account_id, clock=clock, stale=stale, ids=ids)
            if not work:
                break
            rounds, stale = rounds + 1, ()
            running |= {pool.submit(_send, database, client, list(chunk), clock=clock)
                        for chunk in chunked(work, BATCH_SIZE)}
            running = _settle(running, total, problems, keep=concurrency)
        _settle(running, total, problems, keep=0)
    if problems:
        raise problems[0]
    return total


def _claim_round(database: Database, client: AmoClient, account_id: int, *, clock: Clock,
                 stale: Collection[int], ids: Collection[int] | None) -> list[Work]:
    """Claim one round, build its payloads, mark it ``creating`` — committed before sending."""
    with database.read_session() as session:
        if not claim(session, account_id, now=clock.now(), stale=stale, ids=ids, limit=1,
                     lock=False):
            return []  # nothing to do: no amoCRM read either (the sweeper's no-op wake-ups)
        account = session.get(Account, account_id)
        config = load_config(session, account_id)
    catalog = catalog_for(client)
    now = clock.now()
    with database.session() as session:
        rows = claim(session, account_id, now=now, stale=stale, ids=ids)
        work = payloads.build(session, account, rows, config=config, catalog=catalog,
                              today=local_today(clock, account.timezone)) if rows else []
        for row in rows:
            row.status = RenewalStatus.CREATING
            touch(row, now)
            row.attempts += 1
    return work


def _settle(running: set[Future], total: Creation, problems: list[BaseException], *,
            keep: int) -> set[Future]:
    """Collect finished chunks; wait until at most ``keep`` are still running."""
    while running:
        done = {f for f in running if f.done()}
        if not done and len(running) <= keep:
            break
        if not done:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            running.discard(future)
            if future.exception() is not None:
                problems.append(future.exception())
                continue
            result, problem = future.result()
            total.add(result)
            if problem is not None:
                problems.append(problem)
    return running


def _send(database: Database, client: AmoClient, work: list[Work], *, clock: Clock
          ) -> tuple[Creation, AmoError | None]:
    done = Creation()
    for item in work:
        if item.stale and item.lead_id is None:
            item.lead_id = find_lead(client, item)
            done.adopted += item.lead_id is not None
    new = [w for w in work if w.lead_id is None]
    result = client.create_leads([w.lead for w in new]) if new else BatchResult()
    by_rid = {lead_request_id(w.renewal_id): w for w in new}
    for rid, lead_id in result.ids.items():
        by_rid[rid].lead_id = lead_id
    done.leads += len(result.ids)
    settled = _record_leads(database, work, result, by_rid, clock=clock)
    done.failed += settled["failed"]
    done.unknown += settled["unknown"]
    problem = result.failure

    ready = [w for w in work if w.lead_id is not None and w.task_id is None
             and lead_request_id(w.renewal_id) not in result.errors]
    stale_leads = [w.lead_id for w in ready if w.stale]
    if stale_leads:
        found = {}
        for task in client.tasks(entity_type="leads", entity_ids=stale_leads):
            found.setdefault(task.entity_id, []).append(task)
        for item in ready:
            match = next((t for t in found.get(item.lead_id, ()) if t.text == item.task["text"]),
                         None)
            item.task_id = match.id if match else None
    todo = [w for w in ready if w.task_id is None]
    for item in todo:
        item.task["entity_id"] = item.lead_id
    tasks = client.create_tasks([w.task for w in todo]) if todo else BatchResult()
    by_task = {task_request_id(w.renewal_id): w for w in todo}
    for rid, task_id in tasks.ids.items():
        by_task[rid].task_id = task_id
    done.tasks += len(tasks.ids)
    settled = _record_tasks(database, ready, tasks, by_task, clock=clock)
    done.failed += settled["failed"]
    done.unknown += settled["unknown"]
    problem = problem or tasks.failure
    if problem is None and done.unknown:
        problem = CreationIncomplete(f"{done.unknown} renewal(s) with a lost answer: looked up "
                                     "by marker on a retry once they are no longer in flight")
    return done, problem


def _record_leads(database: Database, work: Sequence[Work], result: BatchResult,
                  by_rid: dict[str, Work], *, clock: Clock) -> dict[str, int]:
    now = clock.now()
    counts = {"failed": 0, "unknown": 0}
    unsent = set(result.unsent)
    with database.session() as session:
        rows = {r.id: r for r in session.scalars(
            select(Renewal).where(Renewal.id.in_([w.renewal_id for w in work])))}
        for item in work:
            row, rid = rows[item.renewal_id], lead_request_id(item.renewal_id)
            touch(row, now)
            if item.lead_id is not None:
                row.amocrm_lead_id, row.last_error = item.lead_id, None
            elif rid in result.errors:
                row.status = RenewalStatus.FAILED
                row.last_error = "; ".join(f"{e.path}: {e.detail}" for e in result.errors[rid])
                counts["failed"] += 1
            elif rid in unsent:
                # Never left (and a stale row was just looked up and not found): send as new.
                row.status = RenewalStatus.RESERVED
            else:
                # Sent, answer lost: stays ``creating``. amoCRM may still be working on the
                # request, so the lookup by marker waits until IN_FLIGHT has passed (the job's
                # later retries, the sweeper); an earlier lookup could miss the lead and send it
                # twice.
                touch(row, now)
                row.last_error = str(result.failure or "outcome unknown")[:2000]
                counts["unknown"] += 1
    return counts


def _record_tasks(database: Database, ready: Sequence[Work], result: BatchResult,
                  by_rid: dict[str, Work], *, clock: Clock) -> dict[str, int]:
    now = clock.now()
    counts = {"failed": 0, "unknown": 0}
    if not ready:
        return counts
    with database.session() as session:
        rows = {r.id: r for r in session.scalars(
            select(Renewal).where(Renewal.id.in_([w.renewal_id for w in ready])))}
        for item in ready:
            row, rid = rows[item.renewal_id], task_request_id(item.renewal_id)
            touch(row, now)
            if item.task_id is not None:
                row.amocrm_task_id, row.status, row.last_error = (
                    item.task_id, RenewalStatus.CREATED, None)
            elif rid in result.errors:
                row.status = RenewalStatus.FAILED
                row.last_error = "task: " + "; ".join(
                    f"{e.path}: {e.detail}" for e in result.errors[rid])
                counts["failed"] += 1
            elif rid in result.unknown:
                # Answer lost: the task is looked up on the lead once IN_FLIGHT has passed.
                touch(row, now)
                row.last_error = f"task: {result.failure}"[:2000]
                counts["unknown"] += 1
            else:
                # Never sent: stays ``creating`` with its lead and may be taken again at once
                # (a retry looks for the task on the lead before creating it).
                touch(row, now - IN_FLIGHT - timedelta(seconds=1))
                row.last_error = f"task: {result.failure or 'not sent'}"[:2000]
    return counts


def retry_failed(session: Session, account_id: int, *, now: datetime) -> int:
    """Failed renewals back to ``reserved`` (after an admin fixed the cause)."""
    rows = session.scalars(select(Renewal).where(Renewal.account_id == account_id,
                                                 Renewal.status == RenewalStatus.FAILED))
    count = 0
    for row in rows:
        row.status, row.last_error = RenewalStatus.RESERVED, None
        touch(row, now)
        count += 1
    return count


__all__ = ["Creation", "CreationIncomplete", "OutcomeUnknown", "claim", "create_renewals",
           "find_lead", "retry_failed"]
