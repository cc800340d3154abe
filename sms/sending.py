"""Send one queued message, so that a client never gets it twice.

Three units of work around one remote call:

1. **claim** — under a row lock: the message is still ``queued`` and due, its recipient still
   passes the gates (opt-out, consent, suppression, quiet hours), a channel is usable; it moves
   to ``sending`` and that is committed *before* the provider is called;
2. **call** — one request to the gateway, never repeated by the adapter;
3. **record** — ``sent`` with the provider's id, or what the typed error says: back to
   ``queued`` (definitely not sent: wait, retry, or fail over to the second gateway), ``failed``
   (the number or the text can never go), or ``unknown`` (the answer was lost).

A worker killed between 1 and 3 leaves the row in ``sending``; whoever finds it there later
(the sweeper's re-run of this job) turns it into ``unknown`` and asks the provider — it never
sends again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.clock import Clock
from amo_bridge.db import Database
from amo_bridge.i18n import t
from amo_bridge.models import Account, Contact, SmsMessage, SmsStatus
from sms import channel, reminders
from sms.config import SmsConfig, load_config
from sms.gateway import (
    Accepted,
    AccountError,
    GatewayError,
    MessageError,
    NumberError,
    OutcomeUnknown,
    OutgoingSms,
    RetryableError,
)
from sms.notes import add_note
from sms.outbox import Blocked, check_recipient
from sms.quiet import next_allowed
from sms.registry import GatewaySet
from sms.states import move

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: str  # sent | queued | failed | rejected | unknown | not_due | in_flight | done…
    message_id: int
    notes: bool = False  # new amoCRM notes are pending for this account
    account_id: int | None = None


@dataclass(frozen=True, slots=True)
class _Claim:
    message_id: int
    account_id: int
    sms: OutgoingSms
    gateway: str


def _lock(session: Session, message_id: int) -> SmsMessage | None:
    return session.scalar(select(SmsMessage).where(SmsMessage.id == message_id)
                          .with_for_update())


def _config(session: Session, message: SmsMessage) -> SmsConfig:
    return load_config(session, session.get(Account, message.account_id))


def _claim(session: Session, message_id: int, gateways: GatewaySet, now: datetime,
           stale_after: timedelta, callback_url: Callable[[str], str | None]
           ) -> _Claim | SendResult:
    message = _lock(session, message_id)
    if message is None:
        return SendResult("missing", message_id)
    config = _config(session, message)
    result = lambda outcome, notes=False: SendResult(outcome, message_id, notes,  # noqa: E731
                                                     message.account_id)
    if message.status == SmsStatus.SENDING:
        # ``claimed_at``, not ``updated_at``: the sweeper touches the latter when it wakes us
        claimed = (message.details or {}).get("claimed_at")
        if claimed and datetime.fromisoformat(claimed) > now - stale_after:
            return result("in_flight")
        move(message, SmsStatus.UNKNOWN, now=now, reason=t("sms.reason.unknown", config.lang),
             code="unknown")
        return result("stale")  # its worker died mid-send: ask the provider at once
    if message.status != SmsStatus.QUEUED:
        return result("done")
    if message.not_before is not None and message.not_before > now:
        return result("not_due")
    if message.expires_at is not None and message.expires_at <= now:
        move(message, SmsStatus.FAILED, now=now, reason=t("sms.reason.expired", config.lang),
             code="expired")
        add_note(session, message, "final", lang=config.lang, now=now)
        return result("failed", True)
    contact = session.get(Contact, message.contact_id) if message.contact_id else None
    try:
        check_recipient(session, message, contact, message.phone, config)
    except Blocked as exc:  # opted out, suppressed or consent withdrawn since queueing
        move(message, SmsStatus.REJECTED, now=now, reason=exc.reason, code=exc.code)
        add_note(session, message, "blocked", lang=config.lang, now=now)
        return result("rejected", True)
    obsolete = reminders.obsolete(session, message)
    if obsolete is not None:  # renewed (or renewal started) while the reminder waited
        move(message, SmsStatus.REJECTED, now=now, reason=obsolete, code="obsolete")
        return result("rejected")
    details = message.details or {}
    if not details.get("ignore_quiet_hours"):
        due = next_allowed(now, ZoneInfo(details.get("zone") or config.timezone),
                           config.quiet_start, config.quiet_end)
        if due > now:
            message.not_before = due
            return result("not_due")
    for gateway in (gateways.primary, gateways.fallback):
        if gateway is not None and channel.usable(session, message.account_id, gateway.name,
                                                  now):
            channel.take_probe(session, message.account_id, gateway.name, now)
            break
    else:
        row = channel.get_channel(session, message.account_id, gateways.primary.name)
        message.reason = t("sms.reason.channel_paused", config.lang,
                           gateway=gateways.primary.name, detail=row.reason if row else "")
        return result("paused")
    move(message, SmsStatus.SENDING, now=now)
    message.details = {**details, "claimed_at": now.isoformat()}
    message.gateway = gateway.name
    message.attempts += 1
    return _Claim(message_id, message.account_id,
                  OutgoingSms(reference=message.id, phone=message.phone or "",
                              text=message.text, callback_url=callback_url(gateway.name)),
                  gateway.name)


def _record(session: Session, claim: _Claim, outcome: Accepted | GatewayError,
            gateways: GatewaySet, now: datetime) -> SendResult | str:
    """Apply the call's outcome; returns the name of a gateway to fail over to, if any."""
    message = _lock(session, claim.message_id)
    assert message is not None
    config = _config(session, message)
    lang = config.lang
    result = lambda name, notes=False: SendResult(name, claim.message_id, notes,  # noqa: E731
                                                  claim.account_id)
    if isinstance(outcome, Accepted):
        move(message, SmsStatus.SENT, now=now, reason="")
        message.provider_message_id, message.sent_at = outcome.provider_message_id, now
        message.segments = outcome.segments or message.segments
        message.cost = outcome.cost_kopecks if outcome.cost_kopecks is not None else message.cost
        channel.resume(session, message.account_id, claim.gateway, now)
        add_note(session, message, "sent", lang=lang, now=now)
        return result("sent", True)
    if message.status != SmsStatus.SENDING:
        log.warning("sms %s left %s during its send; keeping it", message.id, message.status)
        return result("done")
    error, code = outcome, f"{claim.gateway}:{outcome.code}"
    fallback = gateways.fallback
    can_fail_over = (fallback is not None and fallback.name != claim.gateway
                     and channel.usable(session, message.account_id, fallback.name, now))
    if isinstance(error, AccountError):
        channel.pause(session, message.account_id, claim.gateway, error.detail, now)
        if can_fail_over:
            message.gateway = fallback.name
            return fallback.name
        move(message, SmsStatus.QUEUED, now=now, code=code, reason=t(
            "sms.reason.channel_paused", lang, gateway=claim.gateway, detail=error.detail))
        return result("queued")
    if isinstance(error, RetryableError):
        if can_fail_over:
            message.gateway = fallback.name
            return fallback.name
        if message.attempts >= MAX_ATTEMPTS:
            move(message, SmsStatus.FAILED, now=now, code=code,
                 reason=t("sms.reason.gave_up", lang, attempts=message.attempts))
            add_note(session, message, "final", lang=lang, now=now)
            return result("failed", True)
        delay = max(error.retry_after, BACKOFF_SECONDS[min(message.attempts, 8) - 1])
        move(message, SmsStatus.QUEUED, now=now, code=code,
             reason=t("sms.reason.retry", lang, detail=error.detail))
        message.not_before = now + timedelta(seconds=delay)
        return result("queued")
    if isinstance(error, NumberError | MessageError):
        number = isinstance(error, NumberError)
        key = "sms.reason.provider_number" if number else "sms.reason.provider_message"
        move(message, SmsStatus.FAILED, now=now, code=code,
             reason=t(key, lang, detail=error.detail))
        if number and message.phone:
            channel.suppress(session, message.account_id, message.phone, source="provider",
                             reason=error.detail, now=now)
        add_note(session, message, "final", lang=lang, now=now)
        return result("failed", True)
    move(message, SmsStatus.UNKNOWN, now=now, code=code,
         reason=t("sms.reason.unknown", lang))
    message.details = {**(message.details or {}), "unknown_detail": str(error)[:300]}
    return result("unknown")


