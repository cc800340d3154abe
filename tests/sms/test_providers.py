"""Each provider adapter against a loopback server answering from its protocol fixture.

One test per documented code: the fixture (which quotes the provider's documentation) says
which class each code maps to; the adapter must raise exactly that, and send exactly what the
documentation asks for.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from sms import gateway as port
from sms.callbacks import build_request
from sms.gateway import Delivery, Lookup, OutgoingSms
from sms.http import require_https
from sms.smsaero import SmsAeroGateway
from sms.smsc import SmscGateway
from sms.smsru import SmsRuGateway
from tests.sms.provider_server import ProviderServer, Reply

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sms"
SMSRU = json.loads((FIXTURES / "smsru.json").read_text())
SMSC = json.loads((FIXTURES / "smsc.json").read_text())
AERO = json.loads((FIXTURES / "smsaero.json").read_text())
SMS = OutgoingSms(reference=4217, phone="+79991234567", text="Анна Петровна, ваш полис…")


@pytest.fixture(scope="module")
def _server():
    srv = ProviderServer()
    yield srv
    srv.stop()


@pytest.fixture
def server(_server: ProviderServer) -> ProviderServer:
    _server.replies.clear()
    _server.seen.clear()
    return _server


def smsru(server: ProviderServer) -> SmsRuGateway:
    return SmsRuGateway(api_id="KEY", sender="Broker", base_url=server.url, timeout=2)


def smsc(server: ProviderServer) -> SmscGateway:
    return SmscGateway(login="broker", password="s3cret", base_url=server.url, timeout=2)


def aero(server: ProviderServer) -> SmsAeroGateway:
    return SmsAeroGateway(email="a@b.ru", api_key="K" * 32, sender="Broker",
                          base_url=server.url + "/v2", timeout=2)


# --- SMS.ru ---------------------------------------------------------------------------------


def test_smsru_send_is_the_documented_request(server):
    server.answer("/sms/send", Reply(body={**SMSRU["send"]["accepted"],
                                           "sms": {"79991234567": {"status": "OK",
                                                                   "status_code": 100,
                                                                   "sms_id": "000000-1"}}}))
    accepted = smsru(server).send(SMS)
    seen = server.seen[0]
    assert (seen.method, seen.path) == ("POST", SMSRU["send"]["path"])
    assert seen.form == {"api_id": ["KEY"], "to": ["79991234567"], "msg": [SMS.text],
                         "json": ["1"], "from": ["Broker"]}
    assert accepted.provider_message_id == "000000-1"


@pytest.mark.parametrize("case", SMSRU["send_errors"], ids=lambda c: str(c["code"]))
def test_smsru_send_error_code(server, case):
    if case["where"] == "top":
        body = {"status": "ERROR", "status_code": case["code"], "status_text": case["text"]}
    else:
        body = {"status": "OK", "status_code": 100, "balance": 1.0, "sms": {"79991234567": {
            "status": "ERROR", "status_code": case["code"], "status_text": case["text"]}}}
    server.answer("/sms/send", Reply(body=body))
    with pytest.raises(getattr(port, case["class"])) as info:
        smsru(server).send(SMS)
    assert type(info.value) is getattr(port, case["class"])
    assert info.value.code == str(case["code"]) and case["text"] in info.value.detail
    assert len(server.seen) == 1  # never retried


@pytest.mark.parametrize("case", SMSRU["statuses"], ids=lambda c: str(c["code"]))
def test_smsru_status_code(server, case):
    server.answer("/sms/status", Reply(body={"status": "OK", "status_code": 100, "sms": {
        "000000-1": {"status": "OK", "status_code": case["code"], "cost": 0.5,
                     "status_text": case["text"]}}}))
    [report] = smsru(server).statuses(["000000-1"], phones={"000000-1": SMS.phone})
    assert report.state == Delivery(case["state"])
    assert report.number_invalid == case.get("number_invalid", False)
    assert server.seen[0].query["sms_id"] == ["000000-1"]


def test_smsru_callback_and_answer():
    callback = SMSRU["callback"]
    request = build_request(method="POST", query="", body=urlencode(callback["form"]).encode(),
                            content_type=callback["content_type"])
    reports = SmsRuGateway(api_id="KEY").parse_callback(request)
    assert [(r.provider_message_id, r.state.value) for r in reports] == \
        [(r["id"], r["state"]) for r in callback["reports"]]
    assert SmsRuGateway(api_id="KEY").callback_answer().body == callback["answer"]


def test_smsru_cannot_look_up_without_an_id(server):
    with pytest.raises(port.RetryableError):
        smsru(server).lookup(Lookup(reference=1, phone=SMS.phone, text=SMS.text))
    assert SmsRuGateway.can_lookup is SMSRU["lookup_without_id"]


# --- SMSC.ru --------------------------------------------------------------------------------


def test_smsc_send_carries_our_id(server):
    server.answer("/sys/send.php", Reply(body=SMSC["send"]["accepted"]))
    accepted = smsc(server).send(SMS)
    form = server.seen[0].form
    assert server.seen[0].path == SMSC["send"]["path"]
    assert {k: form[k][0] for k in ("login", "psw", "phones", "mes", "fmt", "id", "cost")} == {
        "login": "broker", "psw": "s3cret", "phones": "79991234567", "mes": SMS.text,
        "fmt": "3", "id": "4217", "cost": "3"}
    assert (accepted.provider_message_id, accepted.segments, accepted.cost_kopecks) == \
        ("4217", 2, 700)


@pytest.mark.parametrize("case", SMSC["send_errors"], ids=lambda c: str(c["code"]))
def test_smsc_send_error_code(server, case):
    body = {"error": case["text"], "error_code": case["code"]}
    if case.get("with_id"):
        body["id"] = 4217
    server.answer("/sys/send.php", Reply(body=body))
    with pytest.raises(getattr(port, case["class"])) as info:
        smsc(server).send(SMS)
    assert type(info.value) is getattr(port, case["class"])
    assert len(server.seen) == 1


@pytest.mark.parametrize("case", SMSC["statuses"], ids=lambda c: str(c["code"]))
def test_smsc_status_code(server, case):
    server.answer("/sys/status.php", Reply(body={"status": case["code"], "err": 0,
                                                 "last_timestamp": 1735404942}))
    report = smsc(server).lookup(Lookup(reference=4217, phone=SMS.phone, text=SMS.text))
    assert report.state == Delivery(case["state"])
    assert report.number_invalid == case.get("number_invalid", False)
    assert server.seen[0].query["id"] == ["4217"]  # found by our own id


@pytest.mark.parametrize("case", SMSC["status_errors"], ids=lambda c: str(c["code"]))
def test_smsc_status_error_code(server, case):
    server.answer("/sys/status.php", Reply(body={"error": case["text"],
                                                 "error_code": case["code"]}))
    with pytest.raises(getattr(port, case["class"])):
        smsc(server).statuses(["4217"], phones={"4217": SMS.phone})


def _smsc_signed(fields: dict[str, str], password: str = "s3cret") -> dict[str, str]:
    payload = f"{fields['id']}:{fields['phone']}:{fields['status']}:{password}"
    return {**fields, "sha1": hashlib.sha1(payload.encode()).hexdigest()}  # noqa: S324


def test_smsc_callback_signed_and_answered():
    callback = SMSC["callback"]
    body = urlencode(_smsc_signed(callback["form"])).encode()
    gateway = SmscGateway(login="broker", password="s3cret")
    reports = gateway.parse_callback(build_request(method="POST", query="", body=body,
                                                   content_type=callback["content_type"]))
    assert [(r.provider_message_id, r.state.value) for r in reports] == \
        [(r["id"], r["state"]) for r in callback["reports"]]
    assert gateway.callback_answer().body == callback["answer"]


def test_smsc_callback_with_a_forged_signature_is_refused():
    body = urlencode(_smsc_signed(SMSC["callback"]["form"], password="guess")).encode()
    with pytest.raises(port.CallbackRejected):
        SmscGateway(login="broker", password="s3cret").parse_callback(
            build_request(method="POST", query="", body=body,
                          content_type="application/x-www-form-urlencoded"))


# --- SMS Aero -------------------------------------------------------------------------------


def test_smsaero_send_uses_basic_auth_and_json(server):
    server.answer("/v2/sms/send", Reply(body=AERO["send"]["accepted"]))
    accepted = aero(server).send(OutgoingSms(4217, SMS.phone, SMS.text,
                                             callback_url="https://bridge/cb"))
    seen = server.seen[0]
    assert seen.headers["authorization"].startswith("Basic ")
    assert seen.json == {"number": "79991234567", "text": SMS.text, "sign": "Broker",
                         "callbackUrl": "https://bridge/cb"}
    assert (accepted.provider_message_id, accepted.cost_kopecks) == ("12345", 549)


@pytest.mark.parametrize("case", AERO["send_errors"], ids=lambda c: c["case"])
def test_smsaero_send_error(server, case):
    content_type = "text/html" if isinstance(case["body"], str) else "application/json"
    server.answer("/v2/sms/send", Reply(case["http"], case["body"], content_type))
    with pytest.raises(getattr(port, case["class"])) as info:
        aero(server).send(SMS)
    assert type(info.value) is getattr(port, case["class"])
    assert len(server.seen) == 1  # one gate, one request: no mirror retry


@pytest.mark.parametrize("case", AERO["statuses"], ids=lambda c: str(c["code"]))
def test_smsaero_status_code(server, case):
    server.answer("/v2/sms/status", Reply(body={"success": True, "data": {
        "id": 12345, "status": case["code"], "extendStatus": case["text"], "cost": "5.49"}}))
    [report] = aero(server).statuses(["12345"], phones={})
    assert report.state == Delivery(case["state"]) and report.cost_kopecks == 549


def test_smsaero_lost_answer_is_found_by_number_and_text(server):
    shape = AERO["list"]["response_shape"]
    server.answer("/v2/sms/list", Reply(body={**shape, "data": {
        "0": {**shape["data"]["0"], "text": SMS.text, "dateCreate": 1_700_000_000}}}))
    report = aero(server).lookup(Lookup(reference=1, phone=SMS.phone, text=SMS.text))
    assert (report.provider_message_id, report.state) == ("12345", Delivery.DELIVERED)
    assert server.seen[0].json == {"number": "79991234567", "text": SMS.text}


def test_smsaero_callback_json():
    callback = AERO["callback"]
    gateway = SmsAeroGateway(email="a@b.ru", api_key="k")
    reports = gateway.parse_callback(build_request(
        method="POST", query="", body=json.dumps(callback["json"]).encode(),
        content_type=callback["content_type"]))
    assert [(r.provider_message_id, r.state.value) for r in reports] == \
        [(r["id"], r["state"]) for r in callback["reports"]]
    assert json.loads(gateway.callback_answer().body) == json.loads(callback["answer"])


# --- transport: what can and cannot have reached the provider -------------------------------


def test_read_timeout_after_sending_is_an_unknown_outcome(server):
    server.answer("/sms/send", Reply(body=SMSRU["send"]["accepted"], delay=1.5))
    gateway = SmsRuGateway(api_id="KEY", base_url=server.url, timeout=0.5)
    with pytest.raises(port.OutcomeUnknown):
        gateway.send(SMS)
    assert len(server.seen) == 1


def test_dropped_connection_after_sending_is_an_unknown_outcome(server):
    server.answer("/sys/send.php", Reply(drop=True))
    with pytest.raises(port.OutcomeUnknown):
        smsc(server).send(SMS)
    assert len(server.seen) == 1  # urllib3 did not retry it either


def test_refused_connection_is_retryable_nothing_was_sent():
    gateway = SmsRuGateway(api_id="KEY", base_url="http://127.0.0.1:9", timeout=0.5)
    with pytest.raises(port.RetryableError):
        gateway.send(SMS)


def test_providers_are_https_only_except_loopback():
    assert require_https("https://sms.ru/") == "https://sms.ru"
    assert require_https("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    with pytest.raises(ValueError, match="https"):
        SmsRuGateway(api_id="KEY", base_url="http://sms.ru")
