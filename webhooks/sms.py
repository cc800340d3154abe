"""The SMS providers' door: delivery callbacks.

``/webhooks/sms/<gateway>/<secret>`` (GET or POST — SMS.ru and SMS Aero POST, SMSC may do
either). The door checks the secret in the URL and, where the provider signs (SMSC), the
signature; stores the raw request once per account whose message it names; enqueues the job
after commit; and answers what the provider expects ("100" for SMS.ru, "OK" for SMSC, JSON
for SMS Aero), so that it stops redelivering. A redelivered callback is stored as a duplicate
and not processed again; processing is idempotent anyway.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from amo_bridge.models import SmsCallback
from amo_bridge.web.problems import problem
from jobs.queue import enqueue_after_commit
from jobs.sms import gateways_for, secret_for
from sms.callbacks import build_request, token_matches
from sms.delivery import messages_for
from sms.gateway import CallbackRejected

log = logging.getLogger(__name__)
bp = Blueprint("sms_webhooks", __name__)
DUPLICATE_HORIZON = timedelta(days=1)


@bp.route("/webhooks/sms/<gateway>/<token>", methods=["GET", "POST"])
def delivery_callback(gateway: str, token: str) -> Response:
    runtime = current_app.extensions["amo_bridge"]
    provider = gateways_for(runtime).by_name(gateway)
    if provider is None or not token_matches(secret_for(runtime), gateway, token):
        return problem(404, "Not Found", "Unknown callback address.")
    body = request.get_data(cache=False)
    query = request.query_string.decode("utf-8", "replace")
    content_type = request.content_type or ""
    callback = build_request(method=request.method, query=query, body=body,
                             content_type=content_type)
    try:
        reports = provider.parse_callback(callback)
    except CallbackRejected as exc:
        log.warning("SMS callback from %s refused: %s", gateway, exc)
        if "signature" in str(exc):
            return problem(403, "Forbidden", str(exc))
        return problem(400, "Bad Request", str(exc))
    now = runtime.clock.now()
    digest = hashlib.sha256(b"\0".join((gateway.encode(), query.encode(), body))).hexdigest()
    with runtime.session() as session:
        accounts = sorted({m.account_id for m in messages_for(
            session, provider.name, [r.provider_message_id for r in reports])})
        if reports and not accounts:
            log.info("SMS callback from %s names no message of ours", gateway)
        for account_id in accounts:
            original = session.scalar(select(SmsCallback.id).where(
                SmsCallback.account_id == account_id, SmsCallback.body_sha256 == digest,
                SmsCallback.received_at >= now - DUPLICATE_HORIZON,
                SmsCallback.status != "duplicate").limit(1))
            row = SmsCallback(account_id=account_id, gateway=provider.name, received_at=now,
                              method=request.method, query=query, content_type=content_type,
                              body=body, body_sha256=digest, updated_at=now,
                              status="duplicate" if original else "pending")
            session.add(row)
            session.flush()
            if original is None:
                enqueue_after_commit(session, "jobs.sms.process_callback", row.id)
    answer = provider.callback_answer()
    return Response(answer.body, status=answer.status, content_type=answer.content_type)
