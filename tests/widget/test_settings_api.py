"""The settings sections of the widget's own API, the context, the contact summary and the SMS
dashboard — over real HTTP against the simulator."""

from __future__ import annotations

import requests
from sqlalchemy import select

from amo_bridge.models import AuditLog, Deal, InboxEvent, Policy
from tests.widget.conftest import (
    ADMIN,
    MANAGER,
    SALES,
    WON,
    assert_described,
    new_client,
    rows,
    wait_for,
)


def test_field_mapping_is_read_saved_audited_and_used_by_the_mirror(api, stack):
    current = api("GET", "/settings/field-mapping")
    assert current.status_code == 200
    assert_described("GET", "/widget/api/settings/field-mapping", current)
    value = current.json()["value"]
    assert value["policy"]["premium"] == ["Премия", "Страховая премия"]
    assert value["issuer"]["rule"] == "responsible_at_stage"
    # This broker renamed the premium field, and names the insurer field «СК».
    value["policy"]["premium"] = ["Премия по полису", "Премия"]
    value["policy"]["insurer"] = ["СК"]
    saved = api("PUT", "/settings/field-mapping", json=value)
    assert saved.status_code == 200, saved.text
    assert_described("PUT", "/widget/api/settings/field-mapping", saved)
    again = api("GET", "/settings/field-mapping").json()
    assert again["value"]["policy"]["insurer"] == ["СК"] and again["version"] >= 1
    assert again["updated_by"] == ADMIN
    audit = rows(stack, select(AuditLog).where(AuditLog.action == "settings.field_mapping"))
    assert audit and audit[-1].details["after"]["policy"]["insurer"] == ["СК"]

    contact = new_client(stack)
    lead = stack.sim("POST", "/leads", [{
        "name": "КАСКО", "pipeline_id": SALES, "status_id": WON, "responsible_user_id": MANAGER,
        "_embedded": {"contacts": [{"id": contact}]}, "custom_fields_values": [
            {"field_id": 1101001, "values": [{"enum_id": 1102002}]},
            {"field_id": 1101002, "values": [{"enum_id": 1102101}]},
            {"field_id": 1101006, "values": [{"value": "50000"}]}]}])["ids"][0]
    stack.deliver()
    deal = rows(stack, select(Deal).where(Deal.amocrm_id == lead))[0]
    [policy] = rows(stack, select(Policy).where(Policy.deal_id == deal.id))
    # «Страховая компания» is no longer mapped: the insurer stays empty; the premium is read.
    assert (policy.insurer, policy.premium) == (None, 5_000_000)
    value["policy"]["insurer"] = ["Страховая компания", "СК"]
    api("PUT", "/settings/field-mapping", json=value).raise_for_status()


def test_field_mapping_refuses_what_the_mirror_cannot_use(api):
    base = api("GET", "/settings/field-mapping").json()["value"]
    for broken, where in (({**base, "policy": {"colour": ["Цвет"]}}, "policy"),
                          ({**base, "seller": {"rule": "field"}}, "seller"),
                          ({**base, "issuer": {"rule": "responsible_at_stage"}}, "issuer"),
                          ({**base, "extra": 1}, "extra")):
        answer = api("PUT", "/settings/field-mapping", json=broken)
        assert answer.status_code == 422, broken
        assert where in answer.json()["errors"], answer.json()


def test_cancellation_stages_round_trip(api):
    before = api("GET", "/settings/cancellation").json()["value"]
    assert before["refund_default"] in ("none", "full")
    saved = api("PUT", "/settings/cancellation", json={
        "status_ids": [61100099], "date_field": ["Дата расторжения"],
        "refund_field": ["Возврат"], "refund_default": "full"})
    assert saved.status_code == 200, saved.text
    assert api("GET", "/settings/cancellation").json()["value"]["status_ids"] == [61100099]
    api("PUT", "/settings/cancellation", json=before).raise_for_status()


