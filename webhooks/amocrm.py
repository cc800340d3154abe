"""The amoCRM doors: account webhooks and the Digital Pipeline hook.

Each door only verifies, stores, enqueues after commit and answers (CONVENTIONS rule 5).
amoCRM switches a hook off after 100 failed answers in two hours (AMOCRM.md), so every request
that carries the right secret and the right ``account[id]`` — parseable or not, any content type —
is stored and answered 200. Only requests that are not from the connected account fail: an
unknown secret (404), another account's id (403), a body over the limit (413). Parsing and the
API re-reads happen in the job, never in the request: amoCRM waits at most 2 seconds.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from amo_bridge.accounts import account_by_webhook_token
from amo_bridge.amocrm.webhook import account_id_of
from amo_bridge.models import InboxEvent, InboxStatus
from amo_bridge.web.problems import problem
from jobs.queue import enqueue_after_commit

log = logging.getLogger(__name__)
bp = Blueprint("amocrm_webhooks", __name__)

#: amoCRM redelivers a failed hook after 5 and 15 minutes, then 15 minutes and 1 hour: a
#: byte-identical body inside this horizon may be a redelivery. It is absorbed only while the
#: original still waits to be processed — that run will read the latest state anyway. Once the
#: original has started, an identical body may be a *new* business event (short-form status
#: hooks for A→B, B→A, A→B are byte-identical), so it is processed; the mirror is idempotent.
REDELIVERY_HORIZON = timedelta(hours=2)
PROCESS_JOB = "jobs.inbox.process_inbox"
_KEPT_HEADERS = ("User-Agent", "X-Amocrm-Requestid", "X-Forwarded-For", "Content-Type")


@bp.post("/webhooks/amocrm/<token>")
def account_webhook(token: str) -> Response:
    return _store(token, source="amocrm")


@bp.post("/webhooks/amocrm/<token>/dp")
def digital_pipeline_webhook(token: str) -> Response:
    return _store(token, source="amocrm_dp")


def _store(token: str, *, source: str) -> Response:
    runtime = current_app.extensions["amo_bridge"]
    body = request.get_data(cache=False)  # MAX_CONTENT_LENGTH turns an oversized body into 413
    content_type = request.headers.get("Content-Type")
    with runtime.session() as session:
        account = account_by_webhook_token(session, token)
        if account is None:
            return problem(404, "Not Found", "Unknown webhook address.")
        claimed = account_id_of(body, content_type)
        if claimed is not None and claimed != account.amocrm_id:
            log.warning(
                "webhook for account %s arrived at the address of account %s; refused",
                claimed, account.amocrm_id, extra={"account_id": account.id},
            )
            return problem(403, "Forbidden", "This address belongs to another amoCRM account.")

        now = runtime.clock.now()
        digest = hashlib.sha256(source.encode() + b"\0" + body).hexdigest()
        original = session.scalar(
            select(InboxEvent.id)
            .where(
                InboxEvent.account_id == account.id,
                InboxEvent.body_sha256 == digest,
                InboxEvent.received_at >= now - REDELIVERY_HORIZON,
                InboxEvent.status == InboxStatus.PENDING,
                InboxEvent.pending_reactions.is_(None),  # mirrored already; reactions left
            )
            .order_by(InboxEvent.id)
            .limit(1)
        )
        row = InboxEvent(
            account_id=account.id,
            source=source,
            received_at=now,
            content_type=content_type,
            headers={k: v for k in _KEPT_HEADERS if (v := request.headers.get(k))},
            body=body,
            body_sha256=digest,
            status=InboxStatus.DUPLICATE if original else InboxStatus.PENDING,
            duplicate_of_id=original,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        if original is None:
            enqueue_after_commit(session, PROCESS_JOB, row.id)
    return Response("ok", status=200, mimetype="text/plain")
