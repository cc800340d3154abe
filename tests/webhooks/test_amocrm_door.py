"""The amoCRM webhook door over a real socket: verify, store, enqueue after commit, answer."""

from __future__ import annotations

import socket
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from amo_bridge.accounts import create_account
from amo_bridge.app import create_app
from amo_bridge.demo import serve_in_thread
from amo_bridge.models import InboxEvent
from amo_bridge.settings import load_settings
from jobs.inbox import REDELIVERY_HORIZON, _claim, _clear_wake_flag

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


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


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


def test_a_chunked_body_is_stored_and_a_chunked_body_over_the_limit_is_413(bridge):
    url, runtime = bridge
    body = (FIXTURES / "lead_status.txt").read_bytes()
    chunks = iter([body[:100], body[100:]])  # requests sends an iterator chunked
    response = requests.post(url, data=chunks, headers=FORM, timeout=5)
    assert response.status_code == 200, response.text
    [row] = _rows(runtime)
    assert row.body == body
    huge = (b"x" * (1024 * 1024) for _ in range(17))
    assert requests.post(url, data=huge, headers=FORM, timeout=30).status_code == 413
    assert len(_rows(runtime)) == 1


def test_a_body_cut_short_is_not_stored(bridge):
    url, runtime = bridge
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(f"POST {address.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
                     "account%5Bid%5D=29085712".encode())
        sock.shutdown(socket.SHUT_WR)  # the sender stops after 24 of its 1000 bytes
        answer = sock.recv(4096)
    assert answer == b"" or answer.split(b" ")[1] == b"400"
    assert _rows(runtime) == []
    assert requests.post(url, data=(FIXTURES / "lead_status.txt").read_bytes(), headers=FORM,
                         timeout=5).status_code == 200  # and the door still serves


def test_a_redelivery_waiting_for_its_original_is_kept_and_absorbed_when_claimed(bridge):
    url, runtime = bridge
    body = (FIXTURES / "lead_status.txt").read_bytes()
    other = (FIXTURES / "lead_add.txt").read_bytes()
    for data in (body, body, other, body):
        assert requests.post(url, data=data, headers=FORM, timeout=5).status_code == 200
    rows = _rows(runtime)
    assert [r.status for r in rows] == ["pending"] * 4  # the door stores every request
    first, second, third, fourth = rows
    assert _queued(runtime) == [first.id]  # the burst woke one job; it will claim them all
    # The job woken by the third request claims the batch: the copies of the first body
    # are absorbed into it, the other body stays in the batch.
    claimed, resume = _claim(runtime, third.id, takeover=False)
    assert sorted(claimed) == [first.id, third.id] and resume is False
    rows = {r.id: r for r in _rows(runtime)}
    assert rows[second.id].status == rows[fourth.id].status == "duplicate"
    assert rows[second.id].duplicate_of_id == rows[fourth.id].duplicate_of_id == first.id
    assert rows[first.id].status == rows[third.id].status == "processing"


def test_an_identical_body_beyond_the_redelivery_horizon_is_not_absorbed(bridge):
    url, runtime = bridge
    body = (FIXTURES / "lead_status.txt").read_bytes()
    for _ in range(2):
        requests.post(url, data=body, headers=FORM, timeout=5)
    first, second = _rows(runtime)
    with runtime.session() as session:
        session.get(InboxEvent, first.id).received_at = (
            second.received_at - REDELIVERY_HORIZON - timedelta(seconds=1))
    claimed, _ = _claim(runtime, second.id, takeover=False)
    assert sorted(claimed) == [first.id, second.id]


def test_an_identical_body_after_the_original_started_is_processed(bridge):
    """A→B, B→A, A→B: the third short-form hook is byte-identical to the first."""
    url, runtime = bridge
    body = (FIXTURES / "dp_status.txt").read_bytes()
    requests.post(url, data=body, headers=FORM, timeout=5)
    [first] = _rows(runtime)
    _clear_wake_flag(runtime, first.account_id)  # what the job does before it claims
    assert _claim(runtime, first.id, takeover=False) == ([first.id], False)
    requests.post(url, data=body, headers=FORM, timeout=5)
    rows = _rows(runtime)
    assert [r.status for r in rows] == ["processing", "pending"]
    assert _claim(runtime, rows[1].id, takeover=False) == ([rows[1].id], False)
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


@pytest.mark.redis
def test_a_burst_wakes_one_job_and_the_job_rearms_the_wake_up(migrated_url, tmp_path,
                                                              redis_conn, unique):
    """RQ mode: while a job for the account waits, further hooks only store their rows; once
    the job starts (and clears the flag, before it claims), the next hook wakes another."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    from jobs.queue import RQJobQueue

    settings = load_settings({"DATABASE_URL": migrated_url, "INSTANCE_PATH": str(tmp_path),
                              "REDIS_URL": "redis://127.0.0.1:1/0", "JOB_MODE": "rq"})
    app = create_app(settings, start_background=False)
    runtime = app.extensions["amo_bridge"]
    runtime.queue = RQJobQueue(redis_conn, name=f"test-{unique}")
    rq_queue = Queue(f"test-{unique}", connection=redis_conn, serializer=JSONSerializer)
    with runtime.session() as session:
        account, token = create_account(session, amocrm_id=29085712, subdomain="demo-broker",
                                        base_url="http://127.0.0.1:1/s/demo-broker")
    server = serve_in_thread(app)
    url = f"{server.url}/webhooks/amocrm/{token}"
    try:
        bodies = [(FIXTURES / name).read_bytes()
                  for name in ("lead_status.txt", "lead_add.txt", "lead_update_custom_fields.txt")]
        for body in bodies:
            assert requests.post(url, data=body, headers=FORM, timeout=5).status_code == 200
        app.wsgi_app.flush_wakes()  # its thread would within 20 ms
        rows = _rows(runtime)
        assert [job.args for job in rq_queue.jobs] == [[rows[0].id, account.id]]
        assert requests.post(url, data=bodies[1], headers=FORM, timeout=5).status_code == 200
        assert app.wsgi_app.flush_wakes() == 0  # a job is already waiting

        _clear_wake_flag(runtime, account.id)  # what process_inbox does first
        assert requests.post(url, data=bodies[0], headers=FORM, timeout=5).status_code == 200
        _wait_for(lambda: len(rq_queue.jobs) == 2)  # the sender thread, this time
        newest = _rows(runtime)[-1]
        assert [job.args for job in rq_queue.jobs] == [[rows[0].id, account.id],
                                                       [newest.id, account.id]]
        assert len(_rows(runtime)) == 5 and {r.status for r in _rows(runtime)} == {"pending"}
    finally:
        server.stop()
        rq_queue.delete(delete_jobs=True)
        redis_conn.delete(f"amo-bridge:wake:test-{unique}:inbox:{account.id}")
