"""Dashboards with charts, and the Excel export: a manager sees the button disabled with the
reason (seed 002: managers may not export the base); finance downloads a real xlsx."""

from __future__ import annotations

import openpyxl
import pytest
from sqlalchemy import select

from amo_bridge.models import ExportRecord
from tests.widget.conftest import (
    ADMIN,
    MANAGER,
    MANAGER_3,
    WON,
    days_from_today,
    new_deal,
    open_harness,
    open_tab,
    plain,
    rows,
    screenshot,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def sold(api, stack):
    """A won deal with two lines this month, a plan, and an SMS."""
    lead = new_deal(stack, responsible=MANAGER)
    for product, premium, pct in (("osago", 1_250_000, "10"), ("kasko", 7_800_000, "12")):
        api("POST", f"/deals/{lead}/policies", json={
            "product": product, "premium": premium, "commission_pct": pct,
            "starts_on": days_from_today(stack, 1).isoformat(),
            "ends_on": days_from_today(stack, 365).isoformat(), "seller": MANAGER,
            "issuer": MANAGER}).raise_for_status()
    stack.sim("PATCH", f"/leads/{lead}", {"status_id": WON})
    stack.deliver()
    month = stack.runtime.clock.now().strftime("%Y-%m")
    api("PUT", "/plans", json={"manager": MANAGER, "month": month, "income_target": 2_000_000}
        ).raise_for_status()
    api("POST", "/sms/messages", json={"template_code": "task_completed", "deal_id": lead},
        headers={"Idempotency-Key": f"dash-{lead}"}).raise_for_status()
    stack.wait()
    return lead


def test_dashboards_draw_plan_fact_retention_and_sms(page, stack, sold):
    open_harness(page, stack, area="advanced_settings", user=ADMIN)
    section = open_tab(page, "dashboards")
    plan = section.locator("[data-chart='plan-fact']")
    plan.locator("svg rect.ab-bar[data-series='fact']").first.wait_for()
    fact = plan.locator("svg rect.ab-bar[data-series='fact'][data-category='Дмитрий Волков']")
    assert fact.count() == 1
    assert plan.locator("rect[data-series='plan'][data-category='Дмитрий Волков']").count() == 1
    assert "Полисов:" in plain(section.locator("[data-total='plan-fact']"))
    section.locator("[data-chart='sms'] svg rect.ab-bar").first.wait_for()
    assert "Сообщений:" in plain(section.locator("[data-total='sms']"))
    section.locator("[data-chart='retention'] svg, [data-chart='retention'] p").first.wait_for()
    section.locator("select[name='scope']").select_option("year")
    plan.locator("svg rect.ab-bar").first.wait_for()
    screenshot(page, "dashboards.png", selector="#ab-root-page")


def test_a_manager_cannot_export_and_is_told_why(page, stack):
    before = len(rows(stack, select(ExportRecord)))
    open_harness(page, stack, area="advanced_settings", user=MANAGER)
    section = open_tab(page, "dashboards")
    button = section.locator("[data-action='export']")
    button.wait_for()
    assert button.is_disabled()
    reason = plain(section.locator("[data-export-reason]"))
    assert "менеджеры не могут выгружать клиентскую базу" in reason
    assert button.get_attribute("title").startswith("Выгрузка запрещена")
    assert len(rows(stack, select(ExportRecord))) == before
    screenshot(page, "dashboards-manager.png", selector=".ab-export")


def test_finance_downloads_a_real_xlsx(page, stack, api, sold, tmp_path):
    api("PUT", f"/roles/{MANAGER_3}", json={"finance": True}).raise_for_status()
    try:
        open_harness(page, stack, area="advanced_settings", user=MANAGER_3)
        section = open_tab(page, "dashboards")
        section.locator(".ab-export select[name='kind']").select_option("ledger")
        with page.expect_download(timeout=30000) as download:
            section.locator("[data-action='export']").click()
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        assert path.suffix == ".xlsx"
        book = openpyxl.load_workbook(path, read_only=True)
        assert book.sheetnames
        cells = [str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                 for c in row if c is not None]
        assert any("ОСАГО" in c or "КАСКО" in c for c in cells), cells[:40]
        section.locator("[data-download]").wait_for()
        record = rows(stack, select(ExportRecord).order_by(ExportRecord.id.desc()))[0]
        assert (record.actor_amocrm_id, record.status, record.downloads) == (
            MANAGER_3, "done", 1)
    finally:
        api("PUT", f"/roles/{MANAGER_3}", json={"finance": False}).raise_for_status()
