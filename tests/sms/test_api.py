"""The widget's SMS API over real HTTP on loopback, with amoCRM-style JWTs."""

from __future__ import annotations

import re
import time

import jwt
import pytest
import requests
from sqlalchemy import select

from amo_bridge.app import create_app
from amo_bridge.demo import serve_in_thread
from amo_bridge.models import SmsMessage, User
from amo_bridge.settings import load_settings
from jobs.runtime import build_runtime, set_runtime
from sms.fake import FakeGateway
from sms.registry import GatewaySet
from tests.sms import factory
from tests.sms.conftest import TestQueue

SECRET = "sms-client-secret-0123456789abcdef"
AUDIENCE = "https://bridge.example.com"
ADMIN, MANAGER = 8011001, factory.MANAGER


def token(user_id: int) -> str:
    now = int(time.time())
    return jwt.encode({"iss": "https://broker.amocrm.ru", "aud": AUDIENCE, "jti": "t",
                       "iat": now, "nbf": now, "exp": now + 1800, "account_id": 31456789,
                       "user_id": user_id}, SECRET, algorithm="HS256")


@pytest.fixture
def api(db_url, tmp_path, clock):
    settings = load_settings({
        "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path), "JOB_MODE": "inline",
        "AMOCRM_CLIENT_SECRET": SECRET, "AMOCRM_REDIRECT_URI": f"{AUDIENCE}/oauth",
        "SECRET_KEY": "k" * 40, "LOG_LEVEL": "ERROR"})
    runtime = build_runtime(settings, clock=clock)
    runtime.queue = TestQueue()
    fake = FakeGateway()
    runtime.extras["sms.gateways"] = GatewaySet(fake)
    app = create_app(settings, clock=clock, runtime=runtime, start_background=False)
    with runtime.session() as s:
        account = factory.account(s)
        factory.user(s, account, amocrm_id=ADMIN, name="Анна Смирнова", is_admin=True)
        factory.user(s, account, profile_phone=None)
        factory.deal(s, account, factory.contact(s, account))
    server = serve_in_thread(app)
    http = requests.Session()

    def call(method: str, path: str, user: int = MANAGER, **kwargs) -> requests.Response:
        return http.request(method, f"{server.url}/widget/api/sms{path}", timeout=30,
                            headers={"X-Auth-Token": token(user), **kwargs.pop("headers", {})},
                            **kwargs)

    call.fake, call.runtime, call.url = fake, runtime, server.url
    yield call
    server.stop()
    set_runtime(None)
    runtime.db.dispose()


def test_saving_a_template_that_escapes_the_sandbox_is_refused(api):
    response = api("PUT", "/templates/reminder", user=ADMIN,
                   json={"body": "{{ client_io }}\n{{ client_io.__class__.__mro__ }}"})
    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["line"] == 2 and "__class__" in problem["detail"]
    assert api("GET", "/templates").json()["templates"][2]["is_default"]  # unchanged


def test_templates_are_edited_by_admins_and_validated(api):
    body = "{{ client_io }}, ваш полис {{ product }} до {{ end_date }}. {{ manager_phone }}"
    assert api("PUT", "/templates/reminder", json={"body": body}).status_code == 403
    unknown = api("PUT", "/templates/reminder", user=ADMIN, json={"body": "{{ clinet_io }}"})
    assert unknown.status_code == 422 and "clinet_io" in unknown.json()["detail"]
    strict = api("PUT", "/templates/reminder", user=ADMIN, json={"body": body, "x": 1})
    assert strict.status_code == 422  # our own API refuses unknown fields
    saved = api("PUT", "/templates/reminder", user=ADMIN, json={"body": body})
    assert saved.status_code == 200 and saved.json()["version"] == 1
    listed = {t["code"]: t for t in api("GET", "/templates").json()["templates"]}
    assert listed["reminder"]["body"] == body and not listed["reminder"]["is_default"]
    assert api("DELETE", "/templates/reminder", user=ADMIN).json() == {"reset": True}


def test_preview_counts_segments_and_warns(api):
    shown = api("POST", "/templates/preview", json={"body": "Код: {{ code }}"}).json()
    assert (shown["text"], shown["segments"], shown["encoding"]) == ("Код: 482913", 1, "UCS-2")
    long = api("POST", "/templates/preview", json={"body": "{{ client_full_name }} " * 12})
    assert long.json()["segments"] > 3 and "SMS" in long.json()["warning"]


