"""Notes that show every message and its fate in the amoCRM card.

A note row is written in the same unit of work as the message change it describes, so it can
never be forgotten; a job then writes pending notes to amoCRM in batches of at most 50 (the
client chunks). Verification messages never put the code into a note: managers must not be
able to confirm a client's phone themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from amo_bridge.amocrm.payloads import note_payload
from amo_bridge.i18n import t
from amo_bridge.models import Contact, Deal, SmsMessage, SmsNote
from amo_bridge.models.sms import NoteStatus
from amo_bridge.phones import mask_phones

CLAIM_LIMIT = 200
MAX_ATTEMPTS = 5


def _target(session: Session, message: SmsMessage) -> tuple[str | None, int | None]:
    if message.deal_id is not None:
        deal = session.get(Deal, message.deal_id)
        if deal is not None and deal.amocrm_id:
            return "leads", deal.amocrm_id
    if message.contact_id is not None:
        contact = session.get(Contact, message.contact_id)
        if contact is not None and contact.amocrm_id:
            return "contacts", contact.amocrm_id
    return None, None


def _rub(kopecks: int | None) -> str:
    if not kopecks:
        return ""
    return f", {kopecks // 100},{kopecks % 100:02d} ₽"


def note_text(message: SmsMessage, kind: str, lang: str) -> str:
    phone = message.phone or "—"
    if kind == "sent" and message.rule == "verification":
        return t("sms.note.sent_code", lang, phone=phone)
    if kind == "sent":
        return t("sms.note.sent", lang, phone=phone, segments=message.segments,
                 cost=_rub(message.cost), text=message.text)
    if kind == "final" and message.status == "delivered":
        return t("sms.note.delivered", lang, phone=phone)
    if kind == "final":
        return t("sms.note.failed", lang, phone=phone, reason=message.reason or "")
    if kind == "verified":
        return t("sms.note.verified", lang, phone=phone)
    text = "" if message.rule == "verification" else message.text
    return t("sms.note.blocked", lang, reason=message.reason or "", text=text)


def add_note(session: Session, message: SmsMessage, kind: str, *, lang: str,
             now: datetime) -> SmsNote | None:
    """Add the note once per (message, kind); returns it, or None if it already existed."""
    session.flush()  # the message needs its id
    existing = session.scalar(select(SmsNote).where(SmsNote.message_id == message.id,
                                                    SmsNote.kind == kind))
    if existing is not None:
        return None
    entity_type, entity_id = _target(session, message)
    note = SmsNote(account_id=message.account_id, message_id=message.id, kind=kind,
                   entity_type=entity_type, entity_amocrm_id=entity_id,
                   text=note_text(message, kind, lang), updated_at=now,
                   status=NoteStatus.PENDING if entity_id else NoteStatus.SKIPPED)
    try:
        with session.begin_nested():
            session.add(note)
    except IntegrityError:
        return None
    return note


def claim_pending(session: Session, account_id: int, now: datetime, *,
                  limit: int = CLAIM_LIMIT) -> list[SmsNote]:
    """Take pending notes for writing (their state moves to ``writing`` in this transaction)."""
    query = (select(SmsNote).where(SmsNote.account_id == account_id,
                                   SmsNote.status == NoteStatus.PENDING)
             .order_by(SmsNote.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    notes = list(session.scalars(query))
    for note in notes:
        note.status, note.updated_at = NoteStatus.WRITING, now
        note.attempts += 1
    return notes


def payloads(notes: Sequence[SmsNote]) -> dict[str, list[dict]]:
    """Note payloads grouped by entity type; ``request_id`` is the note row id."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for note in notes:
        grouped[note.entity_type or "leads"].append(note_payload(
            request_id=f"sms-note-{note.id}", entity_id=int(note.entity_amocrm_id or 0),
            text=note.text))
    return grouped


def record_written(session: Session, ids: Mapping[str, int], failed: Mapping[str, str],
                   now: datetime, *, transient: Mapping[str, str] | None = None) -> None:
    """Apply a batch result: written ids; notes amoCRM refused go back to pending with the
    error (and are given up after MAX_ATTEMPTS); ``transient`` ones (rate limit, lost answer,
    never sent) go back without counting an attempt."""
    for request_id, error in (transient or {}).items():
        note = session.get(SmsNote, int(request_id.removeprefix("sms-note-")))
        if note is not None:
            note.status, note.updated_at = NoteStatus.PENDING, now
            note.attempts, note.last_error = max(note.attempts - 1, 0), mask_phones(error)[:500]
    for request_id, amocrm_id in ids.items():
        note = session.get(SmsNote, int(request_id.removeprefix("sms-note-")))
        if note is not None:
            note.status, note.amocrm_note_id, note.updated_at = NoteStatus.WRITTEN, amocrm_id, now
            if note.kind == "sent":
                message = session.get(SmsMessage, note.message_id)
                if message is not None and message.note_amocrm_id is None:
                    message.note_amocrm_id = amocrm_id
    for request_id, error in failed.items():
        note = session.get(SmsNote, int(request_id.removeprefix("sms-note-")))
        if note is not None:
            # a card deleted in amoCRM refuses the note for ever: stop after MAX_ATTEMPTS
            give_up = note.attempts >= MAX_ATTEMPTS
            note.status = NoteStatus.SKIPPED if give_up else NoteStatus.PENDING
            note.updated_at, note.last_error = now, mask_phones(error)[:500]


def release_stale(session: Session, cutoff: datetime) -> int:
    """Notes left in ``writing`` by a dead worker go back to pending (a duplicate note is
    better than a card that never shows the message)."""
    result = session.execute(update(SmsNote).where(SmsNote.status == NoteStatus.WRITING,
                                                   SmsNote.updated_at < cutoff)
                             .values(status=NoteStatus.PENDING))
    return int(result.rowcount or 0)
