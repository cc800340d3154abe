"""``bulk.insert_rows`` stores exactly what the Core INSERT stores, column for column — an
``executemany`` on SQLite, ``COPY … FROM STDIN`` on PostgreSQL — and keeps PostgreSQL's planner
statistics up with what it loads."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from amo_bridge.imports import bulk
from amo_bridge.imports.bulk import insert_rows, reserve_ids
from amo_bridge.models import Contact, ContactPhone, ImportContact, MoneyLine, Policy

#: Text a COPY stream must escape (tab, newline, backslash, \N) and non-ASCII.
AWKWARD = "Иванов\tИван\nИванович \\N \\ «ООО \"Ромашка\"» ё"


def _policy(policy_id: int, account_id: int, n: int) -> dict:
    return {"id": policy_id, "account_id": account_id, "external_key": f"number:x:{policy_id}",
            "kind": "ours", "source": "import", "product_code": "osago", "insurer": "ВСК",
            "number": f"ХХХ {n}", "premium": 100_000 + n, "commission_pct": Decimal("12.5"),
            "income": 12_500, "starts_on": date(2024, 3, 1), "ends_on": date(2025, 2, 28),
            "sold_on": date(2024, 3, 1), "insured_object": {"make": "Kia", "n": n},
            "seller_amocrm_id": None}


def _contact(contact_id: int, account_id: int, n: int) -> dict:
    return {"id": contact_id, "account_id": account_id, "kind": "contact",
            "name": f"{AWKWARD} {n}", "first_name": "Иван" if n % 2 else None,
            "last_name": None, "middle_name": "", "email": None,
            "responsible_amocrm_id": 8011001, "custom_fields": [{"id": n, "v": AWKWARD}],
            "is_deleted": bool(n % 2),
            "marketing_consent_at": datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)}


def _line(line_id: int, account_id: int, policy_id: int, n: int) -> dict:
    return {"id": line_id, "account_id": account_id, "policy_id": policy_id, "seq": n,
            "kind": "sale", "booked_on": date(2024, 3, 1), "month": date(2024, 3, 1),
            "policies": 1, "sold_on": date(2024, 3, 1), "product_code": "osago",
            "insurer": "ВСК", "seller_amocrm_id": 8011001, "issuer_amocrm_id": None,
            "premium": -(10**12) - n % 2, "commission_pct": Decimal("12.34567"),  # 4 places
            "income": 123_457, "seller_share": 37_037, "issuer_share": 0,
            "commission_source": "rate", "rate_id": 7, "note": AWKWARD,
            "recorded_at": datetime(2024, 3, 1, 9, 0, tzinfo=UTC)}


def _stored(session, table: Table, ids: list[int]) -> list[tuple]:
    """Every column but the id (and the keys that tell rows apart), in id order."""
    skip = {"id", "external_key", "seq", "contact_id", "policy_id"}
    columns = [c for c in table.c if c.key not in skip]
    rows = session.execute(select(*columns).where(table.c.id.in_(ids)).order_by(table.c.id))
    return [tuple(row) for row in rows]


def _both_ways(session, table: Table, fast: list[dict], core: list[dict]) -> None:
    insert_rows(session, table, fast)
    session.execute(insert(table), core)


def test_insert_rows_stores_what_the_core_insert_stores(ledger):
    columns = [c for c in Policy.__table__.c if c.key not in ("id", "external_key",
                                                                "created_at", "updated_at")]
    with ledger.db.session() as session:
        ids = reserve_ids(session, Policy.__table__, 4)
        _both_ways(session, Policy.__table__,
                   [_policy(ids[0], ledger.account_id, 1), _policy(ids[1], ledger.account_id, 2)],
                   [_policy(ids[2], ledger.account_id, 1), _policy(ids[3], ledger.account_id, 2)])
        stored = session.execute(select(*columns, Policy.created_at)
                                 .where(Policy.id.in_(ids)).order_by(Policy.id)).all()
    fast, core = [tuple(r)[:-1] for r in stored[:2]], [tuple(r)[:-1] for r in stored[2:]]
    assert fast == core
    assert fast[0][columns.index(Policy.__table__.c.insured_object)] == {"make": "Kia", "n": 1}
    assert all(r[-1] is not None and r[-1].tzinfo is not None for r in stored)  # defaults ran


def test_contacts_phones_and_money_lines_store_what_the_core_insert_stores(ledger):
    """JSON, booleans, aware datetimes, NULLs, text a COPY stream must escape, serial ids the
    server gives, Python-side defaults and Percent's rounding: the same either way."""
    account = ledger.account_id
    with ledger.db.session() as session:
        contacts = reserve_ids(session, Contact.__table__, 4)
        _both_ways(session, Contact.__table__,
                   [_contact(contacts[0], account, 1), _contact(contacts[1], account, 2)],
                   [_contact(contacts[2], account, 1), _contact(contacts[3], account, 2)])
        phones = [[{"account_id": account, "contact_id": contact_id, "phone": "+79161234567",
                    "label": None if n else "MOB"} for n, contact_id in enumerate(pair)]
                  for pair in (contacts[:2], contacts[2:])]
        _both_ways(session, ContactPhone.__table__, *phones)
        pending = [[{"account_id": account, "contact_id": contact_id, "run_id": None}
                    for contact_id in pair] for pair in (contacts[:2], contacts[2:])]
        _both_ways(session, ImportContact.__table__, *pending)  # status, attempts: defaults
        policies = reserve_ids(session, Policy.__table__, 1)
        insert_rows(session, Policy.__table__, [_policy(policies[0], account, 1)])
        lines = reserve_ids(session, MoneyLine.__table__, 4)
        _both_ways(session, MoneyLine.__table__,
                   [_line(lines[0], account, policies[0], 1),
                    _line(lines[1], account, policies[0], 2)],
                   [_line(lines[2], account, policies[0], 3),
                    _line(lines[3], account, policies[0], 4)])
        stored = {
            "contact": _stored(session, Contact.__table__, contacts),
            "contact_phone": session.execute(
                select(ContactPhone.contact_id, ContactPhone.phone, ContactPhone.label)
                .where(ContactPhone.contact_id.in_(contacts))
                .order_by(ContactPhone.contact_id)).all(),
            "import_contact": session.execute(
                select(ImportContact.status, ImportContact.attempts, ImportContact.run_id,
                       ImportContact.created_at)
                .where(ImportContact.contact_id.in_(contacts))
                .order_by(ImportContact.contact_id)).all(),
            "money_line": _stored(session, MoneyLine.__table__, lines),
        }
    contact_columns = [c.key for c in Contact.__table__.c if c.key != "id"]
    created = contact_columns.index("created_at"), contact_columns.index("updated_at")

    def business(row: tuple) -> tuple:  # the batch's own timestamps differ from Core's
        return tuple(v for i, v in enumerate(row) if i not in created)

    fast, core = stored["contact"][:2], stored["contact"][2:]
    assert [business(r) for r in fast] == [business(r) for r in core]
    assert fast[0][contact_columns.index("name")] == f"{AWKWARD} 1"
    assert fast[0][contact_columns.index("custom_fields")] == [{"id": 1, "v": AWKWARD}]
    assert fast[0][contact_columns.index("is_deleted")] is True
    consent = fast[0][contact_columns.index("marketing_consent_at")]
    assert consent == datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    assert consent.tzinfo is not None
    assert fast[0][contact_columns.index("middle_name")] == ""  # not NULL
    assert all(r[created[0]].tzinfo is not None for r in stored["contact"])

    phones_stored = [(contacts.index(c) % 2, phone, label)
                     for c, phone, label in stored["contact_phone"]]
    assert phones_stored[:2] == phones_stored[2:] == [(0, "+79161234567", "MOB"),
                                                      (1, "+79161234567", None)]
    assert [tuple(r)[:3] for r in stored["import_contact"]] == [("pending", 0, None)] * 4
    assert all(r[3].tzinfo is not None for r in stored["import_contact"])

    assert stored["money_line"][:2] == stored["money_line"][2:]
    line_columns = [c.key for c in MoneyLine.__table__.c
                    if c.key not in ("id", "seq", "policy_id")]
    first = dict(zip(line_columns, stored["money_line"][0], strict=True))
    assert first["commission_pct"] == Decimal("12.3457")
    assert first["premium"] == -(10**12) - 1
    assert first["note"] == AWKWARD


