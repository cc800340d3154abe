"""`amo-bridge demo` says where to open the widget; the pages it names open."""

from __future__ import annotations

import re
from types import SimpleNamespace

import requests

from tests.widget.conftest import new_deal


def test_step_widget_prints_harness_urls_that_open(stack):
    lead = new_deal(stack)
    said: list[str] = []
    ctx = SimpleNamespace(bridge=stack.bridge, app=stack.app, facts={"lead_ids": [lead]},
                          say=said.append)
    from amo_bridge.demo_widget import step_widget

    step_widget(ctx)
    text = "\n".join(said)
    urls = re.findall(r"http://\S+", text)
    assert any("area=lcard" in u and f"lead={lead}" in u for u in urls), text
    assert any("area=ccard" in u for u in urls) and any("advanced_settings" in u for u in urls)
    assert "AMOCRM_CLIENT_SECRET is not set" not in text
    for url in urls:
        assert requests.get(url, timeout=10).status_code == 200
    assert ctx.facts["widget_harness"].endswith("/widget/harness")
