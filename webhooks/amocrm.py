"""The amoCRM doors: account webhooks and the Digital Pipeline hook.

Each door only verifies, stores, enqueues after commit and answers (CONVENTIONS rule 5).
amoCRM switches a hook off after 100 failed answers in two hours (AMOCRM.md), so every request
that carries the right secret and the right ``account[id]`` — parseable or not, any content type —
is stored and answered 200. Only requests that are not from the connected account fail: an
unknown secret (404), another account's id (403), a body over the limit (413). Parsing and the
API re-reads happen in the job, never in the request: amoCRM waits at most 2 seconds.

A true redelivery (the same body while its original still waits) is recognised when the job
claims its batch, not here: the door stays one INSERT and a commit (see ``jobs.inbox``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, request
from sqlalchemy import insert, select

from amo_bridge.accounts import token_hash
from amo_bridge.amocrm.webhook import account_id_of
from amo_bridge.db import Database
from amo_bridge.models import Account, InboxEvent, InboxStatus
from amo_bridge.web.problems import problem
from jobs.queue import JobCall, Wakes

log = logging.getLogger(__name__)
bp = Blueprint("amocrm_webhooks", __name__)

PROCESS_JOB = "jobs.inbox.process_inbox"
_KEPT_HEADERS = ("User-Agent", "X-Amocrm-Requestid", "X-Forwarded-For", "Content-Type")
#: How long a process trusts its memory of a webhook address. A rotated or deleted secret stops
#: working within this long; every request in between saves an account lookup.
ADDRESS_TTL_SECONDS = 10.0
#: Built once: the statement is compiled once per dialect and reused with each row's values.
_INSERT = insert(InboxEvent.__table__)


@bp.post("/webhooks/amocrm/<token>")
def account_webhook(token: str) -> Response:
    return _store(token, source="amocrm")


@bp.post("/webhooks/amocrm/<token>/dp")
def digital_pipeline_webhook(token: str) -> Response:
    return _store(token, source="amocrm_dp")


def _store(token: str, *, source: str) -> Response:
    runtime = current_app.extensions["amo_bridge"]
    body = request.get_data(cache=False)  # MAX_CONTENT_LENGTH turns an oversized body into 413
    account = _addresses(current_app).find(runtime.db, token)
    if account is None:
        return problem(404, "Not Found", "Unknown webhook address.")
    claimed = account_id_of(body, request.content_type)
    if claimed is not None and claimed != account.amocrm_id:
        log.warning(
            "webhook for account %s arrived at the address of account %s; refused",
            claimed, account.amocrm_id, extra={"account_id": account.id},
        )
        return problem(403, "Forbidden", "This address belongs to another amoCRM account.")

    now = runtime.clock.now()
    headers = request.headers
    values = {
        "account_id": account.id, "source": source, "received_at": now,
        "content_type": headers.get("Content-Type"),
        "headers": {k: v for k in _KEPT_HEADERS if (v := headers.get(k))},
        "body": body,
        # Redeliveries are recognised by this digest when the job claims its batch (jobs.inbox).
        "body_sha256": hashlib.sha256(source.encode() + b"\0" + body).hexdigest(),
        "status": InboxStatus.PENDING, "attempts": 0, "updated_at": now,
    }
    # One INSERT and a commit, in plain Core: this door is the bridge's busiest path.
    with runtime.db.engine.begin() as connection:
        row_id = connection.execute(_INSERT, values).inserted_primary_key[0]
    _wake(runtime, row_id, account.id)
    return Response("ok", status=200, mimetype="text/plain")


def _wake(runtime, row_id: int, account_id: int) -> None:
    """Make sure a job will look at the account's pending rows (one waiting job is enough).

    With Redis, the wake-up leaves from the process's sender thread (``jobs.queue.Wakes``), so
    the answer waits for no Redis round trip; in-process queues take it at once.
    """
    call, key = JobCall(PROCESS_JOB, (row_id, account_id)), f"inbox:{account_id}"
    if runtime.queue.mode != "rq":
        runtime.queue.enqueue_once(call, key=key)
        return
    wakes = runtime.extras.get("inbox_wakes")
    if wakes is None:
        with _wakes_lock:
            wakes = runtime.extras.setdefault("inbox_wakes", Wakes(runtime.queue))
    wakes.wake(call, key=key)


_wakes_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Address:
    id: int
    amocrm_id: int


class _AddressBook:
    """Webhook secret → account, remembered per process for :data:`ADDRESS_TTL_SECONDS`."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[_Address, float]] = {}
        self._lock = threading.Lock()

    def find(self, database: Database, token: str) -> _Address | None:
        digest = token_hash(token)
        now = time.monotonic()
        with self._lock:
            known = self._known.get(digest)
        if known is not None and known[1] > now:
            return known[0]
        with database.engine.connect() as connection:
            found = connection.execute(
                select(Account.id, Account.amocrm_id, Account.webhook_token_hash)
                .where(Account.webhook_token_hash == digest)
            ).first()
        if found is None or not hmac.compare_digest(found.webhook_token_hash, digest):
            return None  # unknown addresses are not remembered: a new account works at once
        address = _Address(found.id, found.amocrm_id)
        with self._lock:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[digest] = (address, now + ADDRESS_TTL_SECONDS)
        return address


def _addresses(app) -> _AddressBook:
    book = app.extensions.get("amo_bridge.webhook_addresses")
    if book is None:
        book = app.extensions.setdefault("amo_bridge.webhook_addresses", _AddressBook())
    return book
