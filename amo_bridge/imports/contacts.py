"""Matching imported clients to the mirrored contacts, and creating the missing ones locally.

The rules, in order (README "Contacts"):

1. an amoCRM contact id in the row («ID контакта») names the contact, if the mirror has it;
2. any of the row's phones, normalised to E.164, found among the contacts' phones. When several
   contacts share the phone (a family, a duplicate in amoCRM), the one whose full name matches
   wins, else the oldest;
3. a row with no phone matches by full name only — at least two words, compared case-, ё- and
   word-order-insensitively — and only when exactly one contact carries that name;
4. otherwise a new contact is created here (without an amoCRM id) and queued for creation in
   amoCRM by a background job. Later rows of the same file with one of its phones — or, without
   phones, with the same name — join it, so a client with three policies becomes one contact.

A row whose phone is new never joins an existing contact by name: the phone is the stronger
identity, and merging two people is worse than leaving a duplicate for a human to merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.imports.bulk import insert_rows, reserve_ids
from amo_bridge.imports.people import name_key
from amo_bridge.imports.push import phone_label
from amo_bridge.imports.rows import Client
from amo_bridge.models import Contact, ContactKind, ContactPhone, ImportContact

CHUNK = 500  # ids per IN (…) list
_CONTACT = ContactKind.CONTACT.value


@dataclass
class ContactStats:
    matched: set[int] = field(default_factory=set)
    created: list[int] = field(default_factory=list)


class ContactResolver:
    def __init__(self, session: Session, account_id: int, *, dry_run: bool = False,
                 run_id: int | None = None) -> None:
        self.session = session
        self.account_id = account_id
        self.dry_run = dry_run
        self.run_id = run_id
        self.stats = ContactStats()
        self._phones: dict[str, list[tuple[int, str]]] = {}  # e164 → [(id, name key)]
        self._known_phones: set[str] = set()
        self._amocrm: dict[int, int | None] = {}
        self._names: dict[str, list[int]] | None = None
        self._new_by_name: dict[str, int] = {}
        self._fake = 0
        self._created: set[int] = set()

    def resolve(self, clients: Sequence[Client]) -> list[int]:
        """The local contact id for each client (new contacts are inserted in bulk)."""
        self._load_amocrm_ids([c.amocrm_id for c in clients if c.amocrm_id])
        self._load_phones([p for c in clients for p in c.phones])
        result: list[int | None] = []
        pending: list[tuple[int, Client]] = []
        for position, client in enumerate(clients):
            found = self._existing(client)
            if found is not None:
                if found > 0 and found not in self._created:
                    self.stats.matched.add(found)
                result.append(found)
            else:
                result.append(None)
                pending.append((position, client))
        if pending:
            self._create(pending, result)
        return result  # type: ignore[return-value]  # every position is filled by now

    # --- lookups --------------------------------------------------------------------------

    def _load_amocrm_ids(self, ids: list[int]) -> None:
        wanted = [i for i in dict.fromkeys(ids) if i not in self._amocrm]
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            rows = self.session.execute(select(Contact.amocrm_id, Contact.id).where(
                Contact.account_id == self.account_id, Contact.amocrm_id.in_(chunk),
                Contact.is_deleted.is_(False))).all()
            found = dict(rows)
            for amocrm_id in chunk:
                self._amocrm[amocrm_id] = found.get(amocrm_id)

    def _load_phones(self, phones: list[str]) -> None:
        wanted = [p for p in dict.fromkeys(phones) if p not in self._known_phones]
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            rows = self.session.execute(
                select(ContactPhone.phone, Contact.id, Contact.name)
                .join(Contact, Contact.id == ContactPhone.contact_id)
                .where(ContactPhone.account_id == self.account_id,
                       ContactPhone.phone.in_(chunk), Contact.is_deleted.is_(False))
                .order_by(Contact.id)
            ).all()
            for phone, contact_id, name in rows:
                self._phones.setdefault(phone, []).append((contact_id, name_key(name or "")))
            self._known_phones.update(chunk)

    def _load_names(self) -> dict[str, list[int]]:
        if self._names is None:
            self._names = {}
            rows = self.session.execute(select(Contact.id, Contact.name).where(
                Contact.account_id == self.account_id, Contact.is_deleted.is_(False),
                Contact.kind == ContactKind.CONTACT).order_by(Contact.id))
            for contact_id, name in rows:
                self._names.setdefault(name_key(name or ""), []).append(contact_id)
        return self._names

    def _existing(self, client: Client) -> int | None:
        if client.amocrm_id and self._amocrm.get(client.amocrm_id):
            return self._amocrm[client.amocrm_id]
        key = name_key(client.name)
        for phone in client.phones:
            candidates = self._phones.get(phone)
            if candidates:
                for contact_id, candidate_key in candidates:
                    if candidate_key == key:
                        return contact_id
                return candidates[0][0]
        if client.phones:
            return None
        if key in self._new_by_name:
            return self._new_by_name[key]
        if len(key.split()) >= 2:
            same = self._load_names().get(key, [])
            if len(same) == 1:
                return same[0]
        return None

    # --- creation -------------------------------------------------------------------------

    def _create(self, pending: list[tuple[int, Client]], result: list[int | None]) -> None:
        fresh: list[Client] = []
        owners: list[list[int]] = []  # positions in ``result`` each new contact serves
        by_phone: dict[str, int] = {}
        by_name: dict[str, int] = {}
        for position, client in pending:
            # A client seen earlier in this very batch (same phone, or same name without one).
            index = next((by_phone[p] for p in client.phones if p in by_phone), None)
            if index is None and not client.phones:
                index = by_name.get(name_key(client.name))
            if index is None:
                index = len(fresh)
                fresh.append(client)
                owners.append([])
                if not client.phones:
                    by_name[name_key(client.name)] = index
            for phone in client.phones:
                by_phone.setdefault(phone, index)
            owners[index].append(position)
        ids = self._insert(fresh)
        for contact_id, client, positions in zip(ids, fresh, owners, strict=True):
            for position in positions:
                result[position] = contact_id
            for phone in client.phones:
                self._phones[phone] = [(contact_id, name_key(client.name))]
                self._known_phones.add(phone)
            if not client.phones:
                self._new_by_name[name_key(client.name)] = contact_id
        self.stats.created.extend(ids)
        self._created.update(ids)

    def _insert(self, clients: list[Client]) -> list[int]:
        if not clients:
            return []
        if self.dry_run:
            # Nothing is written: stand-in ids keep the file's own clients together.
            ids = list(range(self._fake - 1, self._fake - 1 - len(clients), -1))
            self._fake -= len(clients)
            return ids
        ids = reserve_ids(self.session, Contact.__table__, len(clients))
        rows = [{
            "id": contact_id, "account_id": self.account_id, "kind": _CONTACT,
            "name": c.name[:255], "first_name": _cut(c.first_name, 128),
            "last_name": _cut(c.last_name, 128), "middle_name": _cut(c.middle_name, 128),
            "email": _cut(c.email, 255), "responsible_amocrm_id": c.responsible,
            "custom_fields": [], "is_deleted": False,
        } for contact_id, c in zip(ids, clients, strict=True)]
        insert_rows(self.session, Contact.__table__, rows)
        phones = [{"account_id": self.account_id, "contact_id": contact_id, "phone": phone,
                   "label": phone_label(phone)}
                  for contact_id, c in zip(ids, clients, strict=True) for phone in c.phones]
        if phones:
            insert_rows(self.session, ContactPhone.__table__, phones)
        insert_rows(self.session, ImportContact.__table__, [
            {"account_id": self.account_id, "contact_id": contact_id, "run_id": self.run_id,
             "status": "pending", "attempts": 0} for contact_id in ids])
        return ids


def _cut(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else value
