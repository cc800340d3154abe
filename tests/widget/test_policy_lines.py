"""The panel's domain functions on both databases: lines, money, removal, adoption, the won
reaction — without HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from amo_bridge.accounts import create_account
from amo_bridge.clock import FrozenClock
from amo_bridge.db import Database
from amo_bridge.ledger.changes import DealWon, reactions_for
from amo_bridge.ledger.policies import policy_from_deal
from amo_bridge.ledger.policy_lines import (
    LineError,
    LineInput,
    add_line,
    deal_lines,
    edit_line,
    is_managed,
    preview_line,
    price_roubles,
    remove_line,
    sync_sold_on,
)
from amo_bridge.models import Account, CommissionRate, Deal, MoneyLine, Policy, SalaryRule, User
from amo_bridge.products import default_products

CLOCK = FrozenClock(datetime(2026, 11, 20, 9, tzinfo=UTC))
WON_AT = datetime(2026, 11, 10, 21, 30, tzinfo=UTC)  # 11 November in Moscow


@pytest.fixture
def db(migrated_url):
    database = Database(migrated_url)
    with database.session() as session:
        account, _ = create_account(session, amocrm_id=1, subdomain="broker",
                                    base_url="https://broker.amocrm.ru")
        for amocrm_id, name in ((11, "Анна"), (12, "Борис")):
            session.add(User(account_id=account.id, amocrm_id=amocrm_id, name=name))
        session.add(Deal(account_id=account.id, amocrm_id=500, name="Сделка",
                         responsible_amocrm_id=11))
        session.add(SalaryRule(account_id=account.id, role="seller", product_code="*",
                               user_key="*", basis="income_pct", pct=Decimal("40"),
                               valid_from=date(2026, 1, 1)))
    yield database
    database.dispose()


def _deal(session) -> tuple[Account, Deal]:
    return session.scalar(select(Account)), session.scalar(select(Deal))


def _money(session, policy_id: int) -> list[tuple[str, int]]:
    return [(m.kind, m.premium) for m in session.scalars(
        select(MoneyLine).where(MoneyLine.policy_id == policy_id).order_by(MoneyLine.seq))]


LINE = LineInput(product_code="kasko", premium=5_000_000, insurer=" Ингосстрах ",
                 commission_pct=Decimal("12.5"), starts_on=date(2026, 11, 15),
                 ends_on=date(2027, 11, 14), issuer_amocrm_id=12)


def test_a_line_is_priced_with_defaults_from_the_deal(db):
    with db.session() as session:
        account, deal = _deal(session)
        policy = add_line(session, account, deal, LINE, by=11, clock=CLOCK)
        assert (policy.insurer, policy.income, policy.seller_amocrm_id) == (
            "Ингосстрах", 625_000, 11)  # the seller defaults to the responsible
        assert policy.seller_share == 250_000  # 40 % of the income
        assert policy.sold_on is None and _money(session, policy.id) == []
        assert is_managed([policy]) and price_roubles([policy]) == 50_000


def test_winning_books_and_unwinning_reverses(db):
    with db.session() as session:
        account, deal = _deal(session)
        policy_id = add_line(session, account, deal, LINE, by=11, clock=CLOCK).id
        deal.won_at = WON_AT
        [handler] = [f for name, f in reactions_for(DealWon(account_id=account.id,
                                                            deal_id=deal.id, won_at=WON_AT))
                     if name == "policy_lines.sold_on"]
        handler(session, DealWon(account_id=account.id, deal_id=deal.id, won_at=WON_AT))
        policy = session.get(Policy, policy_id)
        assert policy.sold_on == date(2026, 11, 11)  # the day it was won, in Moscow
        assert _money(session, policy_id) == [("sale", 5_000_000)]
        handler(session, DealWon(account_id=account.id, deal_id=deal.id, won_at=WON_AT))
        assert _money(session, policy_id) == [("sale", 5_000_000)]  # a replay books nothing
        deal.won_at = None
        sync_sold_on(session, deal, clock=CLOCK)
        assert _money(session, policy_id) == [("sale", 5_000_000), ("reversal", -5_000_000)]


def test_edit_books_a_correction_and_remove_keeps_booked_history(db):
    with db.session() as session:
        account, deal = _deal(session)
        deal.won_at = WON_AT
        policy = add_line(session, account, deal, LINE, by=11, clock=CLOCK)
        other = add_line(session, account, deal, LineInput(product_code="ns", premium=100_000),
                         by=11, clock=CLOCK)
        _, changed = edit_line(session, account, deal, policy.id,
                               LineInput(**{**LINE.values(), "premium": 6_000_000}), clock=CLOCK)
        assert changed == ("premium",)
        assert _money(session, policy.id) == [("sale", 5_000_000), ("reversal", -5_000_000),
                                              ("correction", 6_000_000)]
        removal = remove_line(session, account, deal, other.id, clock=CLOCK)
        assert removal.outcome == "reversed"
        assert _money(session, other.id) == [("sale", 100_000), ("reversal", -100_000)]
        assert [p.id for p in deal_lines(session, deal)] == [policy.id]
        gone = session.get(Policy, other.id)
        assert gone.deal_id is None and gone.cancelled_on == date(2026, 11, 20)
        assert gone.external_key.startswith("removed:")


def test_unbooked_lines_are_deleted(db):
    with db.session() as session:
        account, deal = _deal(session)
        policy_id = add_line(session, account, deal, LINE, by=11, clock=CLOCK).id
        assert remove_line(session, account, deal, policy_id, clock=CLOCK).outcome == "deleted"
        assert session.get(Policy, policy_id) is None


@pytest.mark.parametrize("bad, key", [
    (LineInput(product_code="yacht", premium=1), "policy_lines.product"),
    (LineInput(product_code="osago", premium=-5), "policy_lines.premium"),
    (LineInput(product_code="osago", starts_on=date(2027, 1, 2), ends_on=date(2027, 1, 1)),
     "policy_lines.dates"),
    (LineInput(product_code="osago", seller_amocrm_id=999), "policy_lines.user"),
    (LineInput(product_code="osago", insured_object={"colour": "red"}), "policy_lines.object"),
])
def test_bad_lines_are_refused(db, bad, key):
    with db.session() as session:
        account, deal = _deal(session)
        with pytest.raises(LineError) as refused:
            add_line(session, account, deal, bad, by=11, clock=CLOCK)
        assert refused.value.key == key


def test_preview_fills_the_commission_from_the_rate_table_and_writes_nothing(db):
    with db.session() as session:
        account, deal = _deal(session)
        session.add(CommissionRate(account_id=account.id, insurer="Ингосстрах",
                                   product_code="kasko", valid_from=date(2026, 1, 1),
                                   rate_pct=Decimal("15")))
        session.flush()
        figures = preview_line(session, account, deal, LineInput(
            product_code="kasko", insurer="Ингосстрах", premium=1_000_000,
            starts_on=date(2026, 12, 1)))
        assert (figures.commission_pct, figures.commission_source, figures.income) == (
            Decimal("15.0000"), "rate", 150_000)
        assert session.scalars(select(Policy)).all() == []


def test_panel_lines_adopt_the_mapped_line_and_the_mirror_stops(db):
    with db.session() as session:
        account, deal = _deal(session)
        deal.won_at = WON_AT
        deal.price = 900_000
        deal.custom_fields = [{"field_id": 1, "field_name": "Вид страхования",
                               "values": [{"value": "ОСАГО"}]}]
        mapping = {"product": ["Вид страхования"]}
        assert policy_from_deal(session, account, deal, mapping=mapping,
                                products=default_products()) is not None
        [mapped] = deal_lines(session, deal)
        assert mapped.source == "deal"
        add_line(session, account, deal, LINE, by=11, clock=CLOCK)
        assert [p.source for p in deal_lines(session, deal)] == ["widget", "widget"]
        deal.price = 1_000_000
        assert policy_from_deal(session, account, deal, mapping=mapping,
                                products=default_products()) is None
        assert [p.premium for p in deal_lines(session, deal)] == [900_000, 5_000_000]