def test_amocrm_fields_and_pipelines_are_read_live(api):
    answer = api("GET", "/amocrm/lead-fields")
    assert answer.status_code == 200, answer.text
    assert_described("GET", "/widget/api/amocrm/lead-fields", answer)
    names = {f["name"] for f in answer.json()["fields"]}
    assert {"Вид страхования", "Премия", "Комиссия %"} <= names
    sales = next(p for p in answer.json()["pipelines"] if p["id"] == SALES)
    assert "Оформление" in {s["name"] for s in sales["statuses"]}


def test_rejected_webhooks_are_listed_and_can_be_retried(api, stack):
    sent = requests.post(stack.webhook_url + "/dp", data=b"{not json",
                         headers={"Content-Type": "application/json"}, timeout=10)
    assert sent.status_code == 200  # amoCRM always gets 2xx from a known address
    stack.wait()
    listed = wait_for(lambda: api("GET", "/inbox").json()["events"])
    assert_described("GET", "/widget/api/inbox", api("GET", "/inbox"))
    event = listed[0]
    assert event["status"] == "rejected" and event["body_preview"] == "{not json"
    assert event["reason"] and event["attempts"] == 1
    retried = api("POST", f"/inbox/{event['id']}/retry")
    assert retried.status_code == 202
    assert_described("POST", "/widget/api/inbox/<int:event_id>/retry", retried)
    stack.wait()
    [row] = rows(stack, select(InboxEvent).where(InboxEvent.id == event["id"]))
    assert (row.status, row.attempts) == ("rejected", 2)
    assert api("POST", f"/inbox/{event['id']}/retry").status_code == 202
    stack.wait()
    new_client(stack)  # a webhook the bridge reads fine
    done = api("GET", "/inbox?status=done").json()["events"]
    assert api("POST", f"/inbox/{done[0]['id']}/retry").status_code == 409
    assert api("GET", "/inbox", user=MANAGER).status_code == 403


def test_context_tells_the_widget_who_is_calling(api):
    admin = api("GET", "/context")
    assert_described("GET", "/widget/api/context", admin)
    body = admin.json()
    assert set(body["user"]["profile"]) == {"name", "phone"}
    assert body["user"]["admin"] is True and body["export"]["allowed"] is True
    assert {"osago", "kasko"} <= {p["code"] for p in body["products"]}
    assert body["account"]["subdomain"] == "demo-broker"
    manager = api("GET", "/context?lang=en", user=MANAGER).json()
    assert manager["export"]["allowed"] is False
    assert "managers may not export" in manager["export"]["reason"]
    assert manager["products"][0]["name"] == "Motor TPL (OSAGO)"


def test_contact_summary_lists_phones(api, stack):
    contact = new_client(stack, phone="+79035550101")
    answer = api("GET", f"/contacts/{contact}/summary")
    assert_described("GET", "/widget/api/contacts/<int:contact_id>/summary", answer)
    body = answer.json()
    assert body["known"] is True and body["phones"] == [{"phone": "+79035550101",
                                                         "label": "MOB"}]
    assert body["verified_phone"] is None
    assert api("GET", "/contacts/1/summary").json()["known"] is False


def test_sms_dashboard_counts_messages_by_state(api, stack):
    contact = new_client(stack)
    sent = api("POST", "/sms/messages", json={"template_code": "task_completed",
                                              "contact_id": contact},
               headers={"Idempotency-Key": "dash-1"})
    assert sent.status_code in (200, 201), sent.text
    stack.wait()
    month = stack.runtime.clock.now().strftime("%Y-%m")
    answer = api("GET", f"/dashboards/sms?period={month}")
    assert answer.status_code == 200, answer.text
    assert_described("GET", "/widget/api/dashboards/sms", answer)
    body = answer.json()
    assert body["totals"]["messages"] >= 1
    assert sum(day["sent"] + day["delivered"] + day["waiting"] + day["rejected"] +
               day["failed"] + day["attention"] for day in body["by_day"]) == \
        body["totals"]["messages"]
    mine = api("GET", f"/dashboards/sms?period={month}", user=MANAGER).json()
    assert mine["totals"]["messages"] <= body["totals"]["messages"]
