"""Delivery statuses: from callbacks, from polling, and for messages whose send answer was lost.

:func:`apply_report` is the one place a provider's status changes a message; it is idempotent
(a callback delivered three times, or a poll after the callback, changes nothing more).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.clock import Clock
from amo_bridge.db import Database
from amo_bridge.i18n import t
from amo_bridge.models import Account, SmsMessage, SmsStatus
from sms import channel
from sms.config import load_config
from sms.gateway import Delivery, GatewayError, Lookup, RetryableError, StatusReport
from sms.notes import add_note
from sms.registry import GatewaySet
from sms.states import FINAL, move

log = logging.getLogger(__name__)
POLL_AFTER = timedelta(minutes=2)
POLL_FOR = timedelta(days=3)


def _lang(session: Session, message: SmsMessage) -> str:
    return load_config(session, session.get(Account, message.account_id)).lang


def apply_report(session: Session, message: SmsMessage, report: StatusReport,
                 now: datetime) -> bool:
    """Move ``message`` as ``report`` says; returns True when something changed."""
    if message.status in FINAL or report.state == Delivery.NOT_FOUND:
        return False
    if message.status not in (SmsStatus.SENT, SmsStatus.UNKNOWN):
        return False
    lang = _lang(session, message)
    if report.cost_kopecks is not None:
        message.cost = report.cost_kopecks
    if message.status == SmsStatus.UNKNOWN:
        message.provider_message_id = report.provider_message_id or message.provider_message_id
        message.sent_at = message.sent_at or report.at or now
        move(message, SmsStatus.SENT, now=now, reason="")
        add_note(session, message, "sent", lang=lang, now=now)
    if report.state == Delivery.DELIVERED:
        move(message, SmsStatus.DELIVERED, now=now)
        message.delivered_at = report.at or now
        add_note(session, message, "final", lang=lang, now=now)
    elif report.state == Delivery.FAILED:
        detail = report.description or f"{message.gateway} {report.code}".strip()
        move(message, SmsStatus.FAILED, now=now, code=f"{message.gateway}:{report.code}",
             reason=t("sms.reason.delivery_failed", lang, detail=detail))
        if report.number_invalid and message.phone:
            channel.suppress(session, message.account_id, message.phone, source="provider",
                             reason=detail, now=now)
        add_note(session, message, "final", lang=lang, now=now)
    return True


def messages_for(session: Session, gateway: str, provider_ids: list[str]) -> list[SmsMessage]:
    if not provider_ids:
        return []
    return list(session.scalars(select(SmsMessage).where(
        SmsMessage.gateway == gateway, SmsMessage.provider_message_id.in_(provider_ids))))


def apply_reports(session: Session, gateway: str, reports: list[StatusReport], now: datetime,
                  *, account_id: int | None = None) -> int:
    by_id = {m.provider_message_id: m for m in messages_for(
        session, gateway, [r.provider_message_id for r in reports])
        if account_id is None or m.account_id == account_id}
    return sum(apply_report(session, by_id[r.provider_message_id], r, now)
               for r in reports if r.provider_message_id in by_id)


def resolve(db: Database, message_id: int, *, gateways: GatewaySet, clock: Clock) -> str:
    """Settle an ``unknown`` message by asking the provider — never by sending it again."""
    with db.session() as session:
        message = session.get(SmsMessage, message_id)
        if message is None or message.status != SmsStatus.UNKNOWN:
            return "done"
        gateway = gateways.by_name(message.gateway)
        lang = _lang(session, message)
        query = Lookup(reference=message.id, phone=message.phone or "", text=message.text,
                       provider_message_id=message.provider_message_id,
                       sent_after=message.created_at)
        if gateway is None or (not gateway.can_lookup and not message.provider_message_id):
            move(message, SmsStatus.NEEDS_ATTENTION, now=clock.now(), code="lost_no_lookup",
                 reason=t("sms.reason.lost_no_lookup", lang, gateway=message.gateway))
            add_note(session, message, "blocked", lang=lang, now=clock.now())
            return "needs_attention"
    try:
        report = gateway.lookup(query)
    except RetryableError as exc:
        log.info("sms %s: status query postponed: %s", message_id, exc)
        return "unknown"
    except GatewayError as exc:
        log.warning("sms %s: status query failed: %s", message_id, exc)
        return "unknown"
    with db.session() as session:
        message = session.get(SmsMessage, message_id)
        if message is None or message.status != SmsStatus.UNKNOWN:
            return "done"
        now = clock.now()
        if report.state == Delivery.NOT_FOUND:
            move(message, SmsStatus.NEEDS_ATTENTION, now=now, code="lost_not_found",
                 reason=t("sms.reason.lost_not_found", lang))
            add_note(session, message, "blocked", lang=lang, now=now)
            return "needs_attention"
        apply_report(session, message, report, now)
        return message.status


def poll(db: Database, *, gateways: GatewaySet, clock: Clock, limit: int = 500) -> int:
    """Ask providers about sent messages with no final status yet (callbacks get lost too)."""
    now = clock.now()
    with db.session() as session:
        rows = session.execute(
            select(SmsMessage.id, SmsMessage.gateway, SmsMessage.provider_message_id,
                   SmsMessage.phone)
            .where(SmsMessage.status == SmsStatus.SENT,
                   SmsMessage.provider_message_id.is_not(None),
                   SmsMessage.sent_at < now - POLL_AFTER, SmsMessage.sent_at > now - POLL_FOR)
            .order_by(SmsMessage.sent_at).limit(limit)).all()
    by_gateway: dict[str, dict[str, str]] = defaultdict(dict)
    for _id, gateway, provider_id, phone in rows:
        by_gateway[gateway][provider_id] = phone or ""
    changed = 0
    for name, phones in by_gateway.items():
        gateway = gateways.by_name(name)
        if gateway is None:
            continue
        try:
            reports = gateway.statuses(list(phones), phones=phones)
        except GatewayError as exc:
            log.warning("status poll of %s failed: %s", name, exc)
            continue
        with db.session() as session:
            changed += apply_reports(session, name, reports, clock.now())
    return changed
