"""Loads the hand-computed money dataset (tests/fixtures/money/*.csv) through the real code.

Policies are priced with :func:`price_policy`, cancellations go through :func:`cancel_policy`,
corrections change a policy and price it again on the correction's day — exactly the calls the
mirror, the widget and the importer make. The expected figures beside the CSVs were computed by
hand (see the README there); the tests compare the reports with them to the kopeck.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from amo_bridge.accounts import create_account
from amo_bridge.clock import FrozenClock
from amo_bridge.db import Database
from amo_bridge.ledger.money import cancel_policy, price_policy
from amo_bridge.models import (
    CommissionRate,
    Contact,
    Deal,
    Plan,
    Policy,
    Renewal,
    SalaryRule,
    User,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "money"
MSK = ZoneInfo("Europe/Moscow")
#: "Today" of the dataset: the reports are read at the end of 2026.
TODAY = date(2026, 12, 31)
ACCOUNT_AMOCRM_ID = 31000001
SUBDOMAIN = "broker"
BASE_URL = "https://broker.amocrm.ru"


def rows(name: str) -> list[dict[str, str]]:
    with (FIXTURES / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _int(text: str) -> int | None:
    return int(text) if text not in ("", None) else None


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=MSK).astimezone(UTC)


@dataclass
class Loaded:
    account_id: int
    policies: dict[str, int] = field(default_factory=dict)  # CSV key -> policy id
    contacts: dict[str, int] = field(default_factory=dict)  # CSV key -> contact id
    users: dict[int, str] = field(default_factory=dict)  # amoCRM id -> name


def load(db: Database) -> Loaded:
    clock = FrozenClock(noon(TODAY))
    with db.session() as session:
        account, _ = create_account(
            session,
            amocrm_id=ACCOUNT_AMOCRM_ID,
            subdomain=SUBDOMAIN,
            base_url=BASE_URL,
            timezone="Europe/Moscow",
        )
        loaded = Loaded(account_id=account.id)
        for row in rows("users.csv"):
            rights = {
                entity: {"export": row[f"{entity}_export"]}
                for entity in ("leads", "contacts")
                if row[f"{entity}_export"]
            }
            session.add(
                User(
                    account_id=account.id,
                    amocrm_id=int(row["amocrm_id"]),
                    name=row["name"],
                    is_admin=row["is_admin"] == "1",
                    is_finance=row["is_finance"] == "1",
                    rights=rights,
                )
            )
            loaded.users[int(row["amocrm_id"])] = row["name"]
        for row in rows("contacts.csv"):
            contact = Contact(
                account_id=account.id, amocrm_id=int(row["amocrm_id"]), name=row["name"]
            )
            session.add(contact)
            session.flush()
            loaded.contacts[row["key"]] = contact.id
        deals: dict[int, Deal] = {}
        for row in rows("deals.csv"):
            closed = _day(row["closed_on"])
            created = closed - timedelta(days=2) if closed else date(2026, 12, 20)
            deal = Deal(
                account_id=account.id,
                amocrm_id=int(row["amocrm_id"]),
                name=row["name"],
                contact_id=loaded.contacts[row["contact"]],
                amocrm_created_at=noon(created),
                won_at=noon(closed) if row["state"] == "won" else None,
                lost_at=noon(closed) if row["state"] == "lost" else None,
                loss_reason=row["loss_reason"] or None,
            )
            session.add(deal)
            session.flush()
            deals[deal.amocrm_id] = deal
        for row in rows("rates.csv"):
            session.add(
                CommissionRate(
                    account_id=account.id,
                    insurer=row["insurer"],
                    product_code=row["product"],
                    valid_from=_day(row["valid_from"]),
                    rate_pct=Decimal(row["rate_pct"]),
                )
            )
        for row in rows("salary_rules.csv"):
            session.add(
                SalaryRule(
                    account_id=account.id,
                    role=row["role"],
                    product_code=row["product"],
                    user_key=row["user"],
                    basis=row["basis"],
                    pct=Decimal(row["pct"]) if row["pct"] else None,
                    fixed_amount=_int(row["fixed_amount"]),
                    valid_from=_day(row["valid_from"]),
                )
            )
        for row in rows("plans.csv"):
            session.add(
                Plan(
                    account_id=account.id,
                    user_amocrm_id=int(row["manager"]),
                    month=_day(row["month"] + "-01"),
                    product_code=row["product"],
                    income_target=_int(row["income_target"]),
                    premium_target=_int(row["premium_target"]),
                )
            )
        session.flush()

        policies: dict[str, Policy] = {}
        for row in rows("policies.csv"):
            deal = deals.get(_int(row["deal"])) if row["deal"] else None
            policy = Policy(
                account_id=account.id,
                external_key=row["key"],
                kind=row["kind"],
                source="import",
                product_code=row["product"],
                insurer=row["insurer"],
                number=row["number"],
                premium=int(row["premium"]),
                commission_pct=Decimal(row["commission_pct"]) if row["commission_pct"] else None,
                starts_on=_day(row["starts_on"]),
                ends_on=_day(row["ends_on"]),
                sold_on=_day(row["sold_on"]),
                seller_amocrm_id=_int(row["seller"]),
                issuer_amocrm_id=_int(row["issuer"]),
                contact_id=loaded.contacts[row["contact"]],
                deal_id=deal.id if deal else None,
            )
            session.add(policy)
            price_policy(session, policy, clock=clock)
            policies[row["key"]] = policy
            loaded.policies[row["key"]] = policy.id
        for index, row in enumerate(rows("renewals.csv")):
            policy = policies[row["policy"]]
            if row["renewed_by"]:
                policy.renewed_by_id = policies[row["renewed_by"]].id
            if row["status"]:
                session.add(
                    Renewal(
                        account_id=account.id,
                        policy_id=policy.id,
                        term_end=policy.ends_on,
                        status=row["status"],
                        marker=f"renewal-{index}",
                        assignee_amocrm_id=_int(row["assignee"]),
                    )
                )
        for row in rows("cancellations.csv"):
            cancel_policy(
                session,
                policies[row["policy"]],
                on=_day(row["on"]),
                refund=int(row["refund"]),
                clock=clock,
            )
        for row in rows("corrections.csv"):
            policy = policies[row["policy"]]
            setattr(policy, row["field"], int(row["value"]))
            price_policy(session, policy, clock=FrozenClock(noon(_day(row["on"]))))
    return loaded
