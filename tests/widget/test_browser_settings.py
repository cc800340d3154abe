"""Every section of the widget's settings page, in a real browser: it loads, saves a change,
and shows the change after the page is reloaded. Each writes its screenshot to docs/."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from amo_bridge.models import ExportRecord, ImportRun
from tests.widget.conftest import (
    ADMIN,
    MANAGER,
    MANAGER_2,
    days_from_today,
    new_client,
    open_harness,
    open_tab,
    plain,
    rows,
    screenshot,
)

pytestmark = pytest.mark.browser


def _settings_page(page, stack, tab: str, *, user: int = ADMIN):
    open_harness(page, stack, area="advanced_settings", user=user)
    return open_tab(page, tab)


def _reload(page, tab: str):
    page.reload()
    page.wait_for_selector("body[data-harness='ready']", state="attached")
    return open_tab(page, tab)


def test_renewal_schedule(page, stack, api):
    section = _settings_page(page, stack, "renewals")
    form = section.locator("form[data-form='renewal-settings']")
    form.locator("input[name='days_before']").fill("40")
    form.locator("input[name='foreign_tag']").fill("чужой полис, звонить")
    form.locator("[data-action='save-renewals']").click()
    form.locator(".ab-notice--ok").wait_for()
    section = _reload(page, "renewals")
    form = section.locator("form[data-form='renewal-settings']")
    form.locator("input[name='days_before']").wait_for()
    assert form.locator("input[name='days_before']").input_value() == "40"
    assert form.locator("input[name='foreign_tag']").input_value() == "чужой полис, звонить"
    screenshot(page, "settings-renewals.png", selector="#ab-root-page")
    api("PUT", "/renewals/settings", json={"days_before": 45, "foreign_tag": "чужой полис"}
        ).raise_for_status()


def test_assignee_rule_changes_the_preview(page, stack, api):
    contact = new_client(stack)
    added = api("POST", f"/renewals/contacts/{contact}/policies", user=MANAGER, json={
        "product": "ifl", "insurer": "СОГАЗ", "ends_on": days_from_today(stack, 12).isoformat()})
    assert added.status_code == 201, added.text
    policy_id = added.json()["id"]
    section = _settings_page(page, stack, "assignees")
    row = section.locator(f"tr[data-policy='{policy_id}']")
    row.wait_for()
    assert row.get_attribute("data-assignee") == str(MANAGER)  # foreign: who entered it
    form = section.locator("form[data-form='assignee-rule']")
    form.locator("select[name='kind']").select_option("foreign")
    form.locator("select[name='product']").select_option("ifl")
    form.locator("select[name='strategy']").select_option("fixed")
    form.locator("select[name='fixed_user']").select_option(str(MANAGER_2))
    form.locator("[data-action='save-rule']").click()
    section.locator(f"tr[data-policy='{policy_id}'][data-assignee='{MANAGER_2}']").wait_for()
    assert "Екатерина Орлова" in plain(section.locator(f"tr[data-policy='{policy_id}']"))
    section = _reload(page, "assignees")
    rule_row = section.locator("table tr[data-row]").filter(has_text="Имущество")
    rule_row.wait_for()
    assert "одному сотруднику" in plain(rule_row)
    section.locator(f"tr[data-policy='{policy_id}'][data-assignee='{MANAGER_2}']").wait_for()
    screenshot(page, "settings-assignees.png", selector="#ab-root-page")
    rule_row.locator("[data-action='remove']").click()
    section.locator(f"tr[data-policy='{policy_id}'][data-assignee='{MANAGER}']").wait_for()


def test_reminder_schedule(page, stack):
    section = _settings_page(page, stack, "reminders")
    form = section.locator("form[data-form='reminders']")
    section.locator("input[name='days_kasko'], .ab-notice").first.wait_for()
    assert section.locator(".ab-notice").count() == 0, plain(section)
    form.locator("input[name='days_kasko']").fill("45, 14, 5")
    form.locator("[data-action='save-reminders']").click()
    form.locator(".ab-notice--ok").wait_for(timeout=5000)
    section = _reload(page, "reminders")
    assert section.locator("input[name='days_kasko']").input_value(timeout=5000) == "45, 14, 5"


def test_sms_templates_with_preview_and_segments(page, stack, api):
    section = _settings_page(page, stack, "templates")
    section.locator("tr[data-template='task_completed'] [data-action='edit-template']").click()
    form = section.locator("form[data-template='task_completed']")
    body = form.locator("textarea[name='body']")
    body.fill("{{ client_io }}, спасибо! Ждём вас снова: {{ manager_phone }}")
    form.locator(".ab-preview").filter(has_text="спасибо! Ждём вас снова").wait_for()
    assert form.locator("[data-segments]").get_attribute("data-segments") == "1"
    body.fill("Очень длинный текст. " * 20)
    form.locator("[data-segments]:not([data-segments='1'])").wait_for()
    assert int(form.locator("[data-segments]").get_attribute("data-segments")) > 3
    form.locator(".ab-preview .ab-notice--warn").wait_for()  # more parts than the warning
    body.fill("{{ client_io }}, спасибо! Ждём вас снова: {{ manager_phone }}")
    form.locator("[data-action='save-template']").click()
    form.locator(".ab-notice--ok").wait_for()
    section = _reload(page, "templates")
    assert "изменён" in plain(section.locator("tr[data-template='task_completed']"))
    section.locator("tr[data-template='task_completed'] [data-action='edit-template']").click()
    saved = section.locator("form[data-template='task_completed'] textarea[name='body']")
    assert saved.input_value() == "{{ client_io }}, спасибо! Ждём вас снова: {{ manager_phone }}"
    section.locator("form[data-template] .ab-preview .ab-sms__text").wait_for()
    screenshot(page, "settings-templates.png", selector="#ab-root-page")
    api("DELETE", "/sms/templates/task_completed").raise_for_status()


def test_field_mapping_and_cancellation(page, stack, api):
    before = api("GET", "/settings/field-mapping").json()["value"]
    section = _settings_page(page, stack, "fields")
    form = section.locator("form[data-form='field-mapping']")
    premium = form.locator("textarea[name='f_premium']")
    premium.wait_for()
    premium.fill("Премия\nСтраховая премия\nПремия, руб.")
    form.locator("textarea[name='f_plate']").focus()
    form.locator("[data-amo-fields] button", has_text="VIN").click()  # amoCRM's field list
    assert form.locator("textarea[name='f_plate']").input_value() == "Госномер\nГос. номер\nVIN"
    form.locator("select[name='issuer_rule']").select_option("responsible_at_win")
    form.locator("[data-action='save-fields']").click()
    form.locator(".ab-notice--ok").wait_for()
    cancel = section.locator("form[data-form='cancellation']")
    cancel.locator("input[data-status='143']").check()
    cancel.locator("[data-action='save-cancellation']").click()
    cancel.locator(".ab-notice--ok").wait_for()
    section = _reload(page, "fields")
    premium = section.locator("textarea[name='f_premium']")
    premium.wait_for()
    assert premium.input_value() == "Премия\nСтраховая премия\nПремия, руб."
    assert section.locator("textarea[name='f_plate']").input_value().endswith("\nVIN")
    assert section.locator("select[name='issuer_rule']").input_value() == "responsible_at_win"
    assert section.locator("input[data-status='143']").is_checked()
    screenshot(page, "settings-fields.png", selector="#ab-root-page")
    api("PUT", "/settings/field-mapping", json=before).raise_for_status()
    api("PUT", "/settings/cancellation", json={"status_ids": [], "date_field": [],
                                               "refund_field": [], "refund_default": "none"})


def test_plans(page, stack):
    section = _settings_page(page, stack, "plans")
    row = section.locator(f"tr[data-user='{MANAGER}']")
    row.locator("input[name='income_target']").fill("150 000")
    row.locator("input[name='premium_target']").fill("1 200 000")
    row.locator("[data-action='save-plan']").click()
    row.locator(".ab-notice--ok").wait_for()
    section = _reload(page, "plans")
    row = section.locator(f"tr[data-user='{MANAGER}']")
    row.wait_for()
    assert row.locator("input[name='income_target']").input_value() == "150000"
    assert row.locator("input[name='premium_target']").input_value() == "1200000"
    screenshot(page, "settings-plans.png", selector="#ab-root-page")


def test_roles(page, stack, api):
    section = _settings_page(page, stack, "roles")
    box = section.locator(f"input[name='finance'][data-user='{MANAGER_2}']")
    box.check()
    page.wait_for_function(
        f"() => !document.querySelector(\"input[data-user='{MANAGER_2}']\").disabled")
    section = _reload(page, "roles")
    box = section.locator(f"input[name='finance'][data-user='{MANAGER_2}']")
    box.wait_for()
    assert box.is_checked()
    section.locator(".ab-doors .ab-notice").wait_for()
    screenshot(page, "settings-roles.png", selector="#ab-root-page")
    api("PUT", f"/roles/{MANAGER_2}", json={"finance": False}).raise_for_status()


def test_commission_rates(page, stack):
    section = _settings_page(page, stack, "rates")
    form = section.locator("form[data-form='commission-rate']")
    form.locator("input[name='insurer']").fill("Ренессанс Страхование")
    form.locator("select[name='product']").select_option("dms")
    form.locator("input[name='valid_from']").fill("2026-01-01")
    form.locator("input[name='rate_pct']").fill("7,5")
    form.locator("[data-action='add-rate']").click()
    section.locator("tr[data-row]").filter(has_text="Ренессанс Страхование").wait_for()
    section = _reload(page, "rates")
    row = section.locator("tr[data-row]").filter(has_text="Ренессанс Страхование")
    row.wait_for()
    assert "7,5 %" in plain(row) and "01.01.2026" in plain(row)
    screenshot(page, "settings-rates.png", selector="#ab-root-page")


def test_salary_rules(page, stack):
    section = _settings_page(page, stack, "salary")
    form = section.locator("form[data-form='salary-rule']")
    form.locator("select[name='role']").select_option("issuer")
    form.locator("select[name='basis']").select_option("fixed")
    form.locator("input[name='value']").fill("500")
    form.locator("input[name='valid_from']").fill("2026-02-01")
    form.locator("[data-action='add-salary-rule']").click()
    section.locator("tr[data-row]").filter(has_text="фиксированно за полис").wait_for()
    section = _reload(page, "salary")
    row = section.locator("tr[data-row]").filter(has_text="фиксированно за полис")
    row.wait_for()
    assert "500,00 ₽" in plain(row) and "оформившему" in plain(row)
    screenshot(page, "settings-salary.png", selector="#ab-root-page")


def test_sms_gateway(page, stack):
    section = _settings_page(page, stack, "gateway")
    gateway = section.locator(".ab-gateway")
    gateway.locator("tr[data-gateway], .ab-notice").first.wait_for()
    assert gateway.locator(".ab-notice").count() == 0, plain(gateway)
    assert gateway.locator("tr[data-gateway]").count() >= 1


def test_sms_gateway_channels_and_waiting_messages_load(page, stack):
    section = _settings_page(page, stack, "gateway")
    section.locator(".ab-channels p, .ab-channels table").first.wait_for()
    section.locator(".ab-attention p, .ab-attention table").first.wait_for()
    screenshot(page, "settings-gateway.png", selector="#ab-root-page")


def test_inbox_of_rejected_webhooks(page, stack):
    requests.post(stack.webhook_url + "/dp", data=b"<xml>not amoCRM</xml>",
                  headers={"Content-Type": "application/json"}, timeout=10).raise_for_status()
    stack.wait()
    section = _settings_page(page, stack, "inbox")
    row = section.locator("tr[data-event]").filter(has_text="not amoCRM").first
    row.wait_for()
    assert row.get_attribute("data-attempts") == "1"
    event = row.get_attribute("data-event")
    row.locator("[data-action='retry']").click()
    section.locator(f"tr[data-event='{event}'][data-attempts='2']").wait_for()
    section = _reload(page, "inbox")
    section.locator(f"tr[data-event='{event}'][data-attempts='2']").wait_for()
    screenshot(page, "settings-inbox.png", selector="#ab-root-page")


def test_export_audit(page, stack):
    before = len(rows(stack, select(ExportRecord)))
    section = _settings_page(page, stack, "audit")
    with page.expect_download() as download:
        section.locator("[data-action='export']").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert len(rows(stack, select(ExportRecord))) == before + 1
    section = _reload(page, "audit")
    newest = section.locator("tr[data-export]").first
    newest.wait_for()
    assert "Анна Смирнова" in plain(newest) and "готово" in plain(newest)
    screenshot(page, "settings-audit.png", selector="#ab-root-page")


def test_import_of_the_base(page, stack, tmp_path):
    upload = tmp_path / "база.csv"
    upload.write_text("ФИО;Телефон;Продукт;Страховая компания;Дата окончания;Премия\n"
                      "Новиков Пётр;+79995550011;ОСАГО;ВСК;15.03.2027;9100\n", encoding="utf-8")
    section = _settings_page(page, stack, "imports")
    form = section.locator("form[data-form='import']")
    form.locator("input[name='file']").set_input_files(str(upload))
    form.locator("[data-action='upload']").click()
    form.locator(".ab-notice--ok").wait_for()
    section = _reload(page, "imports")
    section.locator("tr[data-run]").filter(has_text="база.csv").first.wait_for()
    assert rows(stack, select(ImportRun).where(ImportRun.filename == "база.csv"))
    screenshot(page, "settings-imports.png", selector="#ab-root-page")


def test_my_sms_profile(page, stack):
    section = _settings_page(page, stack, "profile", user=MANAGER)
    form = section.locator("form[data-form='profile']")
    form.locator("input[name='phone']").fill("+7 916 000-11-22")
    form.locator("[data-action='save-profile']").click()
    form.locator(".ab-notice--ok").wait_for()
    section = _reload(page, "profile")
    assert section.locator("input[name='phone']").input_value() == "+7 916 000-11-22"
    screenshot(page, "settings-profile.png", selector="#ab-root-page")


def test_admin_sections_say_they_need_the_role(page, stack):
    section = _settings_page(page, stack, "fields", user=MANAGER)
    section.locator(".ab-notice--info").filter(has_text="администратор").wait_for()
    assert section.locator("form").count() == 0
