"""End to end: the pending renewal follows its policy; won/lost outcomes; binding; follow-ups."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from amo_bridge.models import (
    Contact,
    Deal,
    Policy,
    RenewalFollowup,
    RenewalStatus,
)
from amo_bridge.renewals.followups import add_months
from tests.renewals.conftest import (
    ADMIN,
    KUZNETSOV,
    LOST,
    MSK,
    VOLKOV,
    WON,
    add_contact,
    ledger_policy,
    midnight,
    renewal_leads,
    renewals,
    scan,
    tasks_of,
    today,
    won_deal,
)


def _created_renewal(stack, **kwargs):
    """A won deal ending in 60 days, the clock 15 days on, its renewal created and mirrored."""
    ends = today(stack) + timedelta(days=60)
    lead, contact = won_deal(stack, ends_on=ends, **kwargs)
    stack.clock.advance(days=15)
    assert scan(stack)["reserved"] == 1
    stack.deliver()  # amoCRM's hooks about the new deal and task reach the mirror
    [renewal] = renewals(stack)
    return lead, contact, ends, renewal


def _notes(stack, lead_id) -> list[str]:
    return [n.params.get("text") for n in stack.client().notes("leads", entity_ids=[lead_id])]


def test_end_date_moved_moves_the_task_and_the_name(stack):
    lead, _, ends, renewal = _created_renewal(stack)
    later = ends + timedelta(days=30)
    stack.sim("PATCH", f"/leads/{lead}", {"custom_fields_values": [
        {"field_id": 1101005, "values": [{"value": midnight(later)}]}]})
    stack.deliver()  # mirror: the policy's end changed → the renewal follows (a job)

    [moved] = renewals(stack)
    assert moved.term_end == later and moved.status == RenewalStatus.CREATED
    [task] = tasks_of(stack, [renewal.amocrm_lead_id])
    due = later - timedelta(days=45)  # where the task would have been for the new end
    assert task.complete_till == int(datetime.combine(due, time(23, 59), tzinfo=MSK).timestamp())
    [deal] = renewal_leads(stack)
    assert f"до {later:%d.%m.%Y}" in deal.name and deal.name.endswith(f"[{renewal.marker}]")
    assert any(f"{ends:%d.%m.%Y} → {later:%d.%m.%Y}" in text
               for text in _notes(stack, renewal.amocrm_lead_id))


def test_a_cancelled_policy_closes_its_task_with_a_note(stack):
    from amo_bridge.ledger.money import cancel_policy
    from jobs.renewals import follow_renewals

    _, _, _, renewal = _created_renewal(stack)
    # A second policy, due but only reserved when it is cancelled: nothing goes to amoCRM.
    other = ledger_policy(stack, contact_amocrm_id=add_contact(stack, "Орлов Олег"),
                          contact_name="Орлов Олег", product="osago",
                          ends_on=today(stack) + timedelta(days=20))
    from amo_bridge.models import Account
    from amo_bridge.renewals.reserve import reserve_due

    with stack.runtime.session() as session:
        reserve_due(session, session.get(Account, stack.account_id), clock=stack.clock)
        for policy_id in (renewal.policy_id, other):
            cancel_policy(session, session.get(Policy, policy_id), on=today(stack), refund=0)
    assert follow_renewals(stack.account_id) == {"cancelled": 2, "moved": 0, "dropped": 0,
                                                 "remote": 1}
    by_policy = {r.policy_id: r for r in renewals(stack)}
    assert {r.status for r in by_policy.values()} == {RenewalStatus.CANCELLED}
    assert by_policy[other].amocrm_lead_id is None
    [task] = tasks_of(stack, [renewal.amocrm_lead_id])
    assert task.is_completed and "Полис расторгнут" in task.result_text
    assert any("Полис расторгнут" in text for text in _notes(stack, renewal.amocrm_lead_id))
    assert follow_renewals(stack.account_id)["remote"] == 0  # settled: nothing more to do


def test_renewal_won_links_the_new_policy_and_binds_the_client(stack):
    contact = add_contact(stack, "Иванова Анна Петровна", responsible=ADMIN)
    lead, _, ends, renewal = _created_renewal(stack, contact=contact, seller=VOLKOV)
    with stack.runtime.db.read_session() as session:
        bound = session.scalar(select(Contact.responsible_amocrm_id).where(
            Contact.amocrm_id == contact))
    assert bound == VOLKOV  # the sale bound the client to its seller (seed 000)

    next_end = ends + timedelta(days=365)
    stack.sim("PATCH", f"/leads/{renewal.amocrm_lead_id}", {
        "status_id": WON, "responsible_user_id": KUZNETSOV, "custom_fields_values": [
            {"field_id": 1101005, "values": [{"value": midnight(next_end)}]},
            {"field_id": 1101006, "values": [{"value": "91000"}]}]})
    stack.deliver()
    [won] = renewals(stack)
    assert won.status == RenewalStatus.RENEWED and won.new_policy_id is not None
    with stack.runtime.db.read_session() as session:
        old, new = session.get(Policy, won.policy_id), session.get(Policy, won.new_policy_id)
        assert old.renewed_by_id == new.id
        assert (new.product_code, new.ends_on, new.premium) == ("kasko", next_end, 9_100_000)
    [client] = stack.client().contacts(ids=[contact])
    assert client.responsible_user_id == KUZNETSOV  # the renewal's seller now
    stack.clock.advance(days=366)  # 44 days before the new end: its own renewal, not a dup
    assert scan(stack)["reserved"] == 1
    assert {r.policy_id for r in renewals(stack)} == {old.id, new.id}


def test_lost_deals_record_the_reason_and_get_a_follow_up_by_reason(stack):
    lead, contact, _, renewal = _created_renewal(stack)
    stack.sim("PATCH", f"/leads/{renewal.amocrm_lead_id}",
              {"status_id": LOST, "loss_reason_id": 1401001})  # «Дорого»: 3 months
    other = add_contact(stack, "Петров Пётр")
    sale = stack.sim("POST", "/leads", [{"name": "ОСАГО Петров", "pipeline_id": 7811001,
                                         "status_id": 61100002, "responsible_user_id": VOLKOV,
                                         "_embedded": {"contacts": [{"id": other}]}}])["ids"][0]
    stack.deliver()
    stack.sim("PATCH", f"/leads/{sale}", {"status_id": LOST, "loss_reason_id": 1401003})
    stack.deliver()  # «Не дозвонились» is not configured: the default, 12 months

    [lost] = renewals(stack)
    assert lost.status == RenewalStatus.NOT_RENEWED and lost.outcome_reason == "Дорого"
    with stack.runtime.db.read_session() as session:
        rows = {r.deal_id: r for r in session.scalars(select(RenewalFollowup))}
        deals = {d.amocrm_id: d for d in session.scalars(select(Deal))}
    first, second = rows[deals[renewal.amocrm_lead_id].id], rows[deals[sale].id]
    assert (first.months, first.reason, first.status) == (3, "Дорого", "done")
    assert (second.months, second.status) == (12, "done")
    lost_on = deals[sale].lost_at.astimezone(MSK).date()
    assert second.due_on == add_months(lost_on, 12)
    tasks = {t.id: t for t in stack.client().tasks(entity_type="contacts",
                                                   entity_ids=[contact, other])}
    task = tasks[first.amocrm_task_id]
    assert (task.entity_id, task.responsible_user_id) == (contact, VOLKOV)
    assert "Дорого" in task.text
    assert task.complete_till == int(datetime.combine(first.due_on, time(23, 59),
                                                      tzinfo=MSK).timestamp())
    for person in stack.client().contacts(ids=[contact, other]):
        assert "холодный" in [t.name for t in person.tags]
    stack.deliver()  # the tag's echo changes nothing: one follow-up per lost deal
    with stack.runtime.db.read_session() as session:
        assert len(session.scalars(select(RenewalFollowup)).all()) == 2
