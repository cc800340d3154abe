"""The renewal deal and its task, built from the ledger (inside the claim's transaction).

The deal: the schedule's pipeline and stage, name from the template plus the marker (unless the
account maps a marker field), the client (or company) linked, the renewal tag(s), the old
premium as the budget, and the schedule's ``copy_fields`` written through the account's field
mapping. Dates and the policy number are not copied by default: when the renewal deal is won
its fields become the *new* policy, and a stale end date there would make it due at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.accounts import get_section, products_for
from amo_bridge.amocrm.payloads import lead_payload, task_payload
from amo_bridge.models import Account, Contact, ContactKind, Policy, PolicyKind, Renewal, User
from amo_bridge.products import ProductDictionary
from amo_bridge.renewals import texts
from amo_bridge.renewals.config import RenewalConfig, Schedule
from amo_bridge.renewals.due import UNLISTED
from amo_bridge.renewals.remote import Catalog, copy_value

NAME_LIMIT = 255


def lead_request_id(renewal_id: int) -> str:
    return f"renewal:{renewal_id}"


def task_request_id(renewal_id: int) -> str:
    return f"renewal-task:{renewal_id}"


@dataclass
class Work:
    """One claimed renewal on its way to amoCRM."""

    renewal_id: int
    marker: str
    lead_id: int | None
    task_id: int | None
    #: It was left ``creating`` by an earlier attempt: look it up before sending anything.
    stale: bool
    pipeline_id: int | None
    lead: dict[str, Any] = field(default_factory=dict)
    task: dict[str, Any] = field(default_factory=dict)


def end_of_day(day: date, zone: str) -> datetime:
    """amoCRM's "all day" task deadline: 23:59 in the account's timezone."""
    return datetime.combine(day, time(23, 59), tzinfo=ZoneInfo(zone))


def values_for(policy: Policy, contact: Contact | None, products: ProductDictionary,
               users: Mapping[int, str], *, today: date, lang: str = "ru") -> dict[str, Any]:
    """Template values of one policy (see :data:`texts.RENEWAL_VARIABLES`)."""
    product = products.get(policy.product_code) if policy.product_code in products else None
    name = contact.name if contact else ""
    person = contact is not None and contact.kind == ContactKind.CONTACT
    vehicle = policy.insured_object or {}
    return {
        "product": product.name(lang) if product else policy.product_code,
        "client_name": name,
        "client_short": texts.short_name(name, last=contact.last_name, first=contact.first_name)
        if person else name,
        "ends_on": texts.day(policy.ends_on),
        "days_left": (policy.ends_on - today).days if policy.ends_on else None,
        "number": policy.number,
        "insurer": policy.insurer,
        "premium": texts.rub(policy.premium),
        "kind": "чужой" if policy.kind == PolicyKind.FOREIGN else "наш",
        "vehicle": " ".join(str(vehicle[k]) for k in ("make", "model", "plate") if vehicle.get(k)),
        "seller": users.get(policy.seller_amocrm_id or 0, ""),
    }


def _copied(policy: Policy, schedule: Schedule, catalog: Catalog,
            mapping: Mapping[str, Sequence[str]], products: ProductDictionary, tz: str
            ) -> list[dict[str, Any]]:
    product = products.get(policy.product_code) if policy.product_code in products else None
    vehicle = policy.insured_object or {}
    out = []
    for name in schedule.copy_fields:
        target = catalog.field(list(mapping.get(name, ())))
        if target is None:
            continue
        value = vehicle.get(name) if name in ("make", "model", "year", "plate", "vin") else (
            product if name == "product" else getattr(policy, name, None))
        entry = copy_value(target, name, value, tz=tz, product=product)
        if entry is not None:
            out.append(entry)
    return out


def build(session: Session, account: Account, renewals: Sequence[Renewal], *,
          config: RenewalConfig, catalog: Catalog, today: date) -> list[Work]:
    """Lead and task payloads for claimed renewals (reads only)."""
    policies = {p.id: p for p in session.scalars(
        select(Policy).where(Policy.id.in_([r.policy_id for r in renewals])))}
    contact_ids = {p.contact_id for p in policies.values() if p.contact_id}
    contacts = {c.id: c for c in session.scalars(
        select(Contact).where(Contact.id.in_(contact_ids)))} if contact_ids else {}
    users = dict(session.execute(select(User.amocrm_id, User.name)
                                 .where(User.account_id == account.id)).all())
    products = products_for(session, account.id)
    mapping = dict(get_section(session, account.id, "field_mapping").get("policy") or {})
    marker_field = catalog.field(config.marker_field) if config.marker_field else None
    work = []
    for renewal in renewals:
        policy = policies[renewal.policy_id]
        contact = contacts.get(policy.contact_id) if policy.contact_id else None
        schedule = config.schedule(policy.kind, policy.product_code if policy.product_code
                                   in products else UNLISTED)
        values = values_for(policy, contact, products, users, today=today)
        pipeline_id, status_id = catalog.stage(schedule.pipeline, schedule.status)
        name = texts.render(schedule.deal_name, values, texts.RENEWAL_VARIABLES)
        fields = _copied(policy, schedule, catalog, mapping, products, account.timezone)
        if marker_field is not None:
            fields.append({"field_id": marker_field.id, "values": [{"value": renewal.marker}]})
        else:
            suffix = f" [{renewal.marker}]"
            name = name[: NAME_LIMIT - len(suffix)] + suffix
        tags = [t for t in (schedule.tag, config.foreign_tag if policy.kind ==
                            PolicyKind.FOREIGN else "") if t]
        lead = lead_payload(
            request_id=lead_request_id(renewal.id), name=name[:NAME_LIMIT],
            price=policy.premium // 100 if config.price_from_premium and policy.premium else None,
            pipeline_id=pipeline_id, status_id=status_id,
            responsible_user_id=renewal.assignee_amocrm_id, custom_fields_values=fields,
            tags=tags)
        if contact is not None and contact.amocrm_id:
            key = "companies" if contact.kind == ContactKind.COMPANY else "contacts"
            lead.setdefault("_embedded", {})[key] = [{"id": int(contact.amocrm_id)}]
        due = today + timedelta(days=schedule.task_due_days_after_creation)
        if policy.ends_on is not None:
            due = max(today, min(due, policy.ends_on))
        task = task_payload(
            request_id=task_request_id(renewal.id),
            text=texts.render(schedule.task_text, values, texts.RENEWAL_VARIABLES),
            complete_till=end_of_day(due, account.timezone), entity_type="leads",
            responsible_user_id=renewal.assignee_amocrm_id, task_type_id=schedule.task_type_id)
        work.append(Work(renewal_id=renewal.id, marker=renewal.marker,
                         lead_id=renewal.amocrm_lead_id, task_id=renewal.amocrm_task_id,
                         stale=renewal.status == "creating", pipeline_id=pipeline_id,
                         lead=lead, task=task))
    return work
