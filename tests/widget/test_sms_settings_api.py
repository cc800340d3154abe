"""The SMS settings API: the reminder schedule and the gateways, admins only, strict input."""

from __future__ import annotations

from tests.widget.conftest import MANAGER


def test_reminder_schedule_round_trip(api):
    before = api("GET", "/sms/settings").json()  # the stack is shared: start from whatever
    assert set(before["reminders"]["days_before"]) >= {"kasko", "osago"}
    answer = api("PUT", "/sms/settings", json={"reminders": {
        "days_before": {"kasko": [5, 45, 14, 14], "osago": [30], "ifl": []},
        "foreign_policies": True}})
    assert answer.status_code == 200, answer.text
    after = api("GET", "/sms/settings").json()["reminders"]
    assert after["days_before"] == {"kasko": [45, 14, 5], "osago": [30]}  # sorted, deduped
    assert after["foreign_policies"] is True
    api("PUT", "/sms/settings", json={"reminders": before["reminders"]})


def test_bad_input_is_a_clear_422(api):
    for body in ({"reminders": {"days_before": {"kasko": [400]}}},
                 {"reminders": {"days_before": {"cat_insurance": [5]}}},
                 {"unknown": 1}):
        answer = api("PUT", "/sms/settings", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.headers["Content-Type"] == "application/problem+json"


def test_managers_cannot_change_sms_settings(api):
    assert api("GET", "/sms/settings", user=MANAGER).status_code == 403
    assert api("PUT", "/sms/settings", user=MANAGER, json={}).status_code == 403
    assert api("GET", "/sms/gateway", user=MANAGER).status_code == 403


def test_gateway_state(api):
    body = api("GET", "/sms/gateway").json()
    assert body["primary"]["name"] and body["primary"]["status"] == "active"
