"""Phone confirmation by SMS code (seed 000: «укажите телефон, нажмите «подтвердить» и укажите
смс-код, который придет клиенту»).

A 6-digit code, stored only as HMAC-SHA256(secret, salt:code) — the secret is the bridge's
``SECRET_KEY``, so a copy of the database does not reveal codes (a plain hash of a 6-digit
number would be reversed in milliseconds). The code lives 5 minutes and allows 5 attempts; a
new code for the same number can be asked after 60 seconds and replaces the old one; at most
5 codes per number per hour protect the SMS balance from abuse. The SMS ignores quiet hours
(the client is waiting for it) and its text never reaches an amoCRM note.

:func:`confirm` returns its result instead of raising, so that a wrong attempt is committed
and counted even though the answer is "no".
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from amo_bridge.clock import Clock
from amo_bridge.models import Account, Contact, SmsMessage, SmsVerification
from amo_bridge.models.sms import VerificationStatus
from amo_bridge.phones import InvalidPhone, parse_phone
from sms.config import load_config
from sms.notes import add_note
from sms.outbox import Draft, Queued, pick_phone, queue_message


class VerificationRefused(Exception):
    """A code cannot be sent now; ``key``/``values`` are the i18n message for the widget."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key, self.values = key, values


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    ok: bool
    key: str  # i18n key of the answer
    verification: SmsVerification | None
    values: dict[str, object] = field(default_factory=dict)


def code_hash(secret: bytes, salt: str, code: str) -> str:
    return hmac.new(secret, f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def start(session: Session, account_id: int, contact_id: int, *, secret: bytes, clock: Clock,
          phone: str | None = None, requested_by: int | None = None
          ) -> tuple[SmsVerification, Queued]:
    config = load_config(session, session.get(Account, account_id))
    contact = session.get(Contact, contact_id)
    if contact is None or contact.account_id != account_id:
        raise LookupError(f"no contact {contact_id}")
    raw = phone or pick_phone(session, contact) or ""
    try:
        parsed = parse_phone(raw)
    except InvalidPhone as exc:
        raise VerificationRefused("sms.verify.invalid_phone", detail=exc.reason) from None
    if not parsed.is_mobile:
        raise VerificationRefused("sms.reason.not_mobile", phone=parsed.e164)
    now = clock.now()
    recent = select(SmsVerification).where(SmsVerification.account_id == account_id,
                                           SmsVerification.phone == parsed.e164)
    last = session.scalar(recent.order_by(SmsVerification.created_at.desc()).limit(1))
    if last is not None and last.created_at > now - config.verification_resend:
        wait = config.verification_resend - (now - last.created_at)
        raise VerificationRefused("sms.verify.cooldown", seconds=int(wait.total_seconds()) + 1)
    hourly = session.scalar(select(func.count()).select_from(recent.where(
        SmsVerification.created_at > now - timedelta(hours=1)).subquery()))
    if hourly >= config.verification_max_per_hour:
        raise VerificationRefused("sms.verify.too_many")
    session.execute(update(SmsVerification).where(
        SmsVerification.account_id == account_id, SmsVerification.phone == parsed.e164,
        SmsVerification.status == VerificationStatus.PENDING,
    ).values(status=VerificationStatus.REPLACED))
    code, salt = f"{secrets.randbelow(10**6):06d}", secrets.token_hex(16)
    row = SmsVerification(account_id=account_id, contact_id=contact.id, phone=parsed.e164,
                          code_hash=code_hash(secret, salt, code), salt=salt, created_at=now,
                          expires_at=now + config.verification_ttl, attempts=0,
                          status=VerificationStatus.PENDING,
                          requested_by_amocrm_id=requested_by)
    session.add(row)
    session.flush()
    queued = queue_message(session, Draft(
        account_id=account_id, rule="verification", key=f"verification:{row.id}",
        template_code="verification", contact_id=contact.id, phone=parsed.e164,
        manager_amocrm_id=requested_by, values={"code": code}, expires_at=row.expires_at,
        ignore_quiet_hours=True), clock=clock)
    row.sms_message_id = queued.message.id
    return row, queued


def confirm(session: Session, account_id: int, verification_id: int, code: str, *,
            secret: bytes, clock: Clock) -> ConfirmResult:
    row = session.scalar(select(SmsVerification).where(
        SmsVerification.id == verification_id, SmsVerification.account_id == account_id)
        .with_for_update())
    if row is None:
        return ConfirmResult(False, "sms.api.not_found", None, {"what": "verification"})
    config = load_config(session, session.get(Account, account_id))
    now = clock.now()
    if row.status == VerificationStatus.VERIFIED:
        return ConfirmResult(False, "sms.verify.done", row)
    if row.status in (VerificationStatus.LOCKED, VerificationStatus.REPLACED):
        return ConfirmResult(False, "sms.verify.locked", row)
    if row.status == VerificationStatus.EXPIRED or now >= row.expires_at:
        row.status = VerificationStatus.EXPIRED
        return ConfirmResult(False, "sms.verify.expired", row)
    row.attempts += 1
    given = "".join(ch for ch in (code or "") if ch.isdigit())
    if not hmac.compare_digest(code_hash(secret, row.salt, given), row.code_hash):
        left = config.verification_max_attempts - row.attempts
        if left <= 0:
            row.status = VerificationStatus.LOCKED
            return ConfirmResult(False, "sms.verify.locked", row)
        return ConfirmResult(False, "sms.verify.wrong", row, {"left": left})
    row.status, row.verified_at = VerificationStatus.VERIFIED, now
    contact = session.get(Contact, row.contact_id)
    if contact is not None:
        contact.phone_verified_at, contact.verified_phone = now, row.phone
    message = session.get(SmsMessage, row.sms_message_id) if row.sms_message_id else None
    if message is not None:
        add_note(session, message, "verified", lang=config.lang, now=now)
    return ConfirmResult(True, "sms.verify.ok", row)