def test_a_failed_bulk_write_leaves_nothing_and_the_session_usable(ledger):
    account = ledger.account_id
    with ledger.db.session() as session:
        ids = reserve_ids(session, Policy.__table__, 2)
        rows = [_policy(ids[0], account, 1), {**_policy(ids[1], account, 2), "id": ids[0]}]
        with pytest.raises(IntegrityError):  # as SQLAlchemy reports it, on both databases
            insert_rows(session, Policy.__table__, rows)  # the same id twice
        session.rollback()
        assert session.scalar(select(Policy.id).where(Policy.id.in_(ids))) is None
        insert_rows(session, Policy.__table__, [_policy(ids[1], account, 2)])
    with ledger.db.session() as session:
        assert session.scalars(select(Policy.id).where(Policy.id.in_(ids))).all() == [ids[1]]


def _planned_rows(session, account_id: int) -> float:
    """How many of the account's contacts the planner expects (its statistics)."""
    plan = session.execute(text("EXPLAIN (FORMAT JSON) SELECT id FROM contact "
                                "WHERE account_id = :a"), {"a": account_id}).scalar()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Plan"]["Plan Rows"]


def test_the_planner_learns_what_a_bulk_load_inserted(ledger):
    """PostgreSQL plans by statistics; a table loaded after its last ANALYZE looks empty, and
    the import's key lookups then scan the account's whole range batch after batch. (SQLite
    plans without statistics: there the load must simply land whole.)"""
    postgres = ledger.db.dialect == "postgresql"
    account, batch, total = ledger.account_id, 1000, 2 * bulk.ANALYZE_AFTER_ROWS
    with ledger.db.session() as session:
        before = session.scalar(select(func.count()).select_from(Contact))
        if postgres:
            session.execute(text("ANALYZE contact"))  # what a fresh database knows: 4 contacts
            assert _planned_rows(session, account) < 100
        for _ in range(total // batch):
            ids = reserve_ids(session, Contact.__table__, batch)
            insert_rows(session, Contact.__table__,
                        [_contact(contact_id, account, 0) for contact_id in ids])
            session.commit()  # as the importer does after every batch
        assert session.scalar(select(func.count()).select_from(Contact)) == before + total
        if postgres:
            # Analysed after 5 000 rows and again once they doubled: the planner knows them all.
            assert _planned_rows(session, account) > total * 0.9
