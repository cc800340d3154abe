"""Money, percentages and time survive both databases exactly."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from amo_bridge.db import Database
from amo_bridge.models import Account, CommissionRate, Policy

MOSCOW = timezone(timedelta(hours=3))


@pytest.fixture
def db(migrated_url: str):
    database = Database(migrated_url)
    yield database
    database.dispose()


def _account(session) -> Account:
    account = Account(
        amocrm_id=29085712, subdomain="demo-broker", base_url="https://demo-broker.amocrm.ru",
        webhook_token_hash="0" * 64,
    )
    session.add(account)
    session.flush()
    return account


@pytest.mark.parametrize(
    "kopecks",
    [
        12_345_678_901_234,  # 123 456 789 012.34 ₽: far past 32 bits of kopecks
        1,  # 0.01 ₽
        -9_999_999_999_99,  # a refund line
        2**63 - 1,
    ],
)
def test_money_round_trips_to_the_kopeck(db: Database, kopecks: int):
    with db.session() as session:
        account = _account(session)
        session.add(Policy(account_id=account.id, external_key="k", product_code="kasko",
                           premium=kopecks, income=kopecks))
    with db.session() as session:
        policy = session.query(Policy).one()
        assert policy.premium == kopecks and isinstance(policy.premium, int)
        assert policy.income == kopecks


def test_percentages_are_exact(db: Database):
    with db.session() as session:
        account = _account(session)
        session.add(CommissionRate(account_id=account.id, insurer="Ингосстрах",
                                   product_code="osago", valid_from=date(2026, 1, 1),
                                   rate_pct=Decimal("12.3456")))
    with db.session() as session:
        rate = session.query(CommissionRate).one().rate_pct
    assert rate == Decimal("12.3456") and isinstance(rate, Decimal)


def test_float_percentages_are_refused(db: Database):
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError, match="exact"):
        with db.session() as session:
            account = _account(session)
            session.add(CommissionRate(account_id=account.id, insurer="X", product_code="osago",
                                       valid_from=date(2026, 1, 1), rate_pct=12.5))


def test_aware_datetime_comes_back_as_the_same_instant(db: Database):
    moment = datetime(2026, 11, 21, 23, 59, 58, 123456, tzinfo=MOSCOW)
    with db.session() as session:
        account = _account(session)
        account.status_changed_at = moment
    with db.session() as session:
        stored = session.query(Account).one().status_changed_at
    assert stored == moment
    assert stored.utcoffset() == timedelta(0)
    assert stored.tzinfo is not None
    assert stored.astimezone(MOSCOW).isoformat() == "2026-11-21T23:59:58.123456+03:00"


def test_naive_datetimes_are_refused(db: Database):
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError, match="naive"):
        with db.session() as session:
            account = _account(session)
            account.status_changed_at = datetime(2026, 1, 1)  # noqa: DTZ001


def test_datetimes_order_correctly_across_offsets(db: Database):
    from sqlalchemy import select

    from amo_bridge.models import InboxEvent

    base = datetime(2026, 1, 1, 12, tzinfo=UTC)
    with db.session() as session:
        account = _account(session)
        for minutes, tz in [(30, MOSCOW), (0, UTC), (60, timezone(timedelta(hours=-5)))]:
            session.add(InboxEvent(account_id=account.id, source="t", body=b"",
                                   body_sha256=str(minutes),
                                   received_at=(base + timedelta(minutes=minutes)).astimezone(tz)))
    with db.session() as session:
        rows = session.scalars(
            select(InboxEvent.body_sha256)
            .where(InboxEvent.received_at > base)
            .order_by(InboxEvent.received_at)
        ).all()
    assert rows == ["30", "60"]


def test_policy_dates_are_plain_dates(db: Database):
    with db.session() as session:
        account = _account(session)
        session.add(Policy(account_id=account.id, external_key="d", product_code="osago",
                           starts_on=date(2026, 3, 16), ends_on=date(2027, 3, 15)))
    with db.session() as session:
        policy = session.query(Policy).one()
    assert policy.ends_on == date(2027, 3, 15) and type(policy.ends_on) is date
