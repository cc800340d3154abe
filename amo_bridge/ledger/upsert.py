"""Upserts of amoCRM entities into the ledger mirror: deals, contacts, companies, tasks.

Every upsert is idempotent and monotonic: a state older than the stored one (by amoCRM's
``updated_at``) never overwrites it, so duplicated, reordered and concurrent deliveries of the
same events converge on one correct state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from amo_bridge.amocrm import fields as amo_fields
from amo_bridge.amocrm.entities import Company, Lead
from amo_bridge.amocrm.entities import Contact as AmoContact
from amo_bridge.amocrm.entities import Task as AmoTask
from amo_bridge.ledger.changes import (
    Change,
    ContactUpdated,
    DealCreated,
    DealDeleted,
    TaskCompleted,
)
from amo_bridge.models import Account, Contact, ContactKind, ContactPhone, Deal, Task
from amo_bridge.phones import InvalidPhone, parse_phone

WON, LOST = 142, 143


def from_unix(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _newer(stored: datetime | None, incoming: datetime | None) -> bool:
    """True when ``incoming`` may replace ``stored`` (equal counts: re-reads are idempotent)."""
    return stored is None or incoming is None or incoming >= stored


def _by_amocrm_id(session: Session, model: Any, account_id: int, ids: Iterable[int]) -> dict:
    ids = list(set(ids))
    if not ids:
        return {}
    rows = session.scalars(
        select(model).where(model.account_id == account_id, model.amocrm_id.in_(ids))
    )
    return {row.amocrm_id: row for row in rows}


def _custom_fields_json(values: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "field_id": v.field_id,
            "field_name": v.field_name,
            "field_code": v.field_code,
            "field_type": v.field_type,
            "values": [
                {"value": item.value, "enum_id": item.enum_id, "enum_code": item.enum_code}
                for item in v.values
            ],
        }
        for v in values
    ]


def upsert_contacts(
    session: Session, account: Account, contacts: Iterable[AmoContact], *, by_bridge: set[int]
) -> list[Change]:
    changes: list[Change] = []
    contacts = list(contacts)
    existing = _by_amocrm_id(session, Contact, account.id, (c.id for c in contacts))
    for item in contacts:
        row = existing.get(item.id)
        updated = from_unix(item.updated_at)
        created = row is None
        if row is None:
            row = Contact(account_id=account.id, amocrm_id=item.id, kind=ContactKind.CONTACT)
            session.add(row)
            existing[item.id] = row
        elif not _newer(row.amocrm_updated_at, updated):
            continue
        row.name = item.name or " ".join(p for p in (item.first_name, item.last_name) if p)
        row.first_name = item.first_name or None
        row.last_name = item.last_name or None
        row.responsible_amocrm_id = item.responsible_user_id
        row.custom_fields = _custom_fields_json(item.custom_fields)
        emails = amo_fields.read_emails(item.custom_fields)
        row.email = emails[0].value if emails else None
        row.is_deleted = item.is_deleted
        row.amocrm_updated_at = updated
        session.flush()
        _replace_phones(session, account, row, item.custom_fields)
        changes.append(ContactUpdated(account_id=account.id, contact_id=row.id, created=created,
                                      by_bridge=item.id in by_bridge))
    return changes


def _replace_phones(session: Session, account: Account, row: Contact, custom_fields) -> None:
    wanted: dict[str, str | None] = {}
    for choice in amo_fields.read_phones(custom_fields):
        try:
            phone = parse_phone(choice.value)
        except InvalidPhone:
            continue  # kept in custom_fields as typed; only valid numbers are matchable
        wanted.setdefault(phone.e164, choice.enum_code)
    session.execute(delete(ContactPhone).where(ContactPhone.contact_id == row.id))
    for e164, label in wanted.items():
        session.add(ContactPhone(account_id=account.id, contact_id=row.id, phone=e164,
                                 label=label))


def upsert_companies(session: Session, account: Account, companies: Iterable[Company]) -> None:
    companies = list(companies)
    existing = _by_amocrm_id(session, Contact, account.id, (c.id for c in companies))
    for item in companies:
        row = existing.get(item.id)
        updated = from_unix(item.updated_at)
        if row is None:
            row = Contact(account_id=account.id, amocrm_id=item.id, kind=ContactKind.COMPANY)
            session.add(row)
        elif not _newer(row.amocrm_updated_at, updated):
            continue
        row.kind = ContactKind.COMPANY
        row.name = item.name
        row.responsible_amocrm_id = item.responsible_user_id
        row.custom_fields = _custom_fields_json(item.custom_fields)
        row.is_deleted = item.is_deleted
        row.amocrm_updated_at = updated
    session.flush()


def upsert_leads(
    session: Session, account: Account, leads: Iterable[Lead], *, by_bridge: set[int]
) -> tuple[dict[int, Deal], list[Change]]:
    """Upsert deals; returns the touched deals by amoCRM id and the changes seen."""
    leads = list(leads)
    existing = _by_amocrm_id(session, Deal, account.id, (lead.id for lead in leads))
    contact_ids = {c.id for lead in leads for c in lead.contacts} | {
        cid for lead in leads for cid in lead.company_ids
    }
    people = _by_amocrm_id(session, Contact, account.id, contact_ids)
    changes: list[Change] = []
    touched: dict[int, Deal] = {}
    for lead in leads:
        row = existing.get(lead.id)
        updated = from_unix(lead.updated_at)
        if row is None:
            row = Deal(account_id=account.id, amocrm_id=lead.id,
                       created_by_bridge=lead.id in by_bridge)
            session.add(row)
            existing[lead.id] = row
            session.flush()
            changes.append(DealCreated(account_id=account.id, deal_id=row.id,
                                       by_bridge=row.created_by_bridge))
        elif not _newer(row.amocrm_updated_at, updated):
            touched[lead.id] = row
            continue
        row.name = lead.name
        row.pipeline_id = lead.pipeline_id
        row.status_id = lead.status_id
        row.price = (lead.price or 0) * 100  # amoCRM's budget is whole roubles
        row.responsible_amocrm_id = lead.responsible_user_id
        row.tags = [t.name for t in lead.tags]
        row.custom_fields = _custom_fields_json(lead.custom_fields)
        main = next((c for c in lead.contacts if c.is_main), None) or next(
            iter(lead.contacts), None)
        row.contact_id = people[main.id].id if main and main.id in people else None
        company = next(iter(lead.company_ids), None)
        row.company_id = people[company].id if company in people else None
        row.loss_reason_id = lead.loss_reason_id
        if lead.loss_reason:
            row.loss_reason = lead.loss_reason
        row.is_deleted = lead.is_deleted
        row.amocrm_created_at = from_unix(lead.created_at)
        row.amocrm_updated_at = updated
        closed = from_unix(lead.closed_at) or updated
        row.won_at = (row.won_at or closed) if lead.status_id == WON else None
        row.lost_at = (row.lost_at or closed) if lead.status_id == LOST else None
        touched[lead.id] = row
    session.flush()
    return touched, changes


def mark_leads_deleted(session: Session, account: Account, ids: Iterable[int]) -> list[Change]:
    changes: list[Change] = []
    for row in _by_amocrm_id(session, Deal, account.id, ids).values():
        if not row.is_deleted:
            row.is_deleted = True  # restorable: the row and its history stay
            changes.append(DealDeleted(account_id=account.id, deal_id=row.id))
    session.flush()
    return changes


def upsert_tasks(
    session: Session, account: Account, tasks: Iterable[AmoTask], *, by_bridge: set[int]
) -> list[Change]:
    tasks = list(tasks)
    existing = _by_amocrm_id(session, Task, account.id, (t.id for t in tasks))
    changes: list[Change] = []
    for item in tasks:
        row = existing.get(item.id)
        updated = from_unix(item.updated_at)
        if row is None:
            row = Task(account_id=account.id, amocrm_id=item.id,
                       created_by_bridge=item.id in by_bridge)
            session.add(row)
            existing[item.id] = row
        elif not _newer(row.amocrm_updated_at, updated):
            continue
        was_completed = bool(row.is_completed)
        row.entity_type = item.entity_type
        row.entity_amocrm_id = item.entity_id
        row.task_type_id = item.task_type_id
        row.text = item.text
        row.responsible_amocrm_id = item.responsible_user_id
        row.complete_till = from_unix(item.complete_till)
        row.is_completed = item.is_completed
        row.result_text = item.result_text
        row.amocrm_updated_at = updated
        session.flush()
        if item.is_completed and not was_completed:
            row.completed_at = updated
            deal_id = contact_id = None
            if item.entity_type == "leads" and item.entity_id:
                deal = _by_amocrm_id(session, Deal, account.id, [item.entity_id])
                deal_id = deal[item.entity_id].id if deal else None
            elif item.entity_type == "contacts" and item.entity_id:
                person = _by_amocrm_id(session, Contact, account.id, [item.entity_id])
                contact_id = person[item.entity_id].id if person else None
            changes.append(TaskCompleted(account_id=account.id, task_id=row.id, deal_id=deal_id,
                                         contact_id=contact_id, task_type_id=item.task_type_id,
                                         by_bridge=item.id in by_bridge))
    return changes
