"""The amoCRM webhook door over a real socket: verify, store, enqueue after commit, answer."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from amo_bridge.accounts import create_account
from amo_bridge.app import create_app
from amo_bridge.demo import serve_in_thread
from amo_bridge.models import InboxEvent
from amo_bridge.settings import load_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "amocrm"
FORM = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "amoCRM-Webhooks/3.0"}


@pytest.fixture
def bridge(migrated_url, tmp_path):
    settings = load_settings({"DATABASE_URL": migrated_url, "INSTANCE_PATH": str(tmp_path),
                              "JOB_MODE": "thread"})
    app = create_app(settings, start_background=False)  # jobs queue up but do not run
    runtime = app.extensions["amo_bridge"]
    with runtime.session() as session:
        account, token = create_account(session, amocrm_id=29085712, subdomain="demo-broker",
                                        base_url="http://127.0.0.1:1/s/demo-broker")
    server = serve_in_thread(app)
    yield server.url + "/webhooks/amocrm/" + token, runtime
    server.stop()


def _rows(runtime):
    with runtime.session() as session:
        return session.query(InboxEvent).order_by(InboxEvent.id).all()


def _queued(runtime):
    return [item[0].args[0] for item in list(runtime.queue._pending.queue)]


def test_a_valid_webhook_is_stored_enqueued_and_answered(bridge):
    url, runtime = bridge
    body = (FIXTURES / "lead_status.txt").read_bytes()
    response = requests.post(url, data=body, headers={**FORM, "X-Amocrm-Requestid": "r-1"},
                             timeout=5)
    assert response.status_code == 200
    [row] = _rows(runtime)
    assert row.body == body and row.status == "pending" and row.source == "amocrm"
    assert row.headers["User-Agent"] == "amoCRM-Webhooks/3.0"
    assert row.headers["X-Amocrm-Requestid"] == "r-1"
    assert _queued(runtime) == [row.id]


@pytest.mark.parametrize("name", ["garbage.txt", "truncated.txt"])
def test_unparseable_bodies_with_the_right_secret_are_stored_and_answered_200(bridge, name):
    url, runtime = bridge
    body = (FIXTURES / name).read_bytes()
    assert requests.post(url, data=body, headers=FORM, timeout=5).status_code == 200
    [row] = _rows(runtime)
    assert row.body == body  # kept for admins; the job will mark it rejected with the reason


def test_any_content_type_is_accepted(bridge):
    url, runtime = bridge
    response = requests.post(url, data=b"\x00\x01binary", timeout=5,
                             headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 200
    assert len(_rows(runtime)) == 1


def test_unknown_secret_is_404_and_stores_nothing(bridge):
    url, runtime = bridge
    body = (FIXTURES / "lead_status.txt").read_bytes()
    response = requests.post(url + "x", data=body, headers=FORM, timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert _rows(runtime) == []


def test_another_accounts_body_is_403_and_logged(bridge, caplog):
    url, runtime = bridge
    body = (FIXTURES / "foreign_account.txt").read_bytes()
    response = requests.post(url, data=body, headers=FORM, timeout=5)
    assert response.status_code == 403
    assert _rows(runtime) == []
    assert "arrived at the address of account 29085712" in caplog.text


def test_oversized_body_is_413(bridge):
    url, runtime = bridge
    response = requests.post(url, data=b"a=" + b"x" * (16 * 1024 * 1024 + 10), headers=FORM,
                             timeout=30)
    assert response.status_code == 413
    assert _rows(runtime) == []


def test_a_redelivery_waiting_for_its_original_is_absorbed_but_kept(bridge):
    url, runtime = bridge
    body = (FIXTURES / "lead_status.txt").read_bytes()
    for _ in range(3):
        assert requests.post(url, data=body, headers=FORM, timeout=5).status_code == 200
    first, second, third = _rows(runtime)
    assert first.status == "pending"
    assert second.status == third.status == "duplicate"
    assert second.duplicate_of_id == third.duplicate_of_id == first.id
    assert _queued(runtime) == [first.id]  # one job: the original reads the latest state


def test_an_identical_body_after_the_original_started_is_processed(bridge):
    """A→B, B→A, A→B: the third short-form hook is byte-identical to the first."""
    url, runtime = bridge
    body = (FIXTURES / "dp_status.txt").read_bytes()
    requests.post(url, data=body, headers=FORM, timeout=5)
    with runtime.session() as session:
        session.query(InboxEvent).update({"status": "done"})
    requests.post(url, data=body, headers=FORM, timeout=5)
    rows = _rows(runtime)
    assert [r.status for r in rows] == ["done", "pending"]
    assert _queued(runtime) == [rows[0].id, rows[1].id]


def test_digital_pipeline_door_accepts_the_widget_json(bridge):
    url, runtime = bridge
    body = (FIXTURES / "dp_widget_json.json").read_bytes()
    response = requests.post(url + "/dp", data=body, timeout=5,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    [row] = _rows(runtime)
    assert row.source == "amocrm_dp"


def test_redis_down_still_answers_200_and_keeps_the_row(migrated_url, tmp_path):
    settings = load_settings({"DATABASE_URL": migrated_url, "INSTANCE_PATH": str(tmp_path),
                              "REDIS_URL": "redis://127.0.0.1:1/0"})
    app = create_app(settings)
    runtime = app.extensions["amo_bridge"]
    with runtime.session() as session:
        _, token = create_account(session, amocrm_id=29085712, subdomain="demo-broker",
                                  base_url="http://127.0.0.1:1/s/demo-broker")
    server = serve_in_thread(app)
    try:
        body = (FIXTURES / "lead_status.txt").read_bytes()
        response = requests.post(f"{server.url}/webhooks/amocrm/{token}", data=body,
                                 headers=FORM, timeout=10)
    finally:
        server.stop()
    assert response.status_code == 200
    [row] = _rows(runtime)
    assert row.status == "pending"  # the sweeper will enqueue it once Redis is back
