"""The renewal domain on a real database (both backends): what is due, who gets it, the texts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from amo_bridge.accounts import create_account, set_section
from amo_bridge.clock import FrozenClock
from amo_bridge.db import Database
from amo_bridge.models import Account, AssigneeRule, Contact, Policy, Renewal, User
from amo_bridge.products import default_products
from amo_bridge.renewals import texts
from amo_bridge.renewals.config import load_config, parse_config
from amo_bridge.renewals.create import marker_in
from amo_bridge.renewals.due import due_query
from amo_bridge.renewals.followups import add_months
from amo_bridge.renewals.reserve import plan, reserve_due

TODAY = date(2026, 12, 1)
CLOCK = FrozenClock(datetime(2026, 12, 1, 9, tzinfo=UTC))  # noon in Moscow
A, B, C, BOSS = 11, 12, 13, 99


@pytest.fixture
def db(migrated_url):
    database = Database(migrated_url)
    with database.session() as session:
        account, _ = create_account(session, amocrm_id=1, subdomain="b", base_url="https://b")
        for amocrm_id in (A, B, C, BOSS):
            session.add(User(account_id=account.id, amocrm_id=amocrm_id, name=str(amocrm_id),
                             is_admin=amocrm_id == BOSS))
        session.add(Contact(account_id=account.id, amocrm_id=500, name="Клиент",
                            responsible_amocrm_id=C))
    yield database
    database.dispose()


def _account(session) -> Account:
    return session.scalar(select(Account))


def _policy(session, key: str, days: int, **kw) -> Policy:
    values = {"kind": "ours", "product_code": "osago", "seller_amocrm_id": A, **kw}
    if values["kind"] == "ours":
        values.setdefault("sold_on", TODAY - timedelta(days=300))  # a sold policy
    policy = Policy(account_id=_account(session).id, external_key=key,
                    ends_on=TODAY + timedelta(days=days), **values)
    session.add(policy)
    session.flush()
    return policy


def test_what_is_due(db):
    with db.session() as session:
        due = {_policy(session, "edge", 45).id, _policy(session, "soon", 3).id,
               _policy(session, "late", -7).id, _policy(session, "foreign", 20, kind="foreign").id,
               _policy(session, "unlisted", 10, product_code="yacht").id}
        _policy(session, "early", 46)
        _policy(session, "too-late", -8)
        _policy(session, "cancelled", 10, cancelled_on=TODAY)
        _policy(session, "travel", 5, product_code="travel")  # disabled by default
        renewed = _policy(session, "renewed", 10)
        renewed.renewed_by_id = _policy(session, "next", 375).id
        moved = _policy(session, "moved", 12)  # an open renewal for an earlier term blocks it
        session.add(Renewal(account_id=moved.account_id, policy_id=moved.id,
                            term_end=TODAY + timedelta(days=2), status="created", marker="m1"))
        closed = _policy(session, "closed", 14)  # a closed one for an earlier term does not
        session.add(Renewal(account_id=closed.account_id, policy_id=closed.id,
                            term_end=TODAY - timedelta(days=300), status="renewed", marker="m2"))
        due.add(closed.id)
    with db.session() as session:
        got = reserve_due(session, _account(session), clock=CLOCK)
        assert got.due == len(due) == len(got.renewal_ids)
        reserved = session.scalars(select(Renewal).where(Renewal.id.in_(got.renewal_ids)))
        assert {r.policy_id for r in reserved} == due
        markers = {r.marker for r in session.scalars(select(Renewal).where(
            Renewal.policy_id == closed.id))}
        assert markers == {"m2", f"ПР-{closed.id}-2"}  # the policy's second term
    with db.session() as session:
        assert reserve_due(session, _account(session), clock=CLOCK).due == 0


def test_the_scan_walks_the_index(db):
    config = parse_config({})
    statement = due_query(1, config, [p.code for p in default_products()], TODAY)
    with db.session() as session:
        connection = session.connection()
        sql, params = _as_executed(connection, statement)
        if connection.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
        else:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = connection.exec_driver_sql(f"EXPLAIN {sql}", params).all()
        plan = "\n".join(str(row) for row in rows)
        assert "ix_policy_renewable" in plan, plan
        # The renewal history is probed per candidate policy (correlated, by index), never
        # scanned or hashed whole; bench/renewal_scan.py shows the plan on 1 000 000 policies.
        if connection.dialect.name == "sqlite":
            assert "sqlite_autoindex_renewal" in plan and "SCAN renewal" not in plan, plan
        else:
            assert "SubPlan" in plan and "Anti Join" not in plan, plan


def _as_executed(connection, statement):
    """The SQL and parameters exactly as the driver receives them (expanded IN lists…)."""
    seen = []

    def grab(conn, cursor, sql, params, context, executemany):
        seen.append((sql, params))

    event.listen(connection, "before_cursor_execute", grab)
    try:
        connection.execute(statement).all()
    finally:
        event.remove(connection, "before_cursor_execute", grab)
    return seen[-1]


def _rule(session, **kw) -> AssigneeRule:
    rule = AssigneeRule(account_id=_account(session).id, product_code="*", cursor=0, **kw)
    session.add(rule)
    return rule


def _users(session) -> dict[int, User]:
    return {u.amocrm_id: u for u in session.scalars(select(User))}


def test_who_gets_it_when_people_are_away(db):
    with db.session() as session:
        users = _users(session)
        users[A].away_until = TODAY  # away through today
        users[A].backup_user_id = users[B].id
        _rule(session, policy_kind="ours", strategy="seller", fallback_amocrm_id=C)
        contact = session.scalar(select(Contact))
        _policy(session, "p1", 10, contact_id=contact.id)
        _policy(session, "p2", 11, seller_amocrm_id=None, contact_id=contact.id)
        _policy(session, "p3", 12, kind="foreign", entered_by_amocrm_id=B, seller_amocrm_id=None)
    with db.session() as session:
        got = [(p.assignee_amocrm_id, p.reason) for p in plan(session, _account(session),
                                                             clock=CLOCK)]
        assert got == [(B, f"backup of {A} (away until {TODAY})"),
                       (C, "seller"),  # no seller: the client's responsible manager
                       (B, "seller")]  # foreign without a rule: who entered it
        users = _users(session)
        users[B].is_active = False
        session.flush()
        got = [p.assignee_amocrm_id for p in plan(session, _account(session), clock=CLOCK)]
        assert got[0] == C  # backup inactive too: the rule's fallback
        users[C].away_until = TODAY + timedelta(days=3)
        session.flush()
        first = plan(session, _account(session), clock=CLOCK)[0]
        assert (first.assignee_amocrm_id, first.reason) == (BOSS, f"admin: nobody available "
                                                                   f"for {A} (away until {TODAY})")
        session.rollback()


def test_least_loaded_counts_open_renewals_and_this_run(db):
    with db.session() as session:
        _rule(session, policy_kind="ours", strategy="least_loaded", pool=[A, B, C])
        for n, who in enumerate((A, A, B)):  # open work already assigned
            done = _policy(session, f"old{n}", -30)
            done.cancelled_on = TODAY
            session.add(Renewal(account_id=done.account_id, policy_id=done.id, status="created",
                                term_end=done.ends_on, marker=f"o{n}", assignee_amocrm_id=who))
        for n in range(4):
            _policy(session, f"new{n}", 10 + n)
    with db.session() as session:
        planned = plan(session, _account(session), clock=CLOCK)
        assert [p.assignee_amocrm_id for p in planned] == [C, B, C, A]


def test_round_robin_advances_its_cursor_only_when_reserving(db):
    with db.session() as session:
        _rule(session, policy_kind="ours", strategy="round_robin", pool=[A, B, C])
        for n in range(4):
            _policy(session, f"p{n}", 10 + n)
    with db.session() as session:
        assert [p.assignee_amocrm_id for p in plan(session, _account(session), clock=CLOCK)] \
            == [A, B, C, A]
        assert session.scalar(select(AssigneeRule.cursor)) == 0
        reserve_due(session, _account(session), clock=CLOCK)
    with db.session() as session:
        assert session.scalar(select(AssigneeRule.cursor)) == 1
        assert sorted(session.scalars(select(Renewal.assignee_amocrm_id))) == [A, A, B, C]


def test_settings_overrides_by_kind_and_product(db):
    with db.session() as session:
        account = _account(session)
        set_section(session, account.id, "renewals", {
            "days_before": 40, "lost_followup_months": {"Дорого": 3, "default": 9},
            "schedules": [{"kind": "foreign", "days_before": 60},
                          {"product": "kasko", "days_before": 50, "tag": "каско"},
                          {"kind": "foreign", "product": "kasko", "days_before": 70}]})
        config = load_config(session, account.id)
    assert config.schedule("ours", "osago").days_before == 40
    assert config.schedule("foreign", "osago").days_before == 60
    assert (config.schedule("ours", "kasko").days_before,
            config.schedule("ours", "kasko").tag) == (50, "каско")
    assert config.schedule("foreign", "kasko").days_before == 70
    assert config.schedule("foreign", "kasko").tag == "каско"
    assert (config.months_after_loss("дорого"), config.months_after_loss("Другое")) == (3, 9)
    assert config.max_days_before() == 70


def test_texts_dates_and_markers():
    assert texts.short_name("Иванова Анна Петровна") == "Иванова А. П."
    assert texts.short_name("Анна Иванова", last="Иванова", first="Анна") == "Иванова А."
    assert texts.short_name("ООО «Ромашка»") == "ООО «Ромашка»"
    assert texts.rub(1_234_567) == "12\u00a0346 ₽"
    with pytest.raises(texts.TextProblem) as problem:
        texts.check_template("{{ product.__class__ }}", texts.RENEWAL_VARIABLES)
    assert problem.value.key == "renewals.template.forbidden"
    with pytest.raises(texts.TextProblem):
        texts.check_template("{% for x in product %}{% endfor %}", texts.RENEWAL_VARIABLES)
    assert texts.render("{{ product }}{% if number %} № {{ number }}{% endif %}",
                        {"product": "ОСАГО"}, texts.RENEWAL_VARIABLES) == "ОСАГО"
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 1, 31), 12) == date(2027, 1, 31)
    assert marker_in("Пролонгация — до 01.02.2027 [ПР-12]", "ПР-12")
    assert not marker_in("Пролонгация [ПР-123]", "ПР-12")
    assert not marker_in("Пролонгация [ПР-12-2]", "ПР-12")
