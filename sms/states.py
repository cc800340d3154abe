"""The outbox state machine, written down once.

::

    queued ──► sending ──► sent ──► delivered
      │  ▲        │  │        └───► failed
      │  └────────┘  ├──► unknown ──► sent | delivered | failed | needs_attention
      │ (not sent:   └──► failed
      │  wait/retry)
      ├──► rejected          (refused before sending: invalid number, opt-out, no consent)
      ├──► needs_attention   (cannot be built: a manager without a phone…) ──► queued
      └──► failed            (expired before it could be sent)

``unknown`` is left only by a status query (or a callback), never by sending again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm.attributes import flag_modified

from amo_bridge.models import SmsMessage, SmsStatus

Q, SNG, SNT, DLV, FLD, UNK, REJ, ATT = (
    SmsStatus.QUEUED, SmsStatus.SENDING, SmsStatus.SENT, SmsStatus.DELIVERED, SmsStatus.FAILED,
    SmsStatus.UNKNOWN, SmsStatus.REJECTED, SmsStatus.NEEDS_ATTENTION,
)

TRANSITIONS: dict[SmsStatus, frozenset[SmsStatus]] = {
    Q: frozenset({SNG, REJ, ATT, FLD}),
    # back to queued only when the provider definitely did not take the message
    SNG: frozenset({SNT, FLD, UNK, Q}),
    UNK: frozenset({SNT, DLV, FLD, ATT}),
    SNT: frozenset({DLV, FLD}),
    ATT: frozenset({Q, REJ}),  # fixed and re-queued, or dismissed by an admin
    DLV: frozenset(),
    FLD: frozenset(),
    REJ: frozenset(),
}
FINAL = frozenset({DLV, FLD, REJ})
#: States in which a message is still the outbox's business (the sweeper watches these).
IN_FLIGHT = (SNG, UNK)


class IllegalTransition(RuntimeError):
    def __init__(self, message_id: int | None, current: str, target: str) -> None:
        super().__init__(f"sms_message {message_id}: {current} → {target} is not allowed")
        self.current, self.target = current, target


def can_move(current: str, target: SmsStatus) -> bool:
    return target in TRANSITIONS[SmsStatus(current)]


def move(message: SmsMessage, target: SmsStatus, *, now: datetime,
         reason: str | None = None, code: str | None = None) -> None:
    """Change ``message.status`` along an allowed edge; the reason is kept for people to read."""
    if not can_move(message.status, target):
        raise IllegalTransition(message.id, message.status, target)
    message.status = target
    message.updated_at = now
    # Explicitly dirty even when unchanged: otherwise the column's onupdate would stamp the
    # wall clock, and the sweeper compares it with the injected clock.
    flag_modified(message, "updated_at")
    if target not in (Q, SNG, UNK) and (message.details or {}).get("masked_text"):
        # a verification code stays in clear only while the message may still need sending
        message.text = message.details["masked_text"]
    if reason is not None:
        message.reason = reason
    if code is not None:
        message.details = {**(message.details or {}), "reason_code": code}
