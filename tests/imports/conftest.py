"""A seeded broker account for the import tests, and helpers to run an import and compare
the ledger before and after."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from amo_bridge.accounts import create_account
from amo_bridge.clock import FrozenClock
from amo_bridge.db import Database
from amo_bridge.imports import ImportOptions, ImportResult, import_policies
from amo_bridge.models import (
    CommissionRate,
    Contact,
    ContactPhone,
    ImportContact,
    MoneyLine,
    Policy,
    SalaryRule,
    User,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
NOW = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
USERS = ((8011001, "Анна Смирнова", True), (8011002, "Дмитрий Волков", False),
         (8011003, "Екатерина Орлова", False), (8011004, "Сергей Кузнецов", False))


@dataclass
class Ledger:
    db: Database
    account_id: int
    clock: FrozenClock

    def run(self, source: Path | bytes, *, filename: str | None = None, commit_batches=True,
            **options: Any) -> tuple[ImportResult, str]:
        """Import like the CLI does (a commit after every batch); returns the rejected CSV."""
        rejected = io.StringIO()
        opts = ImportOptions(**options)
        with self.db.session() as session:
            def after_batch(done: int, total: int | None) -> None:
                if commit_batches and not opts.dry_run:
                    session.commit()

            result = import_policies(
                session, account_id=self.account_id, source=source,
                filename=filename or (source.name if isinstance(source, Path) else "upload"),
                options=opts, clock=self.clock, after_batch=after_batch, rejected_out=rejected)
        return result, rejected.getvalue()

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every business column of the tables an import writes (timestamps excluded)."""
        tables = {
            "policy": (Policy, ("id", "external_key", "kind", "source", "product_code",
                                "insurer", "number", "premium", "commission_pct", "income",
                                "seller_share", "issuer_share", "starts_on", "ends_on",
                                "sold_on", "sum_insured", "deductible", "terms",
                                "insured_object", "seller_amocrm_id", "issuer_amocrm_id",
                                "contact_id", "deal_id", "cancelled_on", "refund")),
            "contact": (Contact, ("id", "amocrm_id", "name", "first_name", "last_name",
                                  "middle_name", "email", "responsible_amocrm_id")),
            "contact_phone": (ContactPhone, ("id", "contact_id", "phone", "label")),
            "money_line": (MoneyLine, ("id", "policy_id", "seq", "kind", "booked_on",
                                       "premium", "income", "seller_share", "issuer_share")),
            "import_contact": (ImportContact, ("id", "contact_id", "status")),
        }
        shot: dict[str, list[tuple]] = {}
        with self.db.session() as session:
            for name, (model, columns) in tables.items():
                rows = session.execute(select(*[getattr(model, c) for c in columns])
                                       .where(model.account_id == self.account_id)
                                       .order_by(model.id))
                shot[name] = [tuple(row) for row in rows]
        return shot


def seed(session, *, base_url: str = "http://127.0.0.1:9/s/demo-broker") -> int:
    account, _ = create_account(session, amocrm_id=31456789, subdomain="demo-broker",
                                base_url=base_url, name="Надёжный полис")
    for amocrm_id, name, admin in USERS:
        session.add(User(account_id=account.id, amocrm_id=amocrm_id, name=name, is_admin=admin))

    def contact(amocrm_id: int, name: str, *phones: str) -> Contact:
        row = Contact(account_id=account.id, amocrm_id=amocrm_id, name=name)
        session.add(row)
        session.flush()
        for phone in phones:
            session.add(ContactPhone(account_id=account.id, contact_id=row.id, phone=phone,
                                     label="MOB"))
        return row

    petrov = contact(5001, "Петров Пётр Петрович", "+79161234567")
    contact(5002, "Сидорова Мария")
    contact(5003, "Козлова Ирина", "+74951234567")
    contact(5004, "Козлов Андрей", "+74951234567")
    session.add(CommissionRate(account_id=account.id, insurer="*", product_code="ns",
                               valid_from=date(2020, 1, 1), rate_pct=Decimal("10")))
    session.add(SalaryRule(account_id=account.id, role="seller", basis="income_pct",
                           pct=Decimal("30"), valid_from=date(2020, 1, 1)))
    session.add(Policy(account_id=account.id, external_key="deal:9001", source="deal",
                       kind="ours", product_code="osago", insurer="Ингосстрах",
                       number="ТТТ 7000000001", premium=500000, starts_on=date(2024, 3, 1),
                       ends_on=date(2025, 2, 28), sold_on=date(2024, 3, 1),
                       contact_id=petrov.id))
    session.flush()
    return account.id


@pytest.fixture
def ledger(migrated_url: str) -> Iterator[Ledger]:
    db = Database(migrated_url)
    with db.session() as session:
        account_id = seed(session)
    yield Ledger(db, account_id, FrozenClock(NOW))
    db.dispose()
