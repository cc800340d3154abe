"""The money rules: rates by date, one rounding rule, refunds as new lines, no history rewrites."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from amo_bridge.accounts import get_section, set_section
from amo_bridge.clock import FrozenClock
from amo_bridge.ledger import money
from amo_bridge.ledger.changes import StageMoved, reactions_for
from amo_bridge.ledger.money_rules import find_rate, percent_of, proportion_of, round_kopecks
from amo_bridge.ledger.money_stage import split_refund
from amo_bridge.models import Deal, LineKind, MoneyLine, Policy
from tests.reports.dataset import noon

CLOCK = FrozenClock(datetime(2026, 12, 31, 9, tzinfo=UTC))


def _lines(session, policy_id):
    return session.scalars(
        select(MoneyLine).where(MoneyLine.policy_id == policy_id).order_by(MoneyLine.seq)
    ).all()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.5", 1),
        ("-0.5", -1),
        ("1.49999", 1),
        ("2.5", 3),
        ("-2.5", -3),
        ("12500.5", 12501),
        ("154320.875", 154321),
        ("109999.89", 110000),
        ("0.4999", 0),
    ],
)
def test_one_rounding_rule_half_away_from_zero(value, expected):
    assert round_kopecks(Decimal(value)) == expected


def test_percentages_are_exact_and_symmetric():
    assert percent_of(100_004, Decimal("12.5")) == 12_501
    assert percent_of(-100_004, Decimal("12.5")) == -12_501
    assert percent_of(10**15, Decimal("12.3456")) == 123_456_000_000_000
    assert percent_of(1_000, None) == 0
    assert proportion_of(18_000, 300_000, 600_000) == 9_000
    assert proportion_of(5, 1, 2) == 3  # 2.5 → 3
    assert proportion_of(5, 1, 0) == 0


def test_rate_table_picks_the_rate_valid_on_the_start_date(money_db):
    db, loaded = money_db
    with db.session() as session:

        def rate(on, insurer="Ингосстрах", product="osago"):
            found = find_rate(
                session, loaded.account_id, insurer=insurer, product_code=product, on=on
            )
            return found.rate_pct if found else None

        assert rate(date(2024, 12, 31)) is None
        assert rate(date(2025, 1, 1)) == Decimal("10")
        assert rate(date(2025, 12, 31)) == Decimal("10")
        assert rate(date(2026, 1, 1)) == Decimal("12.5")  # valid-from is inclusive
        assert rate(date(2026, 1, 1), insurer="  ИНГОССТРАХ ") == Decimal("12.5")
        assert rate(date(2026, 5, 1), insurer="РЕСО", product="kasko") == Decimal("14")  # "*"
        assert rate(date(2026, 5, 1), product="kasko") == Decimal("15")  # specific beats "*"
        assert rate(date(2026, 5, 1), insurer="РЕСО", product="osago") is None

        # Last year's policy keeps last year's rate, and its refund uses it too.
        p0 = session.get(Policy, loaded.policies["P0"])
        p1 = session.get(Policy, loaded.policies["P1"])
        assert (p0.commission_pct, p0.income) == (Decimal("10"), 60_000)
        assert (p1.commission_pct, p1.income) == (Decimal("12.5"), 154_321)


def test_a_refund_is_a_negative_line_in_the_cancellation_month(money_db):
    db, loaded = money_db
    with db.session() as session:
        sale, refund = _lines(session, loaded.policies["P0"])
        assert (sale.kind, sale.month, sale.premium, sale.income) == (
            LineKind.SALE,
            date(2025, 12, 1),
            600_000,
            60_000,
        )
        assert (sale.seller_share, sale.issuer_share) == (18_000, 30_000)
        assert refund.kind == LineKind.CANCELLATION
        assert (refund.booked_on, refund.month) == (date(2026, 11, 20), date(2026, 11, 1))
        assert (refund.premium, refund.income, refund.seller_share, refund.issuer_share) == (
            -300_000,
            -30_000,
            -9_000,
            -15_000,
        )
        assert (refund.policies, refund.cancellations) == (0, 1)
        policy = session.get(Policy, loaded.policies["P0"])
        assert (policy.cancelled_on, policy.refund) == (date(2026, 11, 20), 300_000)
        # The policy keeps its sale figures: the refund is a line, not an edit.
        assert (policy.premium, policy.income) == (600_000, 60_000)


def test_cancelling_again_is_a_no_op_and_a_different_cancellation_is_refused(money_db):
    db, loaded = money_db
    with db.session() as session:
        policy = session.get(Policy, loaded.policies["P0"])
        assert (
            money.cancel_policy(session, policy, on=date(2026, 11, 20), refund=300_000, clock=CLOCK)
            is None
        )
        with pytest.raises(money.AlreadyCancelled):
            money.cancel_policy(session, policy, on=date(2026, 11, 21), refund=300_000, clock=CLOCK)
        p4 = session.get(Policy, loaded.policies["P4"])
        with pytest.raises(money.MoneyError, match="refund"):
            money.cancel_policy(
                session, p4, on=date(2026, 12, 1), refund=p4.premium + 1, clock=CLOCK
            )
        with pytest.raises(money.MoneyError, match="before the sale"):
            money.cancel_policy(session, p4, on=date(2026, 11, 1), refund=1, clock=CLOCK)
        assert len(_lines(session, policy.id)) == 2


def test_uncancel_reverses_the_refund_today(money_db):
    db, loaded = money_db
    with db.session() as session:
        policy = session.get(Policy, loaded.policies["P0"])
        line = money.uncancel_policy(session, policy, clock=CLOCK)
        assert (line.kind, line.booked_on, line.premium, line.income) == (
            LineKind.REVERSAL,
            date(2026, 12, 31),
            300_000,
            30_000,
        )
        assert (line.cancellations, policy.cancelled_on) == (-1, None)
        # Now it can be cancelled again, differently.
        again = money.cancel_policy(
            session, policy, on=date(2027, 1, 10), refund=600_000, clock=CLOCK
        )
        assert (again.premium, again.income, again.seller_share) == (-600_000, -60_000, -18_000)


def test_pricing_twice_books_nothing_and_a_change_books_a_reversal_and_a_correction(money_db):
    db, loaded = money_db
    with db.session() as session:
        policy = session.get(Policy, loaded.policies["P4"])
        assert money.price_policy(session, policy, clock=CLOCK) == []
        policy.seller_amocrm_id = 103  # the seller was wrong: Вера sold it
        reversal, correction = money.price_policy(session, policy, clock=CLOCK)
        assert (reversal.kind, reversal.seller_amocrm_id, reversal.seller_share) == (
            LineKind.REVERSAL,
            101,
            -80_000,
        )
        assert reversal.reverses_id is not None
        assert (correction.kind, correction.seller_amocrm_id, correction.booked_on) == (
            LineKind.CORRECTION,
            103,
            date(2026, 12, 31),
        )
        assert correction.seller_share == 264_000  # Вера's own rule: 40 % of 660 000
        assert money.lines_total(_lines(session, policy.id))["policies"] == 1


def test_an_unwon_deal_takes_back_its_sale_and_its_refund(money_db):
    db, loaded = money_db
    with db.session() as session:
        policy = session.get(Policy, loaded.policies["P6"])
        policy.sold_on = None
        written = money.price_policy(session, policy, clock=CLOCK)
        assert [line.kind for line in written] == [LineKind.REVERSAL, LineKind.REVERSAL]
        total = money.lines_total(_lines(session, policy.id))
        assert total == {
            "premium": 0,
            "income": 0,
            "seller_share": 0,
            "issuer_share": 0,
            "policies": 0,
            "cancellations": 0,
        }
        assert money.price_policy(session, policy, clock=CLOCK) == []


def test_a_commission_from_the_rate_table_follows_a_changed_start_date(money_db):
    db, loaded = money_db
    with db.session() as session:
        policy = session.get(Policy, loaded.policies["P1"])
        assert policy.commission_pct == Decimal("12.5")  # filled from the table
        policy.starts_on = date(2025, 12, 30)  # a typo fixed: it started last year
        reversal, correction = money.price_policy(session, policy, clock=CLOCK)
        assert correction.commission_pct == Decimal("10")
        assert correction.income == 123_457  # 1 234 567 × 10 % = 123 456.7
        assert correction.commission_source == "rate"


def test_foreign_policies_carry_no_money(money_db):
    db, loaded = money_db
    with db.session() as session:
        assert _lines(session, loaded.policies["F1"]) == []
        assert session.get(Policy, loaded.policies["F1"]).income == 0


def test_imported_figures_can_be_kept(money_db):
    db, loaded = money_db
    with db.session() as session:
        policy = Policy(
            account_id=loaded.account_id,
            external_key="import:1",
            kind="ours",
            source="import",
            product_code="osago",
            insurer="Ингосстрах",
            premium=1_000_000,
            income=99_999,
            seller_share=11_111,
            starts_on=date(2026, 6, 1),
            sold_on=date(2026, 5, 30),
            seller_amocrm_id=101,
            issuer_amocrm_id=102,
        )
        session.add(policy)
        (line,) = money.price_policy(
            session, policy, clock=CLOCK, keep_figures={"income", "seller_share"}
        )
        assert (line.commission_pct, line.income, line.seller_share, line.issuer_share) == (
            Decimal("12.5"),
            99_999,
            11_111,
            30_000,
        )
        with pytest.raises(money.MoneyError):
            money.price_policy(session, policy, clock=CLOCK, keep_figures={"premium"})


def test_split_refund_is_exact_and_capped():
    assert split_refund(100, [100, 100, 100]) == [34, 33, 33]
    assert split_refund(1_000, [300, 700]) == [300, 700]
    assert split_refund(5_000, [300, 700]) == [300, 700]
    assert sum(split_refund(999_999, [123_457, 654_321, 222_221])) == 999_999


def test_moving_a_deal_to_the_cancelled_stage_cancels_its_policies(money_db):
    db, loaded = money_db
    with db.session() as session:
        config = get_section(session, loaded.account_id, "cancellation")
        set_section(session, loaded.account_id, "cancellation", {**config, "status_ids": [777]})
        policy = session.get(Policy, loaded.policies["P4"])
        deal = session.get(Deal, policy.deal_id)
        deal.custom_fields = [
            {
                "field_id": 55,
                "field_name": "Сумма возврата",
                "field_type": "numeric",
                "values": [{"value": "12 345,67"}],
            }
        ]
        ((name, reaction),) = [
            r
            for r in reactions_for(
                StageMoved(
                    account_id=1,
                    deal_id=1,
                    event_id="x",
                    from_pipeline_id=None,
                    from_status_id=None,
                    to_pipeline_id=None,
                    to_status_id=None,
                    changed_at=noon(date(2026, 12, 5)),
                )
            )
            if r[0] == "money.cancel_on_stage"
        ]

        def move(status_id: int, event: str) -> None:
            reaction(
                session,
                StageMoved(
                    account_id=loaded.account_id,
                    deal_id=deal.id,
                    event_id=event,
                    from_pipeline_id=1,
                    from_status_id=10,
                    to_pipeline_id=1,
                    to_status_id=status_id,
                    changed_at=datetime(2026, 12, 4, 22, 30, tzinfo=UTC),
                ),
            )  # 5 Dec in Moscow

        move(10, "other-stage")
        assert policy.cancelled_on is None
        move(777, "ev-1")
        move(777, "ev-1")  # a replay changes nothing
        lines = _lines(session, policy.id)
        assert [line.kind for line in lines] == [LineKind.SALE, LineKind.CANCELLATION]
        assert (policy.cancelled_on, policy.refund) == (date(2026, 12, 5), 1_234_567)
        assert (lines[1].premium, lines[1].income, lines[1].seller_share) == (
            -1_234_567,
            -203_704,
            -24_691,
        )  # 16.5 % of 1 234 567 = 203 703.555; 80 000 × ratio


def test_a_refund_entered_before_the_sale_is_booked_follows_the_sale(money_db):
    db, loaded = money_db
    with db.session() as session:
        policy = Policy(
            account_id=loaded.account_id,
            external_key="early",
            kind="ours",
            product_code="osago",
            insurer="Ингосстрах",
            premium=1_000_000,
            starts_on=date(2026, 12, 2),
            seller_amocrm_id=101,
            issuer_amocrm_id=102,
        )
        session.add(policy)
        assert money.price_policy(session, policy, clock=CLOCK) == []  # not won yet
        assert (
            money.cancel_policy(session, policy, on=date(2026, 12, 5), refund=400_000, clock=CLOCK)
            is None
        )
        policy.sold_on = date(2026, 12, 1)
        sale, refund = money.price_policy(session, policy, clock=CLOCK)
        assert (sale.kind, sale.booked_on, sale.income) == (
            LineKind.SALE,
            date(2026, 12, 1),
            125_000,
        )
        assert (refund.kind, refund.booked_on, refund.premium, refund.income) == (
            LineKind.CANCELLATION,
            date(2026, 12, 5),
            -400_000,
            -50_000,
        )
        # Un-won, then won again: everything is taken back, then booked again, today.
        policy.sold_on = None
        assert len(money.price_policy(session, policy, clock=CLOCK)) == 2
        policy.sold_on = date(2026, 12, 1)
        again = money.price_policy(session, policy, clock=CLOCK)
        assert [(x.kind, x.booked_on) for x in again] == [
            (LineKind.CORRECTION, date(2026, 12, 31)),
            (LineKind.CANCELLATION, date(2026, 12, 31)),
        ]
        totals = money.lines_total(_lines(session, policy.id))
        assert (totals["premium"], totals["policies"], totals["cancellations"]) == (600_000, 1, 1)
