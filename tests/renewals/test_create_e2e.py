"""End to end through the simulator with a moving clock: renewal deals and tasks, exactly once."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from amo_bridge.amocrm.errors import OutcomeUnknown
from amo_bridge.models import AssigneeRule, Renewal, RenewalStatus
from tests.renewals.conftest import (
    KUZNETSOV,
    MSK,
    ORLOVA,
    RENEWALS,
    SOON,
    VOLKOV,
    add_contact,
    ledger_policy,
    renewal_leads,
    renewals,
    scan,
    tasks_of,
    today,
    won_deal,
)


def test_a_won_deal_ending_in_60_days_gets_its_renewal_on_day_15(stack):
    ends = today(stack) + timedelta(days=60)
    _, contact = won_deal(stack, ends_on=ends, seller=VOLKOV)

    assert scan(stack)["due"] == 0 and renewal_leads(stack) == []
    stack.clock.advance(days=14)  # 46 days left: not yet
    assert scan(stack)["due"] == 0 and renewal_leads(stack) == []
    stack.clock.advance(days=1)  # 45 days left: the seeds' «за 45 дней»
    assert scan(stack) == {"due": 1, "reserved": 1, "cancelled": 0, "moved": 0, "dropped": 0}

    [lead] = renewal_leads(stack)
    [renewal] = renewals(stack)
    assert renewal.status == RenewalStatus.CREATED and renewal.amocrm_lead_id == lead.id
    assert lead.name == (f"Пролонгация: КАСКО — Иванова А. П. — до {ends:%d.%m.%Y} "
                         f"[{renewal.marker}]")
    assert (lead.pipeline_id, lead.status_id) == (RENEWALS, SOON)
    assert lead.responsible_user_id == VOLKOV  # no rule: ours go to the seller
    assert [c.id for c in lead.contacts] == [contact]
    assert [t.name for t in lead.tags] == ["пролонгация"]
    assert lead.price == 86400
    copied = {f.field_name: f.values[0].value for f in lead.custom_fields}
    assert copied == {"Вид страхования": "КАСКО", "Страховая компания": "Ингосстрах"}

    [task] = tasks_of(stack, [lead.id])
    assert task.responsible_user_id == VOLKOV and not task.is_completed
    assert task.text == (f"Пролонгация полиса КАСКО № AI-123456789 (Ингосстрах), заканчивается "
                         f"{ends:%d.%m.%Y}, премия 86\u00a0400 ₽")
    due = datetime.combine(today(stack) + timedelta(days=1), time(23, 59), tzinfo=MSK)
    assert task.complete_till == int(due.timestamp())
    assert renewal.amocrm_task_id == task.id

    # The next day's scan (and one more the same day) finds nothing new: still one deal.
    stack.clock.advance(days=1)
    assert scan(stack)["due"] == 0
    assert scan(stack)["due"] == 0
    assert len(renewal_leads(stack)) == 1 and len(renewals(stack)) == 1


def _rule(stack, kind, product, strategy, **kw):
    from amo_bridge.renewals.rules import set_rule

    with stack.runtime.session() as session:
        set_rule(session, stack.account_id, kind=kind, product=product, strategy=strategy, **kw)


def test_each_rule_kind_and_foreign_policies_by_their_own_rule(stack):
    _rule(stack, "ours", "osago", "fixed", fixed=KUZNETSOV)
    _rule(stack, "ours", "kasko", "round_robin", pool=[VOLKOV, ORLOVA])
    _rule(stack, "ours", "ifl", "least_loaded", pool=[ORLOVA, KUZNETSOV])
    _rule(stack, "ours", "*", "seller")
    _rule(stack, "foreign", "*", "fixed", fixed=ORLOVA)
    start = today(stack)
    people = [(add_contact(stack, f"Клиент{n} Тест Тестович"), f"Клиент{n} Тест Тестович")
              for n in range(8)]
    plan = [("osago", "ours", VOLKOV), ("kasko", "ours", VOLKOV), ("kasko", "ours", VOLKOV),
            ("kasko", "ours", VOLKOV), ("ifl", "ours", VOLKOV), ("ifl", "ours", VOLKOV),
            ("mortgage", "ours", ORLOVA), ("osago", "foreign", None)]
    ids = [ledger_policy(stack, contact_amocrm_id=people[n][0], contact_name=people[n][1],
                         product=product, kind=kind, seller=seller, ends_on=start +
                         timedelta(days=30 + n), entered_by=VOLKOV if kind == "foreign" else None)
           for n, (product, kind, seller) in enumerate(plan)]

    assert scan(stack)["reserved"] == 8
    by_policy = {r.policy_id: r for r in renewals(stack)}
    leads = {lead.id: lead for lead in renewal_leads(stack)}
    got = [leads[by_policy[i].amocrm_lead_id].responsible_user_id for i in ids]
    assert got == [
        KUZNETSOV,  # fixed
        VOLKOV, ORLOVA, VOLKOV,  # round-robin over the pool
        ORLOVA,  # least loaded: Orlova 1, Kuznetsov 1 → pool order
        KUZNETSOV,  # least loaded: Orlova 2, Kuznetsov 1
        ORLOVA,  # the seller
        ORLOVA,  # foreign: its own rule, not ours' osago rule
    ]
    foreign = leads[by_policy[ids[-1]].amocrm_lead_id]
    assert sorted(t.name for t in foreign.tags) == ["пролонгация", "чужой полис"]
    with stack.runtime.db.read_session() as session:
        cursor = session.scalar(select(AssigneeRule.cursor).where(
            AssigneeRule.product_code == "kasko"))
    assert cursor == 1  # three turns over a pool of two


def _create(stack):
    from amo_bridge.renewals.create import create_renewals

    return create_renewals(stack.runtime.db, stack.client(), stack.account_id, clock=stack.clock)


def _reserve(stack):
    from amo_bridge.models import Account
    from amo_bridge.renewals.reserve import reserve_due

    with stack.runtime.session() as session:
        return reserve_due(session, session.get(Account, stack.account_id), clock=stack.clock)


def _three_due(stack):
    start = today(stack)
    for n in range(3):
        contact = add_contact(stack, f"Петров{n} Пётр Петрович")
        ledger_policy(stack, contact_amocrm_id=contact, contact_name=f"Петров{n} Пётр Петрович",
                      product="osago", ends_on=start + timedelta(days=10 + n))


def test_a_lost_answer_is_reconciled_by_marker_never_a_second_deal(stack):
    _three_due(stack)
    assert len(_reserve(stack).renewal_ids) == 3
    stack.sim("POST", "/faults", {"match": "POST /api/v4/leads", "drop_count": 1,
                                  "drop_mode": "drop"})
    with pytest.raises(OutcomeUnknown):
        _create(stack)  # amoCRM created the three leads; the answer never came
    assert len(renewal_leads(stack)) == 3
    assert {r.status for r in renewals(stack)} == {RenewalStatus.CREATING}
    assert all(r.amocrm_lead_id is None for r in renewals(stack))

    # amoCRM may still be working on that request: an immediate retry leaves the rows alone…
    assert _create(stack).leads == 0 and len(renewal_leads(stack)) == 3
    stack.clock.advance(minutes=4)  # …once no longer in flight, each lead is looked up first
    done = _create(stack)
    assert (done.adopted, done.leads, done.tasks) == (3, 0, 3)
    leads = renewal_leads(stack)
    assert len(leads) == 3
    assert {r.amocrm_lead_id for r in renewals(stack)} == {lead.id for lead in leads}
    assert {r.status for r in renewals(stack)} == {RenewalStatus.CREATED}
    assert len(tasks_of(stack, [lead.id for lead in leads])) == 3


def test_killed_after_reservation_or_after_claim_then_run_again(stack):
    from amo_bridge.renewals.create import claim
    from amo_bridge.renewals.stamps import touch

    _three_due(stack)
    assert len(_reserve(stack).renewal_ids) == 3  # committed; the process "dies" here
    assert len(_reserve(stack).renewal_ids) == 0  # a second scan reserves nothing new
    with stack.runtime.session() as session:  # a worker claims two, then dies before sending
        for row in claim(session, stack.account_id, now=stack.clock.now(), limit=2):
            row.status = RenewalStatus.CREATING
            touch(row, stack.clock.now())
    assert scan(stack)["reserved"] == 0  # the third goes out; the two look in flight
    assert len(renewal_leads(stack)) == 1
    stack.clock.advance(minutes=4)  # no longer in flight: looked up (absent), then created
    done = _create(stack)
    assert (done.adopted, done.leads, done.tasks) == (0, 2, 2)
    assert scan(stack)["reserved"] == 0 and _create(stack).leads == 0
    assert len(renewal_leads(stack)) == 3 and len(renewals(stack)) == 3


def test_two_workers_at_once_create_each_deal_once(stack):
    _three_due(stack)
    for n in range(3, 12):
        contact = add_contact(stack, f"Сидоров{n} Иван")
        ledger_policy(stack, contact_amocrm_id=contact, contact_name=f"Сидоров{n} Иван",
                      product="kasko", ends_on=today(stack) + timedelta(days=n))
    _reserve(stack)
    results = []
    workers = [threading.Thread(target=lambda: results.append(_create(stack))) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert sum(r.leads for r in results) == 12
    assert len(renewal_leads(stack)) == 12


def test_a_worker_killed_mid_request_is_recovered_by_the_sweeper(stack):
    from amo_bridge.renewals.stamps import touch
    from jobs.sweeper import sweep

    _three_due(stack)
    _reserve(stack)
    stack.sim("POST", "/faults", {"match": "POST /api/v4/leads", "drop_count": 1,
                                  "drop_mode": "502"})
    with pytest.raises(OutcomeUnknown):
        _create(stack)
    with stack.runtime.session() as session:  # as a worker killed before recording leaves them
        for row in session.scalars(select(Renewal)):
            touch(row, stack.clock.now())
    assert sweep() == {}  # still in flight: the sweeper leaves them alone
    stack.clock.advance(minutes=6)
    assert sweep()["renewals"] == 3
    stack.wait(timeout=60)
    leads = renewal_leads(stack)
    assert len(leads) == 3 and {r.status for r in renewals(stack)} == {RenewalStatus.CREATED}
    assert len(tasks_of(stack, [lead.id for lead in leads])) == 3
