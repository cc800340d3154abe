"""The widget in a real browser, inside the harness that plays amoCRM: the deal card's policy
panel, the contact card's history, a foreign policy, the phone confirmed by SMS code, the
Digital Pipeline action and the settings modal. Each writes its screenshot to docs/."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from amo_bridge.models import Contact, Deal, MoneyLine, Policy, PolicyKind
from jobs.sms import gateways_for
from tests.widget.conftest import (
    ADMIN,
    MANAGER,
    MANAGER_2,
    WON,
    days_from_today,
    lead_price,
    new_client,
    new_deal,
    open_harness,
    plain,
    rows,
    screenshot,
    wait_for,
)

pytestmark = pytest.mark.browser


def _deal_policies(stack, lead: int) -> list[Policy]:
    deal = rows(stack, select(Deal).where(Deal.amocrm_id == lead))[0]
    return rows(stack, select(Policy).where(Policy.deal_id == deal.id).order_by(Policy.id))


def test_deal_panel_adds_a_policy_line_with_income_as_you_type(page, stack, api):
    lead = new_deal(stack, responsible=MANAGER, name="КАСКО — Смирнов, Kia Rio")
    open_harness(page, stack, area="lcard", user=MANAGER, lead=lead)
    panel = page.locator(".ab-panel[data-panel='deal']")
    panel.get_by_text("В сделке пока нет полисов.").wait_for()
    page.click("[data-action='add-line']")
    form = page.locator("form[data-form='policy-line']")
    form.locator("select[name='product']").select_option("kasko")
    form.locator("input[name='insurer']").fill("Ингосстрах")
    form.locator("input[name='number']").fill("AI 123456789")
    form.locator("input[name='premium']").fill("54 000")
    form.locator("input[name='commission_pct']").fill("12,5")
    starts = days_from_today(stack, 2)
    form.locator("input[name='starts_on']").fill(starts.isoformat())
    form.locator("input[name='starts_on']").dispatch_event("change")
    year_later = starts.replace(year=starts.year + 1) - timedelta(days=1)
    assert form.locator("input[name='ends_on']").input_value() == year_later.isoformat()
    form.locator("select[name='issuer']").select_option(str(MANAGER_2))
    # Income is computed by the bridge as the manager types.
    form.locator(".ab-preview__income").filter(has_text="6 750,00").wait_for()
    form.locator("input[name='premium']").fill("60000")
    form.locator(".ab-preview__income").filter(has_text="7 500,00").wait_for()
    form.locator("details.ab-more summary").click()
    form.locator("input[name='plate']").fill("А123ВС777")
    page.click("[data-action='save-line']")
    line = panel.locator(".ab-line").first
    line.wait_for()
    assert "КАСКО" in plain(line) and "7 500,00" in plain(line)
    assert "Оформил: Екатерина Орлова" in plain(line)

    [policy] = _deal_policies(stack, lead)
    assert (policy.product_code, policy.premium, policy.income, policy.source) == (
        "kasko", 6_000_000, 750_000, "widget")
    assert (policy.seller_amocrm_id, policy.issuer_amocrm_id) == (MANAGER, MANAGER_2)
    assert policy.insured_object == {"plate": "А123ВС777"}
    wait_for(lambda: lead_price(stack, lead) == 60_000)
    panel.locator("[data-price='ok']").wait_for(timeout=10000)
    screenshot(page, "deal-panel.png", selector="#widgets_block")

    # Won in amoCRM: the line is booked in the ledger's money.
    stack.sim("PATCH", f"/leads/{lead}", {"status_id": WON})
    stack.deliver()
    booked = rows(stack, select(MoneyLine).where(MoneyLine.policy_id == policy.id))
    assert [(m.kind, m.income) for m in booked] == [("sale", 750_000)]


def test_deal_panel_edits_and_removes_lines_and_shows_refusals(page, stack, api):
    lead = new_deal(stack, responsible=MANAGER)
    for product, premium in (("osago", 900_000), ("ns", 150_000)):
        api("POST", f"/deals/{lead}/policies", user=MANAGER, json={
            "product": product, "premium": premium, "commission_pct": "10"}).raise_for_status()
    open_harness(page, stack, area="lcard", user=MANAGER, lead=lead)
    lines = page.locator(".ab-line")
    lines.nth(1).wait_for()
    lines.nth(0).locator("[data-action='edit-line']").click()
    form = page.locator("form[data-form='policy-line']")
    form.locator("input[name='premium']").fill("abc")
    page.click("[data-action='save-line']")
    form.locator(".ab-field[data-field='premium'] .ab-field__error").filter(
        has_text="Сумма в рублях").wait_for()
    form.locator("input[name='premium']").fill("9 500")
    form.locator("input[name='starts_on']").fill("2027-05-01")
    form.locator("input[name='ends_on']").fill("2027-04-01")
    page.click("[data-action='save-line']")
    form.locator(".ab-form__problem").filter(has_text="раньше даты начала").wait_for()
    form.locator("input[name='ends_on']").fill("2028-04-30")
    page.click("[data-action='save-line']")
    page.locator(".ab-line").first.filter(has_text="9 500,00").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".ab-line").nth(1).locator("[data-action='remove-line']").click()
    wait_for(lambda: len(_deal_policies(stack, lead)) == 1)
    page.locator(".ab-total[data-total='premium']").filter(has_text="9 500,00").wait_for()
    assert [p.premium for p in _deal_policies(stack, lead)] == [950_000]


def test_contact_panel_history_foreign_policy_and_phone_confirmation(page, stack, api):
    contact = new_client(stack, phone="+79161112233")
    lead = new_deal(stack, contact=contact, responsible=MANAGER)
    api("POST", f"/deals/{lead}/policies", json={
        "product": "osago", "insurer": "РЕСО-Гарантия", "number": "ХХХ 7770001", "premium": 840_000,
        "commission_pct": "10", "starts_on": days_from_today(stack, -300).isoformat(),
        "ends_on": days_from_today(stack, 64).isoformat(), "seller": MANAGER,
        "issuer": MANAGER_2}).raise_for_status()
    stack.sim("PATCH", f"/leads/{lead}", {"status_id": WON})
    stack.deliver()

    open_harness(page, stack, area="ccard", user=MANAGER, contact=contact)
    history = page.locator(".ab-panel[data-panel='contact']")
    history.locator(".ab-line[data-kind='ours']").filter(has_text="ОСАГО").wait_for()
    assert "Заканчивается следующим: ОСАГО" in plain(history)
    assert "Оформил: Екатерина Орлова" in plain(history)
    assert "Доход" not in plain(history)  # the broker's income is not for this card

    page.click("[data-action='add-foreign']")
    form = page.locator("form[data-form='foreign-policy']")
    form.locator("select[name='product']").select_option("kasko")
    form.locator("input[name='insurer']").fill("ВСК")
    form.locator("input[name='number']").fill("ВСК-0042")
    form.locator("input[name='ends_on']").fill(days_from_today(stack, 20).isoformat())
    form.locator("input[name='premium']").fill("47 000")
    page.click("[data-action='save-foreign']")
    foreign = history.locator(".ab-line[data-kind='foreign']")
    foreign.filter(has_text="ВСК").wait_for()
    assert "КАСКО (ВСК)" in plain(history.locator("[data-ends-next]"))
    mirrored = rows(stack, select(Contact).where(Contact.amocrm_id == contact))[0]
    [kept] = rows(stack, select(Policy).where(Policy.contact_id == mirrored.id,
                                              Policy.kind == PolicyKind.FOREIGN))
    assert (kept.insurer, kept.number, kept.premium, kept.entered_by_amocrm_id) == (
        "ВСК", "ВСК-0042", 4_700_000, MANAGER)

    phone = page.locator(".ab-panel[data-panel='contact-phone']")
    phone.locator("[data-action='send-code']").click()
    phone.locator("form[data-form='verify-confirm']").wait_for()
    fake = gateways_for(stack.runtime).primary
    text = wait_for(lambda: next((s.text for _, s in reversed(fake.sent)
                                  if s.phone == "+79161112233"), None))
    code = re.search(r"\b(\d{4,8})\b", text).group(1)
    wrong = "1" * len(code) if code != "1" * len(code) else "2" * len(code)
    phone.locator("input[name='code']").fill(wrong)
    phone.locator("[data-action='confirm-code']").click()
    phone.locator(".ab-form__problem").wait_for()  # a wrong code is refused
    phone.locator("input[name='code']").fill(code)
    phone.locator("[data-action='confirm-code']").click()
    phone.locator(".ab-badge--ok").filter(has_text="подтверждён").wait_for()
    mirrored = rows(stack, select(Contact).where(Contact.amocrm_id == contact))[0]
    assert mirrored.verified_phone == "+79161112233" and mirrored.phone_verified_at
    phone.locator("input[name='marketing_consent']").check()
    wait_for(lambda: rows(stack, select(Contact).where(Contact.amocrm_id == contact)
                          )[0].marketing_consent_at)
    phone.locator("input[name='marketing_consent']:checked").wait_for()
    screenshot(page, "contact-panel.png", selector="#widgets_block")


def test_digital_pipeline_action_picks_an_sms_template(page, stack):
    open_harness(page, stack, area="digital_pipeline", user=ADMIN)
    choose = page.locator("select[data-dp='template']")
    choose.wait_for()
    choose.select_option("task_completed")
    assert page.locator("input[name='template']").input_value() == "task_completed"
    page.click("#hz-save")
    page.locator("#hz-dp-json").filter(has_text='"template": "task_completed"').wait_for()
    screenshot(page, "dp-action.png", selector=".hz-modal")


def test_settings_modal_shows_the_connection(page, stack):
    open_harness(page, stack, area="settings", user=ADMIN)
    page.locator(".ab-root--modal .ab-notice--ok").filter(has_text="подключён").wait_for()
    assert "администратор" in plain(page.locator(".ab-root--modal"))
    screenshot(page, "settings-modal.png", selector=".hz-modal")


def test_english_interface(page, stack):
    lead = new_deal(stack)
    open_harness(page, stack, area="lcard", user=ADMIN, lead=lead, lang="en")
    page.get_by_text("Policies of the deal").wait_for()
    page.get_by_text("No policies in this deal yet.").wait_for()


def test_calls_cross_origin_pass_cors_in_a_real_browser(page, stack):
    """The page on one origin, the bridge on another (as amoCRM's page and the bridge are):
    the browser's preflight for X-Auth-Token must be answered for the panel to load."""
    lead = new_deal(stack)
    bridge = stack.bridge.url  # http://127.0.0.1:<port>
    page_origin = bridge.replace("127.0.0.1", "localhost")
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.method + " " + r.url) if "/widget/api/" in r.url
            else None)
    page.goto(f"{page_origin}/widget/harness?area=lcard&user={ADMIN}&lead={lead}"
              f"&backend={bridge}")
    page.wait_for_selector("body[data-harness='ready']", state="attached")
    page.get_by_text("В сделке пока нет полисов.").wait_for()
    assert any(url.startswith(f"GET {bridge}/widget/api/deals/{lead}") for url in seen)
