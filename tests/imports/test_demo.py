"""The demo step imports the shipped sample into the demo account and says what happened."""

from __future__ import annotations

from amo_bridge.demo import DemoContext
from amo_bridge.demo_import import step_import
from amo_bridge.devstack import local_stack
from amo_bridge.settings import load_settings


def test_step_import(migrated_url, tmp_path):
    settings = load_settings({"DATABASE_URL": migrated_url, "INSTANCE_PATH": str(tmp_path),
                              "JOB_MODE": "thread", "LOG_LEVEL": "WARNING"})
    lines: list[str] = []
    with local_stack(settings) as stack:
        ctx = DemoContext(settings=settings, echo=lines.append, stack=stack, app=stack.app,
                          bridge=stack.bridge)
        step_import(ctx)
    text = "\n".join(lines)
    assert "imported it: read 10, imported 6, updated 0, unchanged 0, rejected 3" in text, text
    assert "4 new clients were created in amoCRM in the background" in text
    assert "6 imported policies now" in text and "6 sales booked" in text
    assert "строка 7, столбец F «Дата начала»: даты «31.02.2026» не существует" in text
    assert "строка 9, столбец C «Вид страхования»: неизвестный продукт «Каско+»" in text
    assert "imported 0, updated 0, unchanged 6." in text
