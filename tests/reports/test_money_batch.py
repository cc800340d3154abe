"""The batch money engine books exactly what ``price_policy`` books policy by policy.

A seeded random ledger — two accounts in different timezones, rate tables with "any insurer"
rows and insurer names spelled several ways, personal and general salary rules of every basis,
policies with and without commissions, dates, sellers; some already booked, some cancelled
before or after booking, then changed (premium, commission cleared, start date, un-won,
won, turned foreign, new seller…) — is priced once by ``price_policy`` in a loop and once by
``price_policies``, each in a transaction that is rolled back. The money lines (every column
but the id; a reversal's target by policy and seq) and the policies' figures must be equal.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import aliased

from amo_bridge.accounts import create_account
from amo_bridge.clock import FrozenClock
from amo_bridge.db import Database
from amo_bridge.ledger.money import (
    KEEPABLE,
    MoneyError,
    cancel_policy,
    price_policy,
    uncancel_policy,
)
from amo_bridge.ledger.money_batch import book_policies, price_policies
from amo_bridge.models import ANY, CommissionRate, LineKind, MoneyLine, Policy, SalaryRule
from amo_bridge.products import fold

#: When the earlier bookings were made, and "now" of the run (already 1 January in Vladivostok).
EARLIER = FrozenClock(datetime(2026, 6, 30, 21, 30, tzinfo=UTC))
NOW = FrozenClock(datetime(2026, 12, 31, 20, 30, tzinfo=UTC))
PRODUCTS = ("osago", "kasko", "ipoteka", "dms", "ns")  # no rate or rule mentions "ns"
RATE_INSURERS = (ANY, "Ингосстрах", "ИНГОССТРАХ", "РЕСО-Гарантия", "Согласие")
POLICY_INSURERS = ("Ингосстрах", " ингосстрах ", "РЕСО Гарантия", "Согласие", "ВСК", None, "")
USERS = (101, 102, 103, 104, 105)
#: Line columns not compared: the id, and those compared as keys (policy, reversal's target).
_SKIP = {"id", "policy_id", "reverses_id"}


def _day(rnd: random.Random, first: date = date(2024, 1, 1), days: int = 1100) -> date:
    return first + timedelta(days=rnd.randrange(days))


def _pct(rnd: random.Random) -> Decimal:
    """0 to 30 %, with 0 to 4 decimals (what Percent stores)."""
    digits = rnd.randrange(0, 5)
    return Decimal(rnd.randrange(0, 30 * 10**digits)).scaleb(-digits)


def _account(session, rnd: random.Random, n: int, timezone: str) -> int:
    account, _ = create_account(session, amocrm_id=700 + n, subdomain=f"batch{n}",
                                base_url="https://x.amocrm.ru", timezone=timezone)
    seen: set[tuple] = set()
    for _ in range(40):
        insurer, product = rnd.choice(RATE_INSURERS), rnd.choice(PRODUCTS[:4])
        valid_from = _day(rnd, date(2023, 6, 1), 1300)
        # Two spellings of one insurer from the same day would make find_rate's choice depend
        # on the database's row order: a tie the rate table must not contain.
        key = (insurer if insurer == ANY else fold(insurer), product, valid_from)
        if key not in seen:
            seen.add(key)
            session.add(CommissionRate(account_id=account.id, insurer=insurer,
                                       product_code=product, valid_from=valid_from,
                                       rate_pct=_pct(rnd)))
    for _ in range(40):
        role, product = rnd.choice(("seller", "issuer")), rnd.choice((*PRODUCTS[:4], ANY))
        user = rnd.choice((*[str(u) for u in USERS[:3]], ANY, ANY))
        valid_from = _day(rnd, date(2023, 6, 1), 1300)
        if (role, product, user, valid_from) in seen:
            continue
        seen.add((role, product, user, valid_from))
        basis = rnd.choice(("income_pct", "premium_pct", "fixed"))
        session.add(SalaryRule(
            account_id=account.id, role=role, product_code=product, user_key=user, basis=basis,
            pct=_pct(rnd) if basis != "fixed" else None,
            fixed_amount=rnd.randrange(0, 500_000) if basis == "fixed" else None,
            valid_from=valid_from))
    session.flush()
    return account.id


def _policy(rnd: random.Random, account_id: int, key: str) -> Policy:
    sold = _day(rnd) if rnd.random() < 0.85 else None
    return Policy(
        account_id=account_id, external_key=key, source="import",
        kind="ours" if rnd.random() < 0.85 else "foreign",
        product_code=rnd.choice(PRODUCTS), insurer=rnd.choice(POLICY_INSURERS),
        premium=rnd.choice((0, rnd.randrange(1, 50_000_000), 1_234_567, 99)),
        commission_pct=_pct(rnd) if rnd.random() < 0.5 else None,
        # Kept figures as a historical ledger states them.
        income=rnd.randrange(0, 900_000), seller_share=rnd.randrange(0, 90_000),
        issuer_share=rnd.randrange(0, 90_000),
        starts_on=(sold or _day(rnd)) + timedelta(days=rnd.randrange(-5, 30))
        if rnd.random() < 0.8 else None,
        sold_on=sold,
        seller_amocrm_id=rnd.choice((*USERS, 199, None)),
        issuer_amocrm_id=rnd.choice((*USERS, None)))


def _keep(rnd: random.Random) -> frozenset[str]:
    return frozenset(name for name in sorted(KEEPABLE) if rnd.random() < 0.2)


def _change(rnd: random.Random, policy: Policy) -> None:
    """What a corrected spreadsheet, the widget or a deal may change on a policy."""
    what = rnd.randrange(9)
    if what == 0:
        policy.premium = rnd.randrange(0, 50_000_000)
    elif what == 1:
        policy.commission_pct = None  # a manual commission erased: the rate table fills it
    elif what == 2:
        policy.starts_on = _day(rnd)
    elif what == 3:
        policy.sold_on = None  # the deal is no longer won
    elif what == 4:
        policy.sold_on = _day(rnd)
    elif what == 5:
        policy.kind = "foreign" if policy.kind == "ours" else "ours"
    elif what == 6:
        policy.seller_amocrm_id = rnd.choice((*USERS, None))
    elif what == 7:
        policy.insurer, policy.product_code = rnd.choice(POLICY_INSURERS), rnd.choice(PRODUCTS)
    else:
        policy.commission_pct = _pct(rnd)


def _seed(db: Database, seed: int, count: int) -> dict[str, frozenset[str]]:
    """The committed ledger to price; returns the figures to keep per policy key."""
    rnd = random.Random(seed)
    keep: dict[str, frozenset[str]] = {}
    with db.session() as session:
        accounts = [_account(session, rnd, 1, "Europe/Moscow"),
                    _account(session, rnd, 2, "Asia/Vladivostok")]
        policies = []
        for n in range(count):
            policy = _policy(rnd, rnd.choice(accounts), f"p{n}")
            session.add(policy)
            keep[policy.external_key] = _keep(rnd)
            policies.append(policy)
        session.flush()
        for policy in policies:
            if rnd.random() < 0.6:  # booked earlier, with the figures kept back then
                price_policy(session, policy, clock=EARLIER, keep_figures=_keep(rnd))
            if rnd.random() < 0.25 and policy.premium > 0:
                on = (policy.sold_on or date(2024, 1, 1)) + timedelta(days=rnd.randrange(0, 200))
                cancel_policy(session, policy, on=on, refund=rnd.randrange(0, policy.premium + 1),
                              clock=EARLIER)
                if rnd.random() < 0.2:
                    uncancel_policy(session, policy, clock=EARLIER)
        for policy in policies:
            if rnd.random() < 0.5:
                _change(rnd, policy)
                if rnd.random() < 0.3:
                    _change(rnd, policy)
    return keep


def _batch(session, seed: int) -> list[Policy]:
    """Every policy in a seeded order, a few twice, and a few new ones not yet flushed."""
    rnd = random.Random(seed + 1)
    policies = list(session.scalars(select(Policy).order_by(Policy.id)))
    rnd.shuffle(policies)
    policies += rnd.sample(policies, 5)
    accounts = sorted({p.account_id for p in policies})
    for n in range(12):
        fresh = _policy(rnd, rnd.choice(accounts), f"new{n}")
        session.add(fresh)
        policies.insert(rnd.randrange(len(policies)), fresh)
    return policies


def _snapshot(session, stamps: dict[str, object]) -> tuple[list[tuple], list[tuple]]:
    session.flush()
    target, owner = aliased(MoneyLine), aliased(Policy)
    columns = [c for c in MoneyLine.__table__.columns if c.name not in _SKIP]
    lines = session.execute(
        select(Policy.external_key, *columns, owner.external_key, target.seq)
        .join(Policy, Policy.id == MoneyLine.policy_id)
        .outerjoin(target, target.id == MoneyLine.reverses_id)
        .outerjoin(owner, owner.id == target.policy_id)
        .order_by(Policy.account_id, Policy.external_key, MoneyLine.seq)).all()
    policies = session.execute(
        select(Policy.account_id, Policy.external_key, Policy.commission_pct, Policy.income,
               Policy.seller_share, Policy.issuer_share, Policy.cancelled_on, Policy.refund,
               Policy.updated_at)
        .order_by(Policy.account_id, Policy.external_key)).all()
    # A row's updated_at moves only when its figures changed: which rows moved is compared.
    touched = [(*row[:-1], row[-1] != stamps.get(row[1])) for row in policies]
    return [tuple(row) for row in lines], touched


def _stamps(db: Database) -> dict[str, object]:
    with db.session() as session:
        return dict(session.execute(select(Policy.external_key, Policy.updated_at)).all())


def _held(policies: list[Policy]) -> list[tuple]:
    """The figures the policy objects hold in memory."""
    return [(p.external_key, p.commission_pct, p.income, p.seller_share, p.issuer_share)
            for p in policies]


def _returned(lines: list[MoneyLine]) -> list[tuple]:
    return [(line.policy_id, line.seq, line.kind, line.booked_on, line.premium, line.income,
             line.seller_share, line.issuer_share, line.reverses_id) for line in lines]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_batch_books_what_price_policy_books_one_by_one(migrated_url, seed):
    db = Database(migrated_url)
    try:
        keep = _seed(db, seed, 150)
        with db.session() as session:
            before = _snapshot(session, {})[0]
        stamps = _stamps(db)
        runs = {}
        for path in ("one_by_one", "batch"):
            session = db.sessionmaker()
            try:
                batch = _batch(session, seed)
                if path == "one_by_one":
                    written = [line for policy in batch for line in price_policy(
                        session, policy, clock=NOW, keep_figures=keep.get(policy.external_key,
                                                                          ()))]
                else:
                    written = price_policies(session, batch, clock=NOW,
                                             keep_figures=lambda p: keep.get(p.external_key, ()))
                runs[path] = (_returned(written), *_snapshot(session, stamps), _held(batch))
            finally:
                session.rollback()
                session.close()
    finally:
        db.dispose()
    one_by_one, batch = runs["one_by_one"], runs["batch"]
    assert batch[1] == one_by_one[1]  # every money line, column by column
    assert batch[2] == one_by_one[2]  # every policy's figures, and which rows were updated
    assert batch[3] == one_by_one[3]  # what the policy objects hold
    assert {row[-1] for row in batch[2]} == {True, False}
    if db.dialect == "sqlite":  # same ids after the rollback: the returned lines match too
        assert batch[0] == one_by_one[0]
    assert len(batch[0]) == len(one_by_one[0])

    # The random run really went through every path of the booking rules.
    new = Counter(one_by_one[1]) - Counter(before)
    assert {row[_at("kind")] for row in new} == {k.value for k in LineKind}
    assert {row[_at("commission_source")] for row in new} == {"rate", "manual", "none"}
    assert any(row[_at("seller_rule_id")] for row in new)
    assert any(row[_at("issuer_rule_id")] for row in new)


def _at(name: str) -> int:
    """A column's position in a snapshot's line (the policy's key comes first)."""
    return 1 + [c.name for c in MoneyLine.__table__.columns if c.name not in _SKIP].index(name)


def test_the_batch_takes_one_keep_for_all_and_refuses_what_price_policy_refuses(migrated_url):
    db = Database(migrated_url)
    try:
        _seed(db, 7, 60)
        stamps = _stamps(db)
        runs = {}
        for path in ("one_by_one", "batch"):
            session = db.sessionmaker()
            try:
                policies = list(session.scalars(select(Policy).order_by(Policy.id)))
                if path == "one_by_one":
                    for policy in policies:
                        price_policy(session, policy, clock=NOW, keep_figures=("income",))
                else:
                    price_policies(session, policies, clock=NOW, keep_figures=["income"])
                runs[path] = (*_snapshot(session, stamps), _held(policies))
            finally:
                session.rollback()
                session.close()
        assert runs["batch"] == runs["one_by_one"]

        with db.session() as session:
            policies = list(session.scalars(select(Policy).order_by(Policy.id)))
            lines = session.scalar(select(MoneyLine.id).order_by(MoneyLine.id.desc()).limit(1))
            with pytest.raises(MoneyError, match="cannot keep"):
                price_policies(session, policies, clock=NOW, keep_figures={"premium"})
            policies[-1].premium = -1
            figures = [(p.income, p.commission_pct) for p in policies]
            with pytest.raises(MoneyError, match="premium"):
                price_policies(session, policies, clock=NOW)
            # Nothing booked, no policy changed: the error came before any write.
            assert session.scalar(select(MoneyLine.id).order_by(MoneyLine.id.desc())
                                  .limit(1)) == lines
            assert [(p.income, p.commission_pct) for p in policies] == figures
            session.rollback()
            assert price_policies(session, [], clock=NOW) == []
    finally:
        db.dispose()


def test_the_batch_reads_and_writes_in_a_few_statements(migrated_url):
    """The point of the batch: its round trips do not grow with the number of policies."""
    db = Database(migrated_url)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split(None, 1)[0].upper())

    try:
        with db.session() as session:
            account, _ = create_account(session, amocrm_id=799, subdomain="few",
                                        base_url="https://x.amocrm.ru")
            account_id = account.id
            session.add_all([
                CommissionRate(account_id=account_id, insurer="Ингосстрах", product_code="osago",
                               valid_from=date(2026, 1, 1), rate_pct=Decimal("12.5")),
                CommissionRate(account_id=account_id, insurer=ANY, product_code="kasko",
                               valid_from=date(2025, 1, 1), rate_pct=Decimal("14"))])
            policies = [Policy(account_id=account_id, external_key=f"b{n}", kind="ours",
                               source="import", product_code=("osago", "kasko")[n % 2],
                               insurer="Ингосстрах", premium=100_000 + n,
                               starts_on=date(2026, 3, 1), sold_on=date(2026, 2, 27),
                               seller_amocrm_id=101, issuer_amocrm_id=102)
                        for n in range(300)]
            session.add_all(policies)
            session.flush()
            event.listen(db.engine, "before_cursor_execute", count)
            written = price_policies(session, policies, clock=NOW)
            event.remove(db.engine, "before_cursor_execute", count)
            assert [line.policy_id for line in written] == [p.id for p in policies]
            assert {(line.kind, line.income) for line in written[:2]} == {
                ("sale", 12_500), ("sale", 14_000)}
            # Lines, rates, salary rules, the account, the ids, one insert, the policies'
            # figures: not four queries and two flushes per policy.
            assert len(statements) <= 10, statements
            assert statements.count("INSERT") == 1, statements
            statements.clear()
            event.listen(db.engine, "before_cursor_execute", count)
            assert book_policies(session, policies, clock=NOW) == []  # nothing changed
            event.remove(db.engine, "before_cursor_execute", count)
            assert len(statements) <= 4, statements
    finally:
        db.dispose()
