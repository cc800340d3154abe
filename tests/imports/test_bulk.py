"""``bulk.insert_rows`` stores exactly what the Core INSERT stores, column for column."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import insert, select

from amo_bridge.imports.bulk import insert_rows, reserve_ids
from amo_bridge.models import Policy


def _row(policy_id: int, account_id: int, n: int) -> dict:
    return {"id": policy_id, "account_id": account_id, "external_key": f"number:x:{policy_id}",
            "kind": "ours", "source": "import", "product_code": "osago", "insurer": "ВСК",
            "number": f"ХХХ {n}", "premium": 100_000 + n, "commission_pct": Decimal("12.5"),
            "income": 12_500, "starts_on": date(2024, 3, 1), "ends_on": date(2025, 2, 28),
            "sold_on": date(2024, 3, 1), "insured_object": {"make": "Kia", "n": n},
            "seller_amocrm_id": None}


def test_insert_rows_stores_what_the_core_insert_stores(ledger):
    columns = [c for c in Policy.__table__.c if c.key not in ("id", "external_key",
                                                                "created_at", "updated_at")]
    with ledger.db.session() as session:
        ids = reserve_ids(session, Policy.__table__, 4)
        insert_rows(session, Policy.__table__, [_row(ids[0], ledger.account_id, 1),
                                                _row(ids[1], ledger.account_id, 2)])
        session.execute(insert(Policy.__table__), [_row(ids[2], ledger.account_id, 1),
                                                   _row(ids[3], ledger.account_id, 2)])
        stored = session.execute(select(*columns, Policy.created_at)
                                 .where(Policy.id.in_(ids)).order_by(Policy.id)).all()
    fast, core = [tuple(r)[:-1] for r in stored[:2]], [tuple(r)[:-1] for r in stored[2:]]
    assert fast == core
    assert fast[0][columns.index(Policy.__table__.c.insured_object)] == {"make": "Kia", "n": 1}
    assert all(r[-1] is not None and r[-1].tzinfo is not None for r in stored)  # defaults ran
