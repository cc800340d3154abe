"""Jobs of the importer: run an uploaded import; create its new clients in amoCRM.

``run_import(run_id)`` reads the uploaded file from its row and imports it, committing after
every batch with the progress the widget polls. The import never waits for amoCRM: when it has
created clients locally it enqueues ``create_contacts(account_id)`` after its final commit,
which sends them in batches of ≤ 50 through the account's client (the shared rate limit), and
the imported policies are linked to the amoCRM clients as their ids come back.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from amo_bridge.amocrm.writes import BatchResult
from amo_bridge.connections import client_for_account
from amo_bridge.imports import import_policies, push, runs
from amo_bridge.imports.problems import ImportFileError
from amo_bridge.models import (
    Account,
    AccountStatus,
    ContactPushStatus,
    ImportContact,
    ImportRun,
    ImportStatus,
    OAuthToken,
)
from jobs.queue import enqueue_after_commit
from jobs.runtime import get_runtime
from jobs.sweeper import Sweepable, register

log = logging.getLogger(__name__)

#: A contact sent this long ago with no answer recorded is looked up and adopted, or resent.
IN_FLIGHT = timedelta(minutes=3)
#: 100 requests of 50 take ~20 s at 5 requests/s: well inside the job timeout.
BATCHES_PER_RUN = 100

register(Sweepable("import_runs", ImportRun, (ImportStatus.QUEUED, ImportStatus.RUNNING),
                   "jobs.imports.run_import"))
register(Sweepable("import_contacts", ImportContact,
                   (ContactPushStatus.PENDING, ContactPushStatus.CREATING),
                   "jobs.imports.create_contacts_for"))


def run_import(run_id: int) -> str:
    runtime = get_runtime()
    clock = runtime.clock
    with runtime.session() as session:
        run = session.get(ImportRun, run_id)
        if run is None or not runs.begin(session, run, now=clock.now()):
            return "nothing to do"
        account_id, filename, content = run.account_id, run.filename, run.content or b""
        options = runs.options_of(run)
    session = runtime.db.sessionmaker()
    try:
        def after_batch(done: int, total: int | None) -> None:
            runs.record_progress(session, run_id, done, total, now=clock.now())
            session.commit()

        rejected = io.StringIO()
        result = import_policies(session, account_id=account_id, source=content,
                                 filename=filename, options=options, clock=clock,
                                 after_batch=after_batch, rejected_out=rejected)
        run = session.get(ImportRun, run_id)
        runs.finish(run, result, rejected.getvalue().encode("utf-8"), now=clock.now())
        if result.new_contact_ids:
            enqueue_after_commit(session, "jobs.imports.create_contacts", account_id)
        session.commit()
        return run.status
    except ImportFileError as exc:
        session.rollback()
        run = session.get(ImportRun, run_id)
        runs.fail(run, exc, now=clock.now())
        session.commit()
        return run.status
    except Exception as exc:
        session.rollback()
        with runtime.session() as other:
            runs.interrupted(other.get(ImportRun, run_id), f"{type(exc).__name__}: {exc}",
                             now=clock.now())
        raise  # the queue retries; the import is idempotent
    finally:
        session.close()


def create_contacts_for(import_contact_id: int) -> dict[str, int]:
    """The sweeper's entry: push the account of a stuck contact."""
    runtime = get_runtime()
    with runtime.session() as session:
        item = session.get(ImportContact, import_contact_id)
        account_id = item.account_id if item is not None else None
    return create_contacts(account_id) if account_id is not None else {}


def create_contacts(account_id: int) -> dict[str, int]:
    """Create the account's imported clients in amoCRM, 50 per request, until none is left."""
    runtime = get_runtime()
    with runtime.session() as session:
        account = session.get(Account, account_id)
        connected = session.scalar(select(OAuthToken.id).where(
            OAuthToken.account_id == account_id, OAuthToken.revoked_at.is_(None)))
    if account is None or account.status != AccountStatus.ACTIVE or connected is None:
        return {"waiting": 1}  # not connected (yet): the sweeper tries again later
    client = client_for_account(runtime.db, account, runtime.settings, redis=runtime.redis,
                                clock=runtime.clock)
    totals: Counter[str] = Counter()
    for _ in range(BATCHES_PER_RUN):
        with runtime.session() as session:
            items = push.claim(session, account_id, stale_before=runtime.clock.now() - IN_FLIGHT)
            if not items:
                break
            ids = [item.id for item in items]
            lookups = {item.id: push.lookup_query(session, item) for item in items
                       if item.status == ContactPushStatus.CREATING}
            payloads = dict(zip(ids, push.payloads(session, items), strict=True))
            push.mark_creating(items, now=runtime.clock.now())
        adopted: dict[int, int] = {}
        for item_id, (query, phones, key) in lookups.items():
            if query:
                for found in client.contacts(query=query, with_=()):
                    if push.is_same(found, phones, key):
                        adopted[item_id] = found.id
                        break
        to_send = [payloads[i] for i in ids if i not in adopted]
        result = client.create_contacts(to_send) if to_send else BatchResult()
        with runtime.session() as session:
            items = list(session.scalars(select(ImportContact).where(
                ImportContact.id.in_(ids)).order_by(ImportContact.id)))
            for item in items:
                if item.id in adopted:
                    push.link(session, item, adopted[item.id])
                    totals["adopted"] += 1
            counts = push.settle(session, [i for i in items if i.id not in adopted],
                                 ids=result.ids, errors=result.errors, unsent=result.unsent)
            totals.update(counts)
        if result.failure is not None:
            log.warning("creating imported contacts of account %s stopped: %s", account_id,
                        result.failure)
            raise result.failure  # what was created is saved; the rest is retried
        if not (counts["created"] or counts["failed"] or adopted):
            break  # nothing moved: leave the rest to the retry and the sweeper
    else:
        # A big base: hand over to a fresh job rather than run into the job timeout.
        with runtime.session() as session:
            enqueue_after_commit(session, "jobs.imports.create_contacts", account_id)
        totals["continued"] += 1
    return dict(totals)
