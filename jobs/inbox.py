"""Jobs of the mirror: process stored webhooks, reconcile, run the reactions.

``process_inbox(id)`` claims its row *and* the other pending rows of the same account (up to
:data:`BATCH`), so a burst of webhooks costs one API re-read per 250 leads rather than one per
hook. The mirror and the rows' new status commit together; the changes it reports are stored on
the row until every reaction has run, so a crash in between loses nothing and a retry runs only
what is left.
"""

from __future__ import annotations

import importlib
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import func, select, update

from amo_bridge.amocrm.errors import AmoError, RateLimited
from amo_bridge.amocrm.webhook import parse_webhook
from amo_bridge.amocrm.webhook_types import WebhookParseError
from amo_bridge.connections import client_for_account
from amo_bridge.ledger.changes import dump_change, load_change, reactions_for
from amo_bridge.ledger.event_reads import EventReads
from amo_bridge.ledger.sync import (
    Wanted,
    apply,
    cached_status_names,
    fetch,
    fetch_updated,
    finish_reconcile,
    reconcile_wanted,
)
from amo_bridge.models import Account, AccountStatus, InboxEvent, InboxStatus
from jobs.queue import JobCall, enqueue_after_commit
from jobs.runtime import Runtime, get_runtime
from jobs.sweeper import Sweepable, register

log = logging.getLogger(__name__)

BATCH = 500
PROCESS_JOB = "jobs.inbox.process_inbox"
NOTHING = "nothing to do"
#: amoCRM redelivers a failed hook after 5 and 15 minutes, then 15 minutes and 1 hour: a
#: byte-identical body inside this horizon may be a redelivery (see :func:`_claim`).
REDELIVERY_HORIZON = timedelta(hours=2)
#: Modules whose import registers reactions (``@reacts_to``). Each capability appends its own.
REACTION_MODULES: list[str] = ["jobs.sms"]
REACTION_MODULES.append("jobs.renewals")  # issue 5: outcomes, client binding, follow-ups
REACTION_MODULES.append("amo_bridge.ledger.money_stage")  # issue 8: cancelled stage
REACTION_MODULES.append("jobs.policy_lines")  # issue 9: the deal panel's lines booked when won

register(Sweepable("inbox", InboxEvent, (InboxStatus.PENDING, InboxStatus.PROCESSING),
                   "jobs.inbox.resume_inbox"))


def resume_inbox(inbox_id: int) -> str:
    """The sweeper's entry: this row looked stuck, so its claim is no longer taken to be live."""
    return process_inbox(inbox_id, takeover=True)


def process_inbox(inbox_id: int, woken_for: int | None = None, *, takeover: bool = False) -> str:
    """Mirror ``inbox_id`` and the account's other pending rows.

    ``woken_for``: the account whose wake-up (``webhooks.amocrm``: one waiting job per account)
    enqueued this job. Such a job stands for *every* row the account stored meanwhile, so it
    does not stop at its own row: if an earlier batch took that one, it takes the rows behind
    it, and while rows are left (more than a batch, or rows behind a reactions-only run) it
    wakes the next job. A failure does not: the job's retry does.
    """
    runtime = get_runtime()
    if woken_for is None:
        return _process(runtime, inbox_id, takeover=takeover)
    _clear_wake_flag(runtime, woken_for)
    outcome = _process(runtime, inbox_id, takeover=takeover)
    if outcome == NOTHING and (oldest := _oldest_pending(runtime, woken_for)) is not None:
        outcome = _process(runtime, oldest, takeover=False)
    if not outcome.startswith("failed") and (
            oldest := _oldest_pending(runtime, woken_for)) is not None:
        runtime.queue.enqueue_once(JobCall(PROCESS_JOB, (oldest, woken_for)),
                                   key=wake_key(woken_for))
    return outcome


def wake_key(account_id: int) -> str:
    """The wake-up flag of an account's inbox (``JobQueue.enqueue_once``)."""
    return f"inbox:{account_id}"


def _oldest_pending(runtime: Runtime, account_id: int) -> int | None:
    with runtime.db.read_session() as session:
        return session.scalar(
            select(func.min(InboxEvent.id)).where(InboxEvent.account_id == account_id,
                                                  InboxEvent.status == InboxStatus.PENDING))


def _process(runtime: Runtime, inbox_id: int, *, takeover: bool) -> str:
    claimed, resume = _claim(runtime, inbox_id, takeover=takeover)
    if not claimed:
        return NOTHING
    if resume:
        return _run_reactions(runtime, inbox_id)
    try:
        _mirror_rows(runtime, claimed)
    except RateLimited as exc:
        _release(runtime, claimed, f"rate limited: retry in {exc.retry_after}s")
        raise
    except AmoError as exc:
        _release(runtime, claimed, f"{type(exc).__name__}: {exc}")
        if not exc.retryable:
            return f"failed: {exc}"
        raise
    except Exception as exc:
        # A lost race (unique key, deadlock) or a database hiccup: hand the claim back, or the
        # retry would find the rows claimed and leave them to the sweeper.
        _release(runtime, claimed, f"{type(exc).__name__}: {exc}")
        raise
    return _run_reactions(runtime, claimed[0])


