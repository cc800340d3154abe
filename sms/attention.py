"""Messages that need a person: re-queue them once the data is fixed, or dismiss them.

A message waiting on a manager's profile goes out by itself when that profile is saved
(:func:`requeue_for_manager`). A message whose send answer was lost and that the provider does
not know goes out again only when an admin says so (:func:`requeue`) — a deliberate, audited
decision, never an automatic resend.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.clock import Clock
from amo_bridge.models import Account, AuditLog, SmsMessage, SmsStatus
from sms.config import load_config
from sms.outbox import Blocked, build, draft_of
from sms.states import move


def requeue(session: Session, message: SmsMessage, *, clock: Clock,
            by: int | None = None) -> bool:
    """Rebuild a ``needs_attention`` message from current data; True if it is queued again."""
    if message.status != SmsStatus.NEEDS_ATTENTION:
        return False
    config = load_config(session, session.get(Account, message.account_id))
    now = clock.now()
    lost = (message.details or {}).get("reason_code", "").startswith("lost_")
    try:
        build(session, draft_of(message), message, config, clock)
    except Blocked as exc:
        if exc.status == SmsStatus.REJECTED:
            move(message, SmsStatus.REJECTED, now=now, reason=exc.reason, code=exc.code)
        else:
            message.reason = exc.reason
            message.details = {**(message.details or {}), "reason_code": exc.code}
        return False
    move(message, SmsStatus.QUEUED, now=now, reason="", code="requeued")
    message.gateway = message.provider_message_id = None
    if lost or by is not None:
        session.add(AuditLog(account_id=message.account_id, at=now, actor_amocrm_id=by,
                             action="sms.requeued", target=f"sms_message:{message.id}",
                             details={"after": "lost answer" if lost else "needs attention"}))
    return True


def requeue_for_manager(session: Session, account_id: int, manager_amocrm_id: int, *,
                        clock: Clock) -> list[int]:
    """Re-queue messages that waited for this manager's profile; returns the queued ids."""
    waiting = session.scalars(select(SmsMessage).where(
        SmsMessage.account_id == account_id, SmsMessage.manager_amocrm_id == manager_amocrm_id,
        SmsMessage.status == SmsStatus.NEEDS_ATTENTION))
    return [m.id for m in waiting
            if (m.details or {}).get("reason_code") == "missing_manager"
            and requeue(session, m, clock=clock)]


def dismiss(session: Session, message: SmsMessage, *, clock: Clock, by: int | None) -> bool:
    if message.status != SmsStatus.NEEDS_ATTENTION:
        return False
    move(message, SmsStatus.REJECTED, now=clock.now(), code="dismissed",
         reason=message.reason)
    session.add(AuditLog(account_id=message.account_id, at=clock.now(), actor_amocrm_id=by,
                         action="sms.dismissed", target=f"sms_message:{message.id}"))
    return True
