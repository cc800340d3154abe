"""Demo steps of the mirror: leads created and moved in amoCRM reach the ledger."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from amo_bridge.models import Deal, Policy, StageChange, User
from amo_bridge.products import default_products

SALES, NEW, IN_WORK, CALC, ISSUING, WON, LOST = (7811001, 61100002, 61100003, 61100004,
                                                 61100005, 142, 143)
STAGE_NAMES = {NEW: "Новый лид", IN_WORK: "Взят в работу", CALC: "Расчёт",
               ISSUING: "Оформление", WON: "Успешно реализовано",
               LOST: "Закрыто и не реализовано"}

CLIENTS = [
    # name, phone, product enum, insurer enum, premium ₽, commission %, seller, issuer, end
    ("Иванова Анна Петровна", "+7 999 123-45-67", 1102002, 1102101, "86400.00", "12.5",
     8011002, 8011003, date(2027, 3, 15)),
    ("Петров Сергей Иванович", "8 (916) 555-12-34", 1102001, 1102103, "9850.40", "8",
     8011004, 8011003, date(2027, 1, 20)),
    ("Сидорова Мария Олеговна", "+7 903 777-88-99", 1102003, 1102104, "12300.00", "25",
     8011002, 8011002, date(2027, 6, 1)),
]


def rub(kopecks: int) -> str:
    """12345678 → «123 456,78 ₽», as a Russian reader writes money."""
    whole, cents = divmod(abs(kopecks), 100)
    sign = "−" if kopecks < 0 else ""
    return f"{sign}{whole:,}".replace(",", "\u00a0") + f",{cents:02d} ₽"


def _midnight(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=ZoneInfo("Europe/Moscow")).timestamp())


def _admin_setup(ctx) -> None:
    """What an admin configures on day one: salary rules and this month's plans."""
    from decimal import Decimal

    from amo_bridge.models import Plan, SalaryRule

    stack = ctx.stack
    month = ctx.clock.now().astimezone(ZoneInfo("Europe/Moscow")).date().replace(day=1)
    with stack.runtime.session() as session:
        session.add_all([
            SalaryRule(account_id=stack.account_id, role="seller", basis="income_pct",
                       pct=Decimal("30"), valid_from=date(2020, 1, 1)),
            SalaryRule(account_id=stack.account_id, role="issuer", basis="fixed",
                       fixed_amount=300_00, valid_from=date(2020, 1, 1)),
            *[Plan(account_id=stack.account_id, user_amocrm_id=user, month=month,
                   income_target=target) for user, target in ((8011002, 15_000_00),
                                                              (8011004, 5_000_00))],
        ])
    ctx.say("The admin set salary rules (seller: 30 % of the broker's income; issuer: 300 ₽ a")
    ctx.say("policy) and this month's income plans (Дмитрий 15 000 ₽, Сергей 5 000 ₽).")


def step_mirror(ctx) -> None:
    stack = ctx.stack
    _admin_setup(ctx)
    lead_ids = []
    for name, phone, product, insurer, premium, pct, seller, issuer, ends in CLIENTS:
        contact = stack.sim("POST", "/contacts", [{"name": name, "custom_fields_values": [
            {"field_code": "PHONE", "values": [{"value": phone, "enum_code": "MOB"}]}]}])["ids"][0]
        starts = date(ends.year - 1, ends.month, ends.day) if ends.month != 2 else ends
        lead = stack.sim("POST", "/leads", [{
            "name": f"{name.split()[0]}: страхование", "price": int(float(premium)),
            "pipeline_id": SALES, "status_id": NEW, "responsible_user_id": seller,
            "_embedded": {"contacts": [{"id": contact, "is_main": True}]},
            "custom_fields_values": [
                {"field_id": 1101001, "values": [{"enum_id": product}]},
                {"field_id": 1101002, "values": [{"enum_id": insurer}]},
                {"field_id": 1101003, "values": [{"value": f"ХХХ-{contact}"}]},
                {"field_id": 1101004, "values": [{"value": _midnight(starts)}]},
                {"field_id": 1101005, "values": [{"value": _midnight(ends)}]},
                {"field_id": 1101006, "values": [{"value": premium}]},
                {"field_id": 1101007, "values": [{"value": pct}]},
            ]}])["ids"][0]
        lead_ids.append((lead, seller, issuer))
    ctx.say(f"A manager created {len(lead_ids)} leads with their clients in amoCRM;")
    for stage in (IN_WORK, CALC):
        for lead, _, _ in lead_ids:
            stack.sim("PATCH", f"/leads/{lead}", {"status_id": stage})
    for lead, _, issuer in lead_ids[:2]:
        stack.sim("PATCH", f"/leads/{lead}", {"status_id": ISSUING, "responsible_user_id": issuer})
    for lead, seller, _ in lead_ids[:2]:
        stack.sim("PATCH", f"/leads/{lead}", {"status_id": WON, "responsible_user_id": seller})
    stack.sim("PATCH", f"/leads/{lead_ids[2][0]}", {"status_id": LOST, "loss_reason_id": 1401001})
    ctx.say("moved them through «Взят в работу», «Расчёт», «Оформление»: two were won, one lost.")
    stack.deliver()
    with stack.runtime.db.read_session() as session:
        users = {u.amocrm_id: u.name for u in session.scalars(select(User))}
        deals = session.scalars(select(Deal).order_by(Deal.id)).all()
        moves = session.scalar(select(func.count()).select_from(StageChange))
        policies = session.scalars(select(Policy).order_by(Policy.id)).all()
        ctx.say(f"amoCRM sent webhooks; the bridge mirrored {len(deals)} deals and {moves} "
                "stage changes (from amoCRM's events list):")
        for deal in deals:
            stage = STAGE_NAMES.get(deal.status_id, str(deal.status_id))
            lost = f" (причина: {deal.loss_reason})" if deal.loss_reason else ""
            ctx.say(f"  • {deal.name} — «{stage}»{lost}, {rub(deal.price)}")
        products = default_products()
        ctx.say("Won deals became policy lines in the ledger:")
        for p in policies:
            ctx.say(f"  • {products.get(p.product_code).name_ru}, {p.insurer}, № {p.number}: "
                    f"premium {rub(p.premium)}, commission {p.commission_pct.normalize():f}% → "
                    f"income {rub(p.income)}, ends {p.ends_on:%d.%m.%Y};")
            ctx.say(f"    sold by {users.get(p.seller_amocrm_id)}, "
                    f"issued by {users.get(p.issuer_amocrm_id)}")
    ctx.facts["lead_ids"] = [lead for lead, _, _ in lead_ids]