def _clear_wake_flag(runtime: Runtime, account_id: int) -> None:
    # Before the claim: a row committed after this moment wakes another job, a row committed
    # before it is claimed below. Either way no row waits for the sweeper.
    try:
        runtime.queue.release(wake_key(account_id))
    except RedisError as exc:
        log.warning("could not clear the wake-up flag of account %s (%s); it expires",
                    account_id, exc)


def _claim(runtime: Runtime, inbox_id: int, *, takeover: bool) -> tuple[list[int], bool]:
    """Claim this row and other pending rows of its account; returns their ids and whether
    only the row's leftover reactions are to run.

    A row already claimed (``processing``) belongs to the job that claimed it — a wake-up for a
    row in another job's batch does nothing; only the sweeper's entry (``takeover``, once the row
    is stale) takes a claim over. The row lock (PostgreSQL; SQLite serialises writers anyway)
    makes the check and the claim one step, so two wake-ups of a row never both run it.

    True redeliveries are absorbed here: a row whose body is byte-identical to an earlier row of
    the batch, stored within :data:`REDELIVERY_HORIZON` of it, is marked ``duplicate`` of it —
    both were waiting, so the original's run reads the latest state for both. An identical body
    stored after its original's run began is not in the batch and is processed: it may be a new
    business event (the short-form hooks of A→B, B→A, A→B are byte-identical).
    """
    with runtime.session() as session:
        row = session.get(InboxEvent, inbox_id, with_for_update=True)
        claimable = (InboxStatus.PENDING, InboxStatus.PROCESSING) if takeover else (
            InboxStatus.PENDING,)
        if row is None or row.status not in claimable:
            return [], False
        now = runtime.clock.now()
        if row.pending_reactions:
            row.status, row.updated_at = InboxStatus.PROCESSING, now
            return [inbox_id], True
        query = (
            select(InboxEvent.id)
            .where(InboxEvent.account_id == row.account_id,
                   InboxEvent.status == InboxStatus.PENDING, InboxEvent.id != inbox_id,
                   InboxEvent.pending_reactions.is_(None))  # leftover reactions: own wake-up
            .order_by(InboxEvent.id)
            .limit(BATCH - 1)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = [inbox_id, *session.scalars(query)]
        ids = _absorb_redeliveries(session, ids, now=now)
        session.execute(
            update(InboxEvent).where(InboxEvent.id.in_(ids))
            .values(status=InboxStatus.PROCESSING, updated_at=now,
                    attempts=InboxEvent.attempts + 1),
            execution_options={"synchronize_session": False},
        )
        return ids, False


def _absorb_redeliveries(session: Any, ids: list[int], *, now: datetime) -> list[int]:
    """Mark the batch's redeliveries ``duplicate`` of their originals; the ids left to run."""
    originals: dict[str, tuple[int, datetime]] = {}
    duplicates: dict[int, list[int]] = {}
    for row_id, digest, received_at in session.execute(
            select(InboxEvent.id, InboxEvent.body_sha256, InboxEvent.received_at)
            .where(InboxEvent.id.in_(ids)).order_by(InboxEvent.id)):
        original = originals.get(digest)
        if original is not None and received_at - original[1] <= REDELIVERY_HORIZON:
            duplicates.setdefault(original[0], []).append(row_id)
        else:
            originals[digest] = (row_id, received_at)
    for original_id, copies in duplicates.items():
        session.execute(
            update(InboxEvent).where(InboxEvent.id.in_(copies))
            .values(status=InboxStatus.DUPLICATE, duplicate_of_id=original_id, updated_at=now),
            execution_options={"synchronize_session": False},
        )
    absorbed = {row_id for copies in duplicates.values() for row_id in copies}
    return [row_id for row_id in ids if row_id not in absorbed] if absorbed else ids


def _release(runtime: Runtime, ids: list[int], reason: str) -> None:
    with runtime.session() as session:
        session.execute(
            update(InboxEvent).where(InboxEvent.id.in_(ids))
            .values(status=InboxStatus.PENDING, reason=reason[:2000]),
            execution_options={"synchronize_session": False},
        )


def _mirror_rows(runtime: Runtime, ids: list[int]) -> None:
    """Read and parse (read-only), re-read from amoCRM (no transaction), then write once."""
    with runtime.db.read_session() as session:
        rows = list(session.scalars(select(InboxEvent).where(InboxEvent.id.in_(ids))
                                    .order_by(InboxEvent.id)))
        account = session.get(Account, rows[0].account_id)
        names = cached_status_names(session, account, clock=runtime.clock)
        # The newest hook these rows stand for (absorbed redeliveries included): an earlier
        # events read that began after it can serve this batch (ledger.event_reads).
        stored_before = max(filter(None, [*(r.received_at for r in rows), session.scalar(
            select(func.max(InboxEvent.received_at)).where(
                InboxEvent.duplicate_of_id.in_(ids)))]))
    wanted = Wanted()
    rejected: dict[int, str] = {}
    parsed_ids: list[int] = []
    for row in rows:
        try:
            parsed = parse_webhook(row.body, row.content_type, timezone=account.timezone,
                                   max_bytes=runtime.settings.webhook_max_body_bytes)
        except WebhookParseError as exc:
            rejected[row.id] = exc.reason
            continue
        if parsed.account_id not in (None, account.amocrm_id):
            rejected[row.id] = f"body names account {parsed.account_id}"
            continue
        wanted.add(parsed.events)
        parsed_ids.append(row.id)

    fetched = None
    if parsed_ids and account.status == AccountStatus.ACTIVE:
        client = client_for_account(runtime.db, account, runtime.settings, redis=runtime.redis,
                                    clock=runtime.clock)
        fetched = fetch(client, wanted, status_names=names,
                        reads=runtime.extras.setdefault("event_reads", EventReads()),
                        now=runtime.clock.now(), stored_before=stored_before,
                        settle=time.sleep)  # a wait on amoCRM's list, not business time

    now = runtime.clock.now()
    with runtime.session() as session:
        account = session.get(Account, account.id)
        changes: list[dict[str, Any]] = []
        if fetched is not None:
            result = apply(session, account, wanted, fetched, clock=runtime.clock)
            changes = [dump_change(c) for c in result.changes if not c.by_bridge]
        for row in session.scalars(select(InboxEvent).where(InboxEvent.id.in_(ids))):
            row.processed_at = now
            if row.id in rejected:
                row.status, row.reason = InboxStatus.REJECTED, rejected[row.id]
            else:
                row.status = InboxStatus.DONE
                if fetched is None:
                    row.reason = f"account is {account.status}: stored, not mirrored"
            if row.id == ids[0] and changes:
                row.status = InboxStatus.PROCESSING
                row.pending_reactions = [{"change": c, "done": []} for c in changes]


def _run_reactions(runtime: Runtime, inbox_id: int) -> str:
    _import_reaction_modules()
    with runtime.session() as session:
        row = session.get(InboxEvent, inbox_id)
        pending = list(row.pending_reactions or []) if row else []
    failures = 0
    for entry in pending:
        change = load_change(entry["change"])
        for name, reaction in reactions_for(change):
            if name in entry["done"]:
                continue
            try:
                with runtime.session() as session:
                    for call in reaction(session, change) or ():
                        _defer(session, call)
                entry["done"].append(name)
            except Exception:  # noqa: BLE001 - recorded below; the job is retried for the rest
                failures += 1
                log.exception("reaction %s failed for %s", name, entry["change"]["type"])
    with runtime.session() as session:
        row = session.get(InboxEvent, inbox_id)
        if failures:
            row.pending_reactions = pending
            row.reason = f"{failures} reaction(s) failed; will retry"
            row.status = InboxStatus.PENDING  # released: the retry claims what is left
        else:
            row.pending_reactions = None
            if row.status == InboxStatus.PROCESSING:
                row.status = InboxStatus.DONE
    if failures:
        raise RuntimeError(f"{failures} reaction(s) failed for inbox row {inbox_id}")
    return f"{len(pending)} change(s) handled"


def _defer(session: Any, call: JobCall) -> None:
    enqueue_after_commit(session, call.func, *call.args, job_id=call.job_id)


def _import_reaction_modules() -> None:
    for module in REACTION_MODULES:
        importlib.import_module(module)


# --- reconcile -----------------------------------------------------------------------------


def reconcile_all() -> int:
    """Periodic: one reconcile job per active account."""
    runtime = get_runtime()
    with runtime.session() as session:
        ids = list(session.scalars(select(Account.id).where(
            Account.status == AccountStatus.ACTIVE)))
        for account_id in ids:
            enqueue_after_commit(session, "jobs.inbox.reconcile_account", account_id)
    return len(ids)


def reconcile_account(account_id: int) -> str:
    """Poll what changed since the watermark; changes go through the same reactions."""
    runtime = get_runtime()
    with runtime.db.read_session() as session:
        account = session.get(Account, account_id)
        if account is None or account.status != AccountStatus.ACTIVE:
            return "skipped"
        wanted, until = reconcile_wanted(session, account, clock=runtime.clock)
        names = cached_status_names(session, account, clock=runtime.clock)
    client = client_for_account(runtime.db, account, runtime.settings, redis=runtime.redis,
                                clock=runtime.clock)
    fetched = fetch(client, fetch_updated(client, wanted), status_names=names)
    with runtime.session() as session:
        account = session.get(Account, account_id)
        result = apply(session, account, wanted, fetched, clock=runtime.clock)
        finish_reconcile(session, account, until)
        changes = [dump_change(c) for c in result.changes if not c.by_bridge]
        if not changes:
            return "no changes"
        now = runtime.clock.now()
        row = InboxEvent(account_id=account.id, source="reconcile", received_at=now, body=b"",
                         body_sha256="reconcile", status=InboxStatus.PROCESSING, updated_at=now,
                         pending_reactions=[{"change": c, "done": []} for c in changes])
        session.add(row)
        session.flush()
        row_id = row.id
    return _run_reactions(runtime, row_id)
