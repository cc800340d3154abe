"""Clients an import created locally, on their way to amoCRM (the job in ``jobs/imports.py``
does the HTTP; these functions only read and write the ledger).

Each contact is *claimed* (status ``creating``) and committed before its batch is sent, so a
worker killed mid-request leaves a trace: on the next attempt a ``creating`` contact is first
looked up in amoCRM by phone (or exact name) and adopted if it is there, never sent twice.
When the id comes back, the contact gets it — and with it every imported policy pointing at
that contact is linked to the amoCRM client. If the mirror saw the new contact's webhook first
and made its own row, the import's row is merged into the mirror's (policies and phones move).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from amo_bridge.amocrm import fields as amo_fields
from amo_bridge.amocrm.entities import Contact as AmoContact
from amo_bridge.amocrm.payloads import contact_payload
from amo_bridge.imports.people import name_key
from amo_bridge.models import (
    Contact,
    ContactPhone,
    ContactPushStatus,
    Deal,
    ImportContact,
    Policy,
)
from amo_bridge.phones import InvalidPhone, normalize_phone

BATCH = 50  # amoCRM takes at most 50 entities per write (AMOCRM.md "Batch writes")


def phone_label(e164: str) -> str:
    """amoCRM's phone enum: Russian mobiles are MOB, the rest WORK."""
    return "MOB" if e164.startswith("+79") else "WORK"


def request_id(contact_id: int) -> str:
    return f"import-contact:{contact_id}"


def claim(session: Session, account_id: int, *, stale_before: datetime,
          limit: int = BATCH) -> list[ImportContact]:
    """The next contacts to send, oldest first: pending ones, and ones sent before
    ``stale_before`` whose answer never arrived (a ``creating`` contact sent more recently may
    still be in flight in another worker)."""
    query = (select(ImportContact)
             .where(ImportContact.account_id == account_id,
                    or_(ImportContact.status == ContactPushStatus.PENDING,
                        (ImportContact.status == ContactPushStatus.CREATING)
                        & (ImportContact.updated_at < stale_before)))
             .order_by(ImportContact.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # two workers take different contacts
    return list(session.scalars(query))


def mark_creating(items: Iterable[ImportContact], *, now: datetime) -> None:
    """Mark claimed contacts as sent; the caller commits before the request goes out."""
    for item in items:
        item.status = ContactPushStatus.CREATING
        item.attempts += 1
        item.updated_at = now


def phones_of(session: Session, contact_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    rows = session.execute(select(ContactPhone.contact_id, ContactPhone.phone)
                           .where(ContactPhone.contact_id.in_(contact_ids))
                           .order_by(ContactPhone.id))
    for contact_id, phone in rows:
        found.setdefault(contact_id, []).append(phone)
    return found


def payloads(session: Session, items: Sequence[ImportContact]) -> list[dict[str, Any]]:
    ids = [item.contact_id for item in items]
    contacts = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))}
    phones = phones_of(session, ids)
    result = []
    for contact_id in ids:
        contact = contacts[contact_id]
        result.append(contact_payload(
            request_id=request_id(contact_id), name=contact.name,
            first_name=contact.first_name, last_name=contact.last_name,
            responsible_user_id=contact.responsible_amocrm_id,
            phones=[(p, phone_label(p)) for p in phones.get(contact_id, [])],
            emails=[contact.email] if contact.email else [],
        ))
    return result


def lookup_query(session: Session, item: ImportContact) -> tuple[str, set[str], str]:
    """What to search amoCRM for when an earlier send's outcome is unknown."""
    contact = session.get(Contact, item.contact_id)
    phones = set(phones_of(session, [item.contact_id]).get(item.contact_id, []))
    name = contact.name if contact else ""
    return (min(phones) if phones else name), phones, name_key(name)


def is_same(found: AmoContact, phones: set[str], key: str) -> bool:
    theirs = set()
    for choice in amo_fields.read_phones(found.custom_fields):
        try:
            theirs.add(normalize_phone(choice.value))
        except InvalidPhone:
            continue
    if phones:
        return bool(phones & theirs)
    return bool(key) and name_key(found.name) == key


def link(session: Session, item: ImportContact, amocrm_id: int) -> None:
    """Give the local contact its amoCRM id (merging into a mirror row that got there first)."""
    mirrored = session.scalar(select(Contact.id).where(
        Contact.account_id == item.account_id, Contact.amocrm_id == amocrm_id,
        Contact.id != item.contact_id))
    if mirrored is not None:
        for model in (Policy, Deal):
            session.execute(update(model).where(model.contact_id == item.contact_id)
                            .values(contact_id=mirrored))
        known = set(phones_of(session, [mirrored]).get(mirrored, []))
        session.execute(delete(ContactPhone).where(ContactPhone.contact_id == item.contact_id,
                                                   ContactPhone.phone.in_(known or {""})))
        session.execute(update(ContactPhone).where(ContactPhone.contact_id == item.contact_id)
                        .values(contact_id=mirrored))
        session.execute(delete(Contact).where(Contact.id == item.contact_id))  # cascades item
        return
    session.execute(update(Contact).where(Contact.id == item.contact_id)
                    .values(amocrm_id=amocrm_id))
    item.status = ContactPushStatus.CREATED
    item.last_error = None


def settle(session: Session, items: Sequence[ImportContact], *, ids: Mapping[str, int],
           errors: Mapping[str, Sequence[object]], unsent: Iterable[str]) -> dict[str, int]:
    """Record a batch's answer: created ids, refused items, items never sent."""
    counts = {"created": 0, "failed": 0, "retry": 0}
    unsent = set(unsent)
    for item in items:
        key = request_id(item.contact_id)
        if key in ids:
            link(session, item, ids[key])
            counts["created"] += 1
        elif key in errors:
            item.status = ContactPushStatus.FAILED
            item.last_error = "; ".join(str(e) for e in errors[key])[:2000]
            counts["failed"] += 1
        elif key in unsent:
            item.status = ContactPushStatus.PENDING  # never left: safe to send as new
            counts["retry"] += 1
        else:
            counts["retry"] += 1  # outcome unknown: stays ``creating``, looked up next time
    return counts