def send_message(db: Database, message_id: int, *, gateways: GatewaySet, clock: Clock,
                 stale_after: timedelta = timedelta(minutes=5),
                 callback_url: Callable[[str], str | None] = lambda _name: None) -> SendResult:
    with db.session() as session:
        claim = _claim(session, message_id, gateways, clock.now(), stale_after, callback_url)
    if isinstance(claim, SendResult):
        return claim
    gateway = gateways.by_name(claim.gateway)
    assert gateway is not None
    while True:
        outcome: Accepted | GatewayError
        try:
            outcome = gateway.send(claim.sms)
        except GatewayError as exc:
            outcome = exc
        except Exception as exc:  # noqa: BLE001 - after a send, anything unexpected is "unknown"
            log.exception("sms %s: unexpected error from %s", message_id, gateway.name)
            outcome = OutcomeUnknown(f"{type(exc).__name__}: {exc}")
        with db.session() as session:
            recorded = _record(session, claim, outcome, gateways, clock.now())
        if isinstance(recorded, SendResult):
            return recorded
        # fail over: the first gateway definitely did not take the message
        gateway = gateways.by_name(recorded)
        assert gateway is not None
        claim = _Claim(claim.message_id, claim.account_id,
                       replace(claim.sms, callback_url=callback_url(gateway.name)), gateway.name)
