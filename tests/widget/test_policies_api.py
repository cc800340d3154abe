"""The deal panel's API end to end: lines in the ledger, income, the price in amoCRM, booking
when the deal is won, corrections, removal, and the mapped fields giving way to the panel."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from amo_bridge.models import Deal, LineKind, MoneyLine, Policy, PolicySource
from tests.widget.conftest import (
    ADMIN,
    MANAGER,
    MANAGER_2,
    MANAGER_3,
    SALES,
    WON,
    assert_described,
    days_from_today,
    lead_price,
    new_client,
    new_deal,
    rows,
    wait_for,
)

RULE = "/widget/api/deals/<int:lead_id>/policies"


def _line(stack, **extra) -> dict:
    starts = days_from_today(stack, 1)
    body = {"product": "osago", "insurer": "РЕСО-Гарантия", "number": "ХХХ 0000000001",
            "premium": 840_000, "commission_pct": "10", "starts_on": starts.isoformat(),
            "ends_on": starts.replace(year=starts.year + 1).isoformat(), "seller": MANAGER,
            "issuer": MANAGER_2}
    body.update(extra)
    return body


def _policies(stack, lead_id: int) -> list[Policy]:
    deal = rows(stack, select(Deal).where(Deal.amocrm_id == lead_id))[0]
    return rows(stack, select(Policy).where(Policy.deal_id == deal.id).order_by(Policy.id))


def _money(stack, policy_id: int) -> list[MoneyLine]:
    return rows(stack, select(MoneyLine).where(MoneyLine.policy_id == policy_id)
                .order_by(MoneyLine.seq))


def test_a_line_goes_to_the_ledger_and_the_price_to_amocrm(api, stack):
    lead = new_deal(stack, responsible=MANAGER)
    empty = api("GET", f"/deals/{lead}/policies", user=MANAGER)
    assert empty.status_code == 200 and empty.json()["lines"] == []
    assert_described("GET", RULE, empty)

    added = api("POST", f"/deals/{lead}/policies", user=MANAGER, json=_line(stack))
    assert added.status_code == 201, added.text
    assert_described("POST", RULE, added)
    panel = added.json()
    [line] = panel["lines"]
    assert (line["income"], line["commission_pct"], line["source"]) == (84_000, "10", "widget")
    assert line["seller"]["name"] == "Дмитрий Волков" and line["issuer"]["id"] == MANAGER_2
    assert (panel["totals"]["premium"], panel["totals"]["income"]) == (840_000, 84_000)
    [policy] = _policies(stack, lead)
    assert (policy.source, policy.premium, policy.income, policy.sold_on) == (
        PolicySource.WIDGET, 840_000, 84_000, None)
    assert policy.contact_id is not None
    assert _money(stack, policy.id) == []  # not sold yet: nothing booked

    wait_for(lambda: lead_price(stack, lead) == 8400)  # the job PATCHed the lead
    stack.wait()
    assert api("GET", f"/deals/{lead}/policies").json()["price_in_sync"] is True


def test_winning_the_deal_books_the_lines_and_edits_book_corrections(api, stack):
    lead = new_deal(stack)
    api("POST", f"/deals/{lead}/policies", json=_line(stack)).raise_for_status()
    api("POST", f"/deals/{lead}/policies", json=_line(
        stack, product="kasko", insurer="Ингосстрах", premium=5_400_000,
        commission_pct="12.5")).raise_for_status()
    wait_for(lambda: lead_price(stack, lead) == 62_400)
    stack.sim("PATCH", f"/leads/{lead}", {"status_id": WON})
    stack.deliver()
    osago, kasko = _policies(stack, lead)
    assert osago.sold_on is not None and kasko.sold_on == osago.sold_on
    assert [(m.kind, m.premium, m.income) for m in _money(stack, kasko.id)] == [
        (LineKind.SALE, 5_400_000, 675_000)]

    changed = api("PUT", f"/deals/{lead}/policies/{kasko.id}",
                  json=_line(stack, product="kasko", insurer="Ингосстрах", premium=6_000_000,
                             commission_pct="12.5"))
    assert changed.status_code == 200, changed.text
    assert_described("PUT", RULE + "/<int:policy_id>", changed)
    assert [(m.kind, m.premium) for m in _money(stack, kasko.id)] == [
        (LineKind.SALE, 5_400_000), (LineKind.REVERSAL, -5_400_000),
        (LineKind.CORRECTION, 6_000_000)]
    wait_for(lambda: lead_price(stack, lead) == 68_400)


def test_removing_lines_deletes_unbooked_and_reverses_booked(api, stack):
    lead = new_deal(stack)
    first = api("POST", f"/deals/{lead}/policies", json=_line(stack)).json()["created"]
    second = api("POST", f"/deals/{lead}/policies",
                 json=_line(stack, product="ifl", premium=620_000)).json()["created"]
    gone = api("DELETE", f"/deals/{lead}/policies/{second}")
    assert gone.status_code == 200 and gone.json()["removed"] == "deleted"
    assert_described("DELETE", RULE + "/<int:policy_id>", gone)
    assert [p.id for p in _policies(stack, lead)] == [first]

    stack.sim("PATCH", f"/leads/{lead}", {"status_id": WON})
    stack.deliver()
    third = api("POST", f"/deals/{lead}/policies",
                json=_line(stack, product="ns", premium=150_000)).json()["created"]
    reversed_ = api("DELETE", f"/deals/{lead}/policies/{first}")
    assert reversed_.json()["removed"] == "reversed"
    assert [p.id for p in _policies(stack, lead)] == [third]
    booked = _money(stack, first)
    assert [m.kind for m in booked] == [LineKind.SALE, LineKind.REVERSAL]
    assert sum(m.premium for m in booked) == 0 and sum(m.policies for m in booked) == 0
    [tombstone] = rows(stack, select(Policy).where(Policy.id == first))
    assert tombstone.deal_id is None and tombstone.cancelled_on is not None
    wait_for(lambda: lead_price(stack, lead) == 1500)


def test_the_preview_takes_the_commission_from_the_rate_table(api, stack):
    lead = new_deal(stack)
    api("POST", "/commission-rates", json={"insurer": "АльфаСтрахование", "product": "kasko",
                                          "valid_from": "2020-01-01", "rate_pct": "15"}
        ).raise_for_status()
    typed = {"product": "kasko", "insurer": "АльфаСтрахование", "premium": 1_000_000,
             "starts_on": days_from_today(stack, 3).isoformat()}
    shown = api("POST", f"/deals/{lead}/policies/preview", json=typed)
    assert shown.status_code == 200, shown.text
    assert_described("POST", RULE + "/preview", shown)
    figures = shown.json()
    assert (figures["commission_pct"], figures["commission_source"], figures["income"]) == (
        "15", "rate", 150_000)
    manual = api("POST", f"/deals/{lead}/policies/preview",
                 json={**typed, "commission_pct": "9.5"}).json()
    assert (manual["income"], manual["commission_source"]) == (95_000, "manual")
    assert _policies(stack, lead) == []  # a preview writes nothing


def test_bad_lines_are_refused_in_the_users_language(api, stack):
    lead = new_deal(stack)
    for body, word in ((_line(stack, product="spaceflight"), "продукт"),
                       (_line(stack, premium=-1), "premium"),
                       (_line(stack, starts_on="2027-05-01", ends_on="2027-04-01"), "раньше"),
                       (_line(stack, seller=424242), "424242"),
                       ({**_line(stack), "colour": "red"}, "colour")):
        answer = api("POST", f"/deals/{lead}/policies", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert word in answer.text, answer.text
    english = api("POST", f"/deals/{lead}/policies", json=_line(stack, product="spaceflight"),
                  headers={"Accept-Language": "en"})
    assert "Unknown product" in english.json()["detail"]
    assert _policies(stack, lead) == []


def test_salary_shares_show_to_finance_and_to_the_two_employees_only(api, stack):
    lead = new_deal(stack)
    api("POST", f"/deals/{lead}/policies", json=_line(stack)).raise_for_status()
    assert "seller_share" in api("GET", f"/deals/{lead}/policies", user=ADMIN).json()["lines"][0]
    assert "seller_share" in api("GET", f"/deals/{lead}/policies", user=MANAGER).json()["lines"][0]
    other = api("GET", f"/deals/{lead}/policies", user=MANAGER_3).json()
    assert "seller_share" not in other["lines"][0] and "seller_share" not in other["totals"]
    assert other["lines"][0]["income"] == 84_000


def test_panel_lines_take_precedence_over_mapped_fields(api, stack):
    contact = new_client(stack)
    lead = stack.sim("POST", "/leads", [{
        "name": "ОСАГО из полей", "price": 9000, "pipeline_id": SALES, "status_id": WON,
        "responsible_user_id": MANAGER, "_embedded": {"contacts": [{"id": contact}]},
        "custom_fields_values": [
            {"field_id": 1101001, "values": [{"enum_id": 1102001}]},
            {"field_id": 1101006, "values": [{"value": "9000"}]},
            {"field_id": 1101007, "values": [{"value": "10"}]}]}])["ids"][0]
    stack.deliver()
    [mapped] = _policies(stack, lead)
    assert (mapped.source, mapped.premium) == (PolicySource.DEAL, 900_000)
    panel = api("GET", f"/deals/{lead}/policies").json()
    assert panel["managed"] is False and panel["lines"][0]["source"] == "deal"

    refused = api("DELETE", f"/deals/{lead}/policies/{mapped.id}")
    assert refused.status_code == 409 and "ОСАГО" in refused.json()["detail"]

    api("POST", f"/deals/{lead}/policies", json=_line(stack, product="kasko",
                                                       premium=3_000_000)).raise_for_status()
    mapped_now, added = _policies(stack, lead)
    assert (mapped_now.id, mapped_now.source) == (mapped.id, PolicySource.WIDGET)  # adopted
    stack.sim("PATCH", f"/leads/{lead}", {"custom_fields_values": [
        {"field_id": 1101006, "values": [{"value": "12000"}]}]})
    stack.deliver()
    assert [p.premium for p in _policies(stack, lead)] == [900_000, 3_000_000]  # fields ignored
    wait_for(lambda: lead_price(stack, lead) == 39_000)


def test_a_card_opened_before_its_webhook_still_takes_lines(api, stack):
    contact = new_client(stack)
    # amoCRM has the lead; its webhook has not reached the bridge yet.
    lead = stack.sim("POST", "/leads?skip_webhook=1", [{
        "name": "Вебхук ещё в пути", "pipeline_id": SALES, "status_id": 61100002,
        "responsible_user_id": MANAGER, "_embedded": {"contacts": [{"id": contact}]}}]
    )["ids"][0]
    assert api("GET", f"/deals/{lead}/policies").json()["deal"]["known"] is False
    added = api("POST", f"/deals/{lead}/policies", json=_line(stack))
    assert added.status_code == 201, added.text
    assert Decimal(added.json()["lines"][0]["commission_pct"]) == Decimal("10")
    wait_for(lambda: lead_price(stack, lead) == 8400)
    stack.sim("PATCH", f"/leads/{lead}", {"name": "Вебхук дошёл"})
    stack.deliver()
    panel = api("GET", f"/deals/{lead}/policies").json()
    assert panel["deal"]["known"] is True and panel["deal"]["name"] == "Вебхук дошёл"
    assert [line["premium"] for line in panel["lines"]] == [840_000]
