"""Provider delivery callbacks: the secret URL, the request as stored, and applying it.

Callbacks are deployment-wide (the provider account is), so the URL carries a secret derived
from ``SMS_CALLBACK_SECRET`` (or ``SECRET_KEY``) per gateway; SMSC additionally signs its
callbacks, which the adapter checks. The door stores the raw request (table ``sms_callback``)
for every account whose message it mentions; the job re-parses it and applies the statuses —
idempotently, so a redelivered callback changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from urllib.parse import parse_qs

from sqlalchemy.orm import Session

from amo_bridge.models import SmsCallback
from sms.delivery import apply_reports
from sms.gateway import CallbackRequest, Gateway


def callback_token(secret: str | bytes, gateway: str) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"sms-callback:{gateway}".encode(), hashlib.sha256).hexdigest()[:32]


def token_matches(secret: str | bytes, gateway: str, token: str) -> bool:
    return hmac.compare_digest(callback_token(secret, gateway), token or "")


def callback_path(secret: str | bytes, gateway: str) -> str:
    return f"/webhooks/sms/{gateway}/{callback_token(secret, gateway)}"


def build_request(*, method: str, query: str, body: bytes, content_type: str) -> CallbackRequest:
    form: dict[str, list[str]] = {}
    for source in (query, body.decode("utf-8", "replace")
                   if "x-www-form-urlencoded" in content_type else ""):
        for key, values in parse_qs(source, keep_blank_values=True).items():
            form.setdefault(key, []).extend(values)
    return CallbackRequest(method=method, form=form, body=body, content_type=content_type)


def stored_request(row: SmsCallback) -> CallbackRequest:
    return build_request(method=row.method, query=row.query, body=row.body or b"",
                         content_type=row.content_type or "")


def process(session: Session, row: SmsCallback, gateway: Gateway, now: datetime) -> int:
    """Apply a stored callback; returns how many messages changed."""
    if row.status != "pending":
        return 0
    reports = gateway.parse_callback(stored_request(row))
    changed = apply_reports(session, gateway.name, reports, now, account_id=row.account_id)
    row.status, row.processed_at, row.updated_at = "done", now, now
    return changed