def test_send_history_attention_and_profile(api):
    headers = {"Idempotency-Key": "click-1"}
    first = api("POST", "/messages", json={"template_code": "task_completed",
                                           "deal_id": 30100001}, headers=headers)
    again = api("POST", "/messages", json={"template_code": "task_completed",
                                           "deal_id": 30100001}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    message = first.json()["message"]
    assert message["status"] == "needs_attention" and "телефон" in message["reason"]
    waiting = api("GET", "/attention", user=ADMIN).json()["messages"]
    assert [m["id"] for m in waiting] == [message["id"]]
    fixed = api("PUT", "/profile", json={"name": "Дмитрий", "phone": "8 999 123-45-67"})
    assert fixed.json()["requeued"] == [message["id"]]
    assert len(api.fake.sent) == 1 and "+7 999 123-45-67" in api.fake.sent[0][1].text
    history = api("GET", "/messages?deal_id=30100001").json()["messages"]
    assert [m["status"] for m in history] == ["sent"]
    assert api("PUT", "/profile", json={"name": "X", "phone": "1", "user_id": ADMIN}
               ).status_code == 422  # phone too short
    assert api("PUT", "/profile", json={"name": "X", "phone": "+79990001122",
                                        "user_id": ADMIN}).status_code == 403


def test_phone_confirmation_through_the_widget(api):
    with api.runtime.session() as s:
        s.scalar(select(User).where(User.amocrm_id == MANAGER)).profile_phone = "+79991234567"
    started = api("POST", "/verifications", json={"contact_id": 40100001})
    assert started.status_code == 201 and started.json()["message"]["text"] == ""
    code = re.search(r"\d{6}", api.fake.sent[0][1].text).group(0)
    assert api("POST", "/verifications", json={"contact_id": 40100001}).status_code == 429
    vid = started.json()["id"]
    wrong = api("POST", f"/verifications/{vid}/confirm", json={"code": "000000"
                                                               if code != "000000" else "1"})
    assert wrong.status_code == 422 and "4" in wrong.json()["detail"]
    ok = api("POST", f"/verifications/{vid}/confirm", json={"code": code})
    assert ok.status_code == 200 and ok.json()["verified"] is True
    with api.runtime.session() as s:
        assert code not in s.scalar(select(SmsMessage.text))


def test_consent_and_opt_out_are_recorded_and_honoured(api):
    with api.runtime.session() as s:
        s.scalar(select(User).where(User.amocrm_id == MANAGER)).profile_phone = "+79991234567"
    out = api("PUT", "/contacts/40100001/consent", json={"opted_out": True})
    assert out.json() == {"marketing_consent": False, "opted_out": True}
    sent = api("POST", "/messages", json={"template_code": "task_completed",
                                          "contact_id": 40100001}).json()["message"]
    assert sent["status"] == "rejected" and "отказался" in sent["reason"]
    back = api("PUT", "/contacts/40100001/consent", json={"opted_out": False,
                                                          "marketing_consent": True})
    assert back.json() == {"marketing_consent": True, "opted_out": False}
    again = api("POST", "/messages", json={"template_code": "reminder_foreign",
                                           "contact_id": 40100001}).json()["message"]
    assert again["status"] == "needs_attention"  # consent given; no policy data to fill in
    assert api("PUT", "/contacts/40100001/consent", json={"x": 1}).status_code == 422


def test_the_callback_door_checks_the_url_secret_and_smscs_signature(api):
    import hashlib
    from urllib.parse import urlencode

    from sms.callbacks import callback_path
    from sms.smsc import SmscGateway

    api.runtime.extras["sms.gateways"] = GatewaySet(api.fake, SmscGateway(login="l",
                                                                            password="pw"))
    url = api.url + callback_path(b"k" * 40, "smsc")
    fields = {"id": "77", "phone": "79161234567", "status": "1"}
    good = hashlib.sha1(b"77:79161234567:1:pw").hexdigest()  # noqa: S324 - the provider's
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    ok = requests.post(url, data=urlencode({**fields, "sha1": good}), headers=form, timeout=10)
    assert (ok.status_code, ok.text) == (200, "OK")  # no message of ours: answered, ignored
    forged = requests.post(url, data=urlencode({**fields, "sha1": "0" * 40}), headers=form,
                           timeout=10)
    assert forged.status_code == 403
    assert requests.post(url[:-4] + "abcd", data=urlencode(fields), headers=form,
                         timeout=10).status_code == 404
