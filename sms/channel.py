"""Channels (one gateway as seen by one account) and suppressed numbers.

An account-level error (no money, sender name not approved) pauses the channel and alerts the
admins: an audit-log entry, an ERROR log line, and the state shown in the widget. While paused,
one message is let through every ``PROBE_INTERVAL`` as a probe — when the balance is topped up
the channel reopens by itself; the admin can also resume it at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from amo_bridge.models import AuditLog, SmsChannel, SmsSuppression
from amo_bridge.models.sms import ChannelStatus

log = logging.getLogger(__name__)
PROBE_INTERVAL = timedelta(minutes=30)


def get_channel(session: Session, account_id: int, gateway: str) -> SmsChannel | None:
    """The channel row (cached for the unit of work: a send asks up to three times)."""
    cache = session.info.setdefault("sms.channels", {})
    if (account_id, gateway) not in cache:
        cache[(account_id, gateway)] = session.scalar(select(SmsChannel).where(
            SmsChannel.account_id == account_id, SmsChannel.gateway == gateway))
    return cache[(account_id, gateway)]


def usable(session: Session, account_id: int, gateway: str, now: datetime) -> bool:
    """Active, or paused with a probe due (the caller then takes it with ``take_probe``)."""
    row = get_channel(session, account_id, gateway)
    if row is None or row.status == ChannelStatus.ACTIVE:
        return True
    return row.probe_at is not None and row.probe_at <= now


def take_probe(session: Session, account_id: int, gateway: str, now: datetime) -> None:
    row = get_channel(session, account_id, gateway)
    if row is not None and row.status == ChannelStatus.PAUSED:
        row.probe_at = now + PROBE_INTERVAL


def pause(session: Session, account_id: int, gateway: str, reason: str, now: datetime) -> bool:
    """Pause the channel; returns True when it was active (a new alert was raised)."""
    row = get_channel(session, account_id, gateway)
    if row is None:
        row = SmsChannel(account_id=account_id, gateway=gateway)
        session.add(row)
        session.info["sms.channels"][(account_id, gateway)] = row
    was_active = row.status != ChannelStatus.PAUSED
    row.status, row.reason, row.probe_at = ChannelStatus.PAUSED, reason, now + PROBE_INTERVAL
    if was_active:
        row.paused_at = now
        session.add(AuditLog(account_id=account_id, at=now, action="sms.channel_paused",
                             target=gateway, details={"reason": reason}))
        log.error("SMS channel %s of account %s paused: %s", gateway, account_id, reason)
    session.flush()
    return was_active


def resume(session: Session, account_id: int, gateway: str, now: datetime, *,
           by: int | None = None) -> bool:
    row = get_channel(session, account_id, gateway)
    if row is None or row.status == ChannelStatus.ACTIVE:
        return False
    row.status, row.probe_at = ChannelStatus.ACTIVE, None
    session.add(AuditLog(account_id=account_id, at=now, action="sms.channel_resumed",
                         target=gateway, actor_amocrm_id=by, details={"was": row.reason}))
    log.warning("SMS channel %s of account %s resumed", gateway, account_id)
    session.flush()
    return True


def suppression(session: Session, account_id: int, phone: str) -> SmsSuppression | None:
    return session.scalar(select(SmsSuppression).where(SmsSuppression.account_id == account_id,
                                                       SmsSuppression.phone == phone))


def suppress(session: Session, account_id: int, phone: str, *, source: str, reason: str,
             now: datetime) -> None:
    if suppression(session, account_id, phone) is not None:
        return
    try:
        with session.begin_nested():
            session.add(SmsSuppression(account_id=account_id, phone=phone, source=source,
                                       reason=reason, created_at=now))
    except IntegrityError:
        pass  # suppressed concurrently: same outcome
