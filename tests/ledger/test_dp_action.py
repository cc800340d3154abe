"""«amo-bridge: отправить SMS» sends once per deal and stage."""

from __future__ import annotations

import json

from sqlalchemy import select

from amo_bridge.models import SmsMessage

from .test_mirror_e2e import SALES, _create_lead


def _dp_body(stack, lead_id: int, status_id: int, template: str) -> bytes:
    return json.dumps({
        "event": {"type": 14, "type_code": "lead_appeared_in_status",
                  "data": {"id": str(lead_id), "element_type": 2, "status_id": status_id,
                           "pipeline_id": SALES}, "time": 1767225600},
        "action": {"settings": {"widget": {"settings": {"template": template}}}},
        "subdomain": "demo-broker", "account_id": stack.amocrm_account_id,
    }).encode()


def test_dp_action_queues_the_chosen_template_once(stack):
    lead_id = _create_lead(stack)
    stack.deliver()
    body = _dp_body(stack, lead_id, 61100003, "first_contact")
    for _ in range(3):  # amoCRM may retry the DP hook; a stage re-entered fires it again
        response = stack.http.post(stack.webhook_url + "/dp", data=body, timeout=10,
                                   headers={"Content-Type": "application/json"})
        assert response.status_code == 200
        stack.wait()
    with stack.runtime.session() as session:
        messages = session.scalars(select(SmsMessage).where(SmsMessage.rule == "dp_action")).all()
    assert len(messages) == 1
    [message] = messages
    assert message.template_code == "first_contact"
    assert message.idempotency_key.startswith("dp:deal:") and message.idempotency_key.endswith(
        f":{SALES}:61100003")


def test_dp_action_without_a_template_sends_nothing(stack):
    lead_id = _create_lead(stack)
    stack.deliver()
    stack.http.post(stack.webhook_url + "/dp", data=_dp_body(stack, lead_id, 61100003, ""),
                    headers={"Content-Type": "application/json"}, timeout=10)
    stack.wait()
    with stack.runtime.session() as session:
        assert session.scalars(select(SmsMessage).where(SmsMessage.rule == "dp_action")).all() == []
