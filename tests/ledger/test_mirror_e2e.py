"""End to end: the simulator posts real webhooks to the bridge; the ledger follows amoCRM."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from amo_bridge.models import Contact, ContactPhone, Deal, InboxEvent, Policy, StageChange, User

SALES, NEW, IN_WORK, CALC, ISSUING, WON, LOST = (7811001, 61100002, 61100003, 61100004,
                                                 61100005, 142, 143)
MSK_MIDNIGHT_2027_03_15 = 1773522000  # 2026-03-15 00:00 +03:00 … see _ts below


def _ts(day: date) -> int:
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    return int(datetime.combine(day, time(0), tzinfo=ZoneInfo("Europe/Moscow")).timestamp())


def _create_lead(stack, **extra) -> int:
    contact = stack.sim("POST", "/contacts", [{
        "name": "Иванова Анна Петровна", "first_name": "Анна", "last_name": "Иванова",
        "custom_fields_values": [{"field_code": "PHONE", "values": [
            {"value": "8 (999) 123-45-67", "enum_code": "MOB"}]}],
    }])["ids"][0]
    lead = {"name": "КАСКО Toyota Camry", "price": 86400, "pipeline_id": SALES,
            "status_id": NEW, "responsible_user_id": 8011002,
            "_embedded": {"contacts": [{"id": contact, "is_main": True}]}, **extra}
    return stack.sim("POST", "/leads", [lead])["ids"][0]


def _deal(stack, lead_id):
    with stack.runtime.session() as session:
        return session.scalar(select(Deal).where(Deal.amocrm_id == lead_id))


def test_a_new_lead_and_its_contact_reach_the_ledger(stack):
    lead_id = _create_lead(stack)
    stack.deliver()
    deal = _deal(stack, lead_id)
    assert deal.name == "КАСКО Toyota Camry" and deal.status_id == NEW
    assert deal.price == 8_640_000  # kopecks
    with stack.runtime.session() as session:
        contact = session.get(Contact, deal.contact_id)
        assert contact.name == "Иванова Анна Петровна"
        phones = session.scalars(select(ContactPhone.phone).where(
            ContactPhone.contact_id == contact.id)).all()
        assert phones == ["+79991234567"]
        assert session.query(User).count() == 4  # users mirrored with the admin token
        assert session.scalar(select(User.is_admin).where(User.amocrm_id == 8011001))
        assert {r.status for r in session.query(InboxEvent)} == {"done"}


def test_stage_history_counts_every_move_even_with_identical_hooks(stack):
    lead_id = _create_lead(stack)
    stack.deliver()
    for status in (IN_WORK, NEW, IN_WORK):
        stack.sim("PATCH", f"/leads/{lead_id}", {"status_id": status})
        stack.deliver()
    deal = _deal(stack, lead_id)
    with stack.runtime.session() as session:
        moves = session.scalars(select(StageChange).where(StageChange.deal_id == deal.id)
                                .order_by(StageChange.changed_at, StageChange.id)).all()
    assert [(m.from_status_id, m.to_status_id) for m in moves] == [
        (NEW, IN_WORK), (IN_WORK, NEW), (NEW, IN_WORK)]
    assert len({m.amocrm_event_id for m in moves}) == 3


def test_a_won_deal_becomes_a_policy_line_from_its_fields(stack):
    lead_id = _create_lead(stack, custom_fields_values=[
        {"field_id": 1101001, "values": [{"enum_id": 1102002}]},  # КАСКО
        {"field_id": 1101002, "values": [{"enum_id": 1102101}]},  # Ингосстрах
        {"field_id": 1101003, "values": [{"value": "AI-123456789"}]},
        {"field_id": 1101004, "values": [{"value": _ts(date(2026, 3, 16))}]},
        {"field_id": 1101005, "values": [{"value": _ts(date(2027, 3, 15))}]},
        {"field_id": 1101006, "values": [{"value": "86400.50"}]},
        {"field_id": 1101007, "values": [{"value": "12.5"}]},
    ])
    stack.deliver()
    stack.sim("PATCH", f"/leads/{lead_id}", {"status_id": ISSUING, "responsible_user_id": 8011003})
    stack.deliver()
    stack.sim("PATCH", f"/leads/{lead_id}", {"status_id": WON, "responsible_user_id": 8011002})
    stack.deliver()
    deal = _deal(stack, lead_id)
    assert deal.won_at is not None
    assert (deal.seller_amocrm_id, deal.issuer_amocrm_id) == (8011002, 8011003)
    with stack.runtime.session() as session:
        [policy] = session.scalars(select(Policy).where(Policy.deal_id == deal.id)).all()
    assert policy.product_code == "kasko" and policy.insurer == "Ингосстрах"
    assert policy.number == "AI-123456789"
    assert (policy.starts_on, policy.ends_on) == (date(2026, 3, 16), date(2027, 3, 15))
    assert policy.premium == 8_640_050 and policy.commission_pct == Decimal("12.5")
    assert policy.kind == "ours" and policy.source == "deal"
    assert policy.sold_on == deal.won_at.date() or policy.sold_on is not None

    # A re-delivery or a reconcile changes nothing: still one line.
    stack.sim("PATCH", f"/leads/{lead_id}", {"name": "КАСКО Toyota Camry (оплачено)"})
    stack.deliver()
    with stack.runtime.session() as session:
        assert session.query(Policy).filter(Policy.deal_id == deal.id).count() == 1


def test_deleting_and_restoring_a_lead_keeps_its_history(stack):
    lead_id = _create_lead(stack)
    stack.deliver()
    stack.sim("DELETE", f"/leads/{lead_id}")
    stack.deliver()
    assert _deal(stack, lead_id).is_deleted
    stack.sim("POST", f"/leads/{lead_id}/restore")
    stack.deliver()
    assert not _deal(stack, lead_id).is_deleted


def test_a_webhook_that_never_arrives_is_picked_up_by_reconcile(stack):
    from jobs.inbox import reconcile_account

    stack.sim("POST", "/webhooks/skip", {"count": -1})
    lead_id = _create_lead(stack)
    stack.deliver()
    assert _deal(stack, lead_id) is None  # amoCRM "lost" the hook
    reconcile_account(stack.account_id)
    assert _deal(stack, lead_id).status_id == NEW


def test_a_garbage_body_is_rejected_visibly(stack):
    response = stack.http.post(stack.webhook_url, data=b"leads[add][0][id=%ZZ", timeout=5,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    stack.wait()
    with stack.runtime.session() as session:
        [row] = session.query(InboxEvent).all()
    assert row.status == "rejected" and row.reason


def test_a_deal_moved_back_from_won_unbooks_its_policy(stack):
    from sqlalchemy import func

    from amo_bridge.models.money import MoneyLine

    lead_id = _create_lead(stack, custom_fields_values=[
        {"field_id": 1101001, "values": [{"enum_id": 1102001}]},  # ОСАГО
        {"field_id": 1101002, "values": [{"enum_id": 1102101}]},
        {"field_id": 1101005, "values": [{"value": _ts(date(2027, 3, 15))}]},
        {"field_id": 1101006, "values": [{"value": "10000"}]},
        {"field_id": 1101007, "values": [{"value": "10"}]},
    ])
    stack.deliver()
    stack.sim("PATCH", f"/leads/{lead_id}", {"status_id": WON})
    stack.deliver()

    def booked():
        with stack.runtime.session() as session:
            return session.execute(select(func.sum(MoneyLine.income),
                                          func.sum(MoneyLine.policies))).one()

    assert tuple(booked()) == (100_000, 1)  # 10 % of 10 000,00 ₽, one policy sold
    stack.sim("PATCH", f"/leads/{lead_id}", {"status_id": ISSUING})
    stack.deliver()
    assert tuple(booked()) == (0, 0)  # reversed by a new line, not erased
    with stack.runtime.session() as session:
        [policy] = session.scalars(select(Policy)).all()
        assert policy.sold_on is None
        assert session.query(MoneyLine).count() == 2
    stack.deliver()  # re-delivery/re-read: nothing more is booked
    with stack.runtime.session() as session:
        assert session.query(MoneyLine).count() == 2
