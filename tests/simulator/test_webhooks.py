"""Webhooks: amoCRM's old v2 form body, headers, retries and switch-off on the moved clock."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest

from amo_bridge.simulator import SimulatorConfig, create_app, run_in_thread

from .conftest import CALC, SALES, SUB, Api


def _form(request):
    return dict(parse_qsl(request["body"], keep_blank_values=True))


def test_status_change_body_is_v2_form(sim, receiver):
    sim.subscribe(SUB, receiver.url)
    sim.ui_update(SUB, "leads", [{"id": 30100002, "status_id": 61100005}], user_id=8011002)
    done = sim.flush_webhooks()
    assert [d["state"] for d in done] == ["delivered"]
    (req,) = receiver.requests
    assert req["method"] == "POST"
    assert req["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert req["headers"]["User-Agent"] == "amoCRM-Webhooks/3.0"
    assert req["headers"]["X-Amocrm-Requestid"]
    form = _form(req)
    assert all(isinstance(v, str) for v in form.values())
    assert form["leads[status][0][id]"] == "30100002"
    assert form["leads[status][0][status_id]"] == "61100005"
    assert form["leads[status][0][old_status_id]"] == str(CALC)
    assert form["leads[status][0][pipeline_id]"] == str(SALES)
    assert form["leads[status][0][modified_user_id]"] == "8011002"
    assert form["leads[update][0][id]"] == "30100002"  # several actions in one request
    assert form["account[id]"] == "31456789"
    assert form["account[subdomain]"] == SUB
    assert form["account[_links][self]"].endswith(f"/s/{SUB}")
    fields = {form[f"leads[status][0][custom_fields][{i}][name]"]: i for i in range(7)}
    kind = fields["Вид страхования"]
    assert form[f"leads[status][0][custom_fields][{kind}][id]"] == "1101001"
    assert form[f"leads[status][0][custom_fields][{kind}][values][0][value]"] == "КАСКО"
    assert form[f"leads[status][0][custom_fields][{kind}][values][0][enum]"] == "1102002"
    for key in (
        "name",
        "price",
        "responsible_user_id",
        "last_modified",
        "created_user_id",
        "date_create",
        "account_id",
        "created_at",
        "updated_at",
    ):
        assert f"leads[status][0][{key}]" in form


def test_api_changes_fire_webhooks_with_robot_user(sim, receiver, api):
    sim.subscribe(SUB, receiver.url, ["add_lead"])
    api.post(
        "/api/v4/leads",
        [
            {
                "name": "API",
                "custom_fields_values": [{"field_id": 1101004, "values": [{"value": 1767225600}]}],
            }
        ],
    )
    sim.flush_webhooks()
    form = _form(receiver.requests[0])
    assert form["leads[add][0][name]"] == "API"
    assert form["leads[add][0][modified_user_id]"] == "0"
    # Date fields arrive as a bare values[j] (one of the shapes AMOCRM.md lists).
    assert form["leads[add][0][custom_fields][0][values][0]"] == "1767214800"


def test_company_arrives_under_contacts_with_type(sim, receiver):
    sim.subscribe(SUB, receiver.url)
    sim.ui_create(
        SUB,
        "companies",
        [
            {
                "name": "АО Вектор",
                "custom_fields_values": [
                    {
                        "field_code": "PHONE",
                        "values": [{"value": "+74950000000", "enum_code": "WORK"}],
                    }
                ],
            }
        ],
    )
    sim.flush_webhooks()
    form = _form(receiver.requests[0])
    assert form["contacts[add][0][type]"] == "company"
    assert form["contacts[add][0][custom_fields][0][code]"] == "PHONE"
    assert form["contacts[add][0][custom_fields][0][values][0][enum]"] == "1302001"


def test_contact_update_and_task_add(sim, receiver, clock):
    sim.subscribe(SUB, receiver.url)
    sim.ui_update(SUB, "contacts", [{"id": 40100001, "name": "Иван Петров-Водкин"}])
    sim.ui_create(
        SUB,
        "tasks",
        [
            {
                "text": "Звонок",
                "complete_till": 1768300000,
                "entity_type": "leads",
                "entity_id": 30100002,
            }
        ],
    )
    sim.flush_webhooks()
    contact, task = (_form(r) for r in receiver.requests)
    assert contact["contacts[update][0][type]"] == "contact"
    assert contact["contacts[update][0][linked_leads_id][30100001]"] == "30100001"
    assert task["task[add][0][element_id]"] == "30100002"
    assert task["task[add][0][element_type]"] == "2"
    assert task["task[add][0][complete_till]"] == "2026-01-13 13:26:40"  # account time
    assert task["task[add][0][status]"] == "0"


def test_delete_sends_only_id_status_pipeline(sim, receiver):
    sim.subscribe(SUB, receiver.url, ["delete_lead"])
    sim.ui_delete(SUB, "leads", 30100006)
    sim.flush_webhooks()
    keys = {k for k in _form(receiver.requests[0]) if k.startswith("leads")}
    assert keys == {
        "leads[delete][0][id]",
        "leads[delete][0][status_id]",
        "leads[delete][0][pipeline_id]",
    }


def test_unsubscribed_actions_are_not_sent(sim, receiver):
    sim.subscribe(SUB, receiver.url, ["status_lead"])
    sim.ui_update(SUB, "leads", [{"id": 30100002, "name": "Только имя"}])
    assert sim.flush_webhooks() == [] and receiver.requests == []


def _attempt_offsets(delivery):
    first = delivery["attempts"][0]["at"]
    return [(a["at"] - first) // 60 for a in delivery["attempts"]]


def _run_retries(sim, clock, steps):
    for minutes in steps:
        clock.advance(minutes=minutes)
        sim.flush_webhooks()


def test_retry_schedule_for_server_errors(sim, receiver, clock):
    receiver.status = 500
    sim.subscribe(SUB, receiver.url)
    sim.ui_update(SUB, "leads", [{"id": 30100002, "price": 1}])
    sim.flush_webhooks()
    sim.flush_webhooks()  # nothing is due before +5 min
    assert len(receiver.requests) == 1
    _run_retries(sim, clock, [4, 1, 15, 15, 60, 600])
    (delivery,) = sim.deliveries(SUB)
    assert _attempt_offsets(delivery) == [0, 5, 20, 35, 95]
    assert delivery["state"] == "failed"


def test_retry_schedule_for_client_errors_stops_after_third(sim, receiver, clock):
    receiver.status = 404
    sim.subscribe(SUB, receiver.url)
    sim.ui_update(SUB, "leads", [{"id": 30100002, "price": 1}])
    sim.flush_webhooks()
    _run_retries(sim, clock, [5, 15, 15, 60])
    (delivery,) = sim.deliveries(SUB)
    assert _attempt_offsets(delivery) == [0, 5, 20]
    assert delivery["state"] == "failed"


def test_recovery_on_retry(sim, receiver, clock):
    receiver.status = 503
    sim.subscribe(SUB, receiver.url)
    sim.ui_update(SUB, "leads", [{"id": 30100002, "price": 1}])
    sim.flush_webhooks()
    receiver.status = 200
    _run_retries(sim, clock, [5])
    (delivery,) = sim.deliveries(SUB)
    assert delivery["state"] == "delivered" and len(delivery["attempts"]) == 2


def test_slow_2xx_is_a_failure(sim, receiver, config):
    receiver.delay = config.webhook_timeout + 0.3
    sim.subscribe(SUB, receiver.url)
    sim.ui_update(SUB, "leads", [{"id": 30100002, "price": 1}])
    sim.flush_webhooks()
    (delivery,) = sim.deliveries(SUB)
    assert delivery["attempts"][0]["status"] == 0 and delivery["state"] == "pending"


def test_switched_off_after_more_than_100_failures_in_two_hours(sim, receiver, clock, control):
    receiver.status = 500
    hook = sim.subscribe(SUB, receiver.url, ["update_lead"])
    for i in range(100):
        sim.ui_update(SUB, "leads", [{"id": 30100002, "price": i + 1}])
    sim.flush_webhooks()
    assert hook["disabled"] is False  # exactly 100 failures: still on
    clock.advance(minutes=1)
    sim.ui_update(SUB, "leads", [{"id": 30100002, "price": 999}])
    sim.flush_webhooks()
    assert hook["disabled"] is True
    states = {d["state"] for d in sim.deliveries(SUB)}
    assert states == {"cancelled"}  # pending retries die with the hook
    sim.ui_update(SUB, "leads", [{"id": 30100002, "price": 1000}])
    assert sim.flush_webhooks() == []
    count = len(receiver.requests)
    control.post(f"/accounts/{SUB}/webhooks/{hook['id']}/enable")
    receiver.status = 200
    sim.ui_update(SUB, "leads", [{"id": 30100002, "price": 1001}])
    sim.flush_webhooks()
    assert len(receiver.requests) == count + 1


def test_failures_older_than_two_hours_do_not_count(sim, receiver, clock):
    receiver.status = 500
    hook = sim.subscribe(SUB, receiver.url, ["update_lead"])
    for i in range(60):
        sim.ui_update(SUB, "leads", [{"id": 30100002, "price": i + 1}])
    sim.flush_webhooks()
    clock.advance(timedelta(hours=2, minutes=1))
    sim.webhooks.deliveries.clear()  # forget pending retries; only the window matters here
    for i in range(60):
        sim.ui_update(SUB, "leads", [{"id": 30100002, "price": i + 100}])
    sim.flush_webhooks()
    assert hook["disabled"] is False


def test_skip_switch_drops_webhook_but_keeps_the_change(sim, receiver, api, control):
    sim.subscribe(SUB, receiver.url)
    control.post(f"/accounts/{SUB}/webhooks/skip", {"count": 1})
    r = control.patch(f"/accounts/{SUB}/leads/30100002", {"status_id": 142})
    assert r.status_code == 200
    sim.ui_update(SUB, "leads", [{"id": 30100003, "price": 5}])
    sim.flush_webhooks()
    assert len(receiver.requests) == 1
    assert "leads[update][0][id]" in _form(receiver.requests[0])
    assert _form(receiver.requests[0])["leads[update][0][id]"] == "30100003"
    assert api.get("/api/v4/leads/30100002").json()["status_id"] == 142
    states = [d["state"] for d in sim.deliveries(SUB)]
    assert states == ["skipped", "delivered"]
    # Per action too: ?skip_webhook=1
    control.patch(f"/accounts/{SUB}/leads/30100003?skip_webhook=1", {"price": 6})
    assert sim.flush_webhooks() == []


def test_flush_and_log_over_control(sim, receiver, control):
    control.post(
        f"/accounts/{SUB}/webhooks", {"destination": receiver.url, "settings": ["add_contact"]}
    )
    control.post(f"/accounts/{SUB}/contacts", {"name": "Через UI"})
    flushed = control.post("/webhooks/flush").json()
    assert [d["state"] for d in flushed] == ["delivered"]
    log = control.get(f"/accounts/{SUB}/webhooks/deliveries").json()
    assert log[0]["attempts"][0]["status"] == 200
    assert "contacts%5Badd%5D%5B0%5D%5Bname%5D" in log[0]["body"]


def test_api_webhook_subscription(api, sim):
    r = api.post(
        "/api/v4/webhooks",
        {"destination": "http://127.0.0.1:9/x", "settings": ["add_lead", "status_lead"]},
    )
    assert r.status_code == 201
    assert r.json()["settings"] == ["add_lead", "status_lead"]
    assert api.get("/api/v4/webhooks").json()["_embedded"]["webhooks"][0]["destination"] == (
        "http://127.0.0.1:9/x"
    )


@pytest.mark.parametrize("delivery_mode", ["background"])
def test_background_dispatcher_delivers(receiver, clock, delivery_mode):
    app = create_app(SimulatorConfig(webhook_delivery=delivery_mode), clock=clock)
    with run_in_thread(app) as running:
        running.simulator.subscribe(SUB, receiver.url)
        Api(running.account_url(SUB)).patch("/api/v4/leads/30100002", {"price": 77})
        deadline = time.monotonic() + 5
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.02)
    assert receiver.requests and _form(receiver.requests[0])["leads[update][0][price]"] == "77"
