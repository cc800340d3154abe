"""The renewal tests' stack: the simulator and the bridge on loopback, the bridge's clock frozen.

Time moves only when a test says so (``stack.clock.advance(days=15)``): "today" for the
renewal scan is the bridge's clock in the account's timezone (Europe/Moscow).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from amo_bridge.clock import FrozenClock, local_today
from amo_bridge.devstack import local_stack
from amo_bridge.models import Contact, Policy, Renewal
from amo_bridge.settings import load_settings

SALES, RENEWALS = 7811001, 7811002
NEW, ISSUING, SOON, WON, LOST = 61100002, 61100005, 61200002, 142, 143
ADMIN, VOLKOV, ORLOVA, KUZNETSOV = 8011001, 8011002, 8011003, 8011004
KASKO, OSAGO, IFL, MORTGAGE = 1102002, 1102001, 1102003, 1102004
INGOSSTRAKH = 1102101
MSK = ZoneInfo("Europe/Moscow")


@pytest.fixture
def stack(migrated_url, tmp_path):
    settings = load_settings({"DATABASE_URL": migrated_url, "INSTANCE_PATH": str(tmp_path),
                              "JOB_MODE": "thread", "LOG_LEVEL": "WARNING",
                              "AMOCRM_RATE_PER_SECOND": "7"})
    # Noon in Moscow, so "today" does not flip while a test runs.
    clock = FrozenClock(datetime.combine(datetime.now(UTC).date(), time(9), tzinfo=UTC))
    with local_stack(settings, clock=clock, simulator_limit=50) as running:
        running.clock = clock
        yield running


def today(stack) -> date:
    return local_today(stack.clock, MSK)


def midnight(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=MSK).timestamp())


def add_contact(stack, name: str, *, responsible: int = ADMIN) -> int:
    return stack.sim("POST", "/contacts", [{
        "name": name, "responsible_user_id": responsible,
        "custom_fields_values": [{"field_code": "PHONE", "values": [
            {"value": "+7 999 123-45-67", "enum_code": "MOB"}]}]}])["ids"][0]


def won_deal(stack, *, ends_on: date, seller: int = VOLKOV, product: int = KASKO,
             name: str = "Иванова Анна Петровна", contact: int | None = None) -> tuple[int, int]:
    """A sales deal won in amoCRM (fields of a policy), mirrored: (lead id, contact id)."""
    contact = contact or add_contact(stack, name)
    lead = stack.sim("POST", "/leads", [{
        "name": f"{name}: страхование", "price": 86400, "pipeline_id": SALES, "status_id": NEW,
        "responsible_user_id": seller,
        "_embedded": {"contacts": [{"id": contact, "is_main": True}]},
        "custom_fields_values": [
            {"field_id": 1101001, "values": [{"enum_id": product}]},
            {"field_id": 1101002, "values": [{"enum_id": INGOSSTRAKH}]},
            {"field_id": 1101003, "values": [{"value": "AI-123456789"}]},
            {"field_id": 1101004, "values": [{"value": midnight(ends_on - timedelta(days=365))}]},
            {"field_id": 1101005, "values": [{"value": midnight(ends_on)}]},
            {"field_id": 1101006, "values": [{"value": "86400.00"}]},
        ]}])["ids"][0]
    stack.deliver()
    stack.sim("PATCH", f"/leads/{lead}", {"status_id": WON})
    stack.deliver()
    return lead, contact


def ledger_policy(stack, *, contact_amocrm_id: int, contact_name: str, product: str,
                  ends_on: date, kind: str = "ours", seller: int | None = VOLKOV,
                  entered_by: int | None = None, key: str | None = None) -> int:
    """A policy as an import (or the foreign-policy API) writes it, for a client in amoCRM."""
    with stack.runtime.session() as session:
        contact = session.scalar(select(Contact).where(
            Contact.account_id == stack.account_id, Contact.amocrm_id == contact_amocrm_id))
        if contact is None:
            contact = Contact(account_id=stack.account_id, amocrm_id=contact_amocrm_id,
                              name=contact_name)
            session.add(contact)
            session.flush()
        policy = Policy(account_id=stack.account_id, external_key=key or f"test:{product}:"
                        f"{contact_amocrm_id}:{ends_on}", kind=kind,
                        source="import" if kind == "ours" else "manual", product_code=product,
                        insurer="РЕСО-Гарантия", number=f"N-{contact_amocrm_id}",
                        premium=1_234_500, ends_on=ends_on, seller_amocrm_id=seller,
                        entered_by_amocrm_id=entered_by, contact_id=contact.id,
                        # an imported "ours" policy was sold a year before it ends
                        sold_on=(ends_on - timedelta(days=365)) if kind == "ours" else None)
        session.add(policy)
        session.flush()
        return policy.id


def scan(stack) -> dict:
    from jobs.renewals import scan_account

    result = scan_account(stack.account_id)
    stack.wait(timeout=60)
    return result


def renewal_leads(stack) -> list:
    """The bridge's renewal deals in amoCRM (the simulator): leads of the «Пролонгации» pipeline
    carrying a marker (the seed has hand-made renewal deals of its own)."""
    return [lead for lead in stack.client().leads(extra={"filter[pipeline_id]": RENEWALS})
            if "[ПР-" in lead.name]


def tasks_of(stack, lead_ids) -> list:
    return list(stack.client().tasks(entity_type="leads", entity_ids=list(lead_ids)))


def renewals(stack) -> list[Renewal]:
    with stack.runtime.db.read_session() as session:
        return list(session.scalars(select(Renewal).order_by(Renewal.id)))
