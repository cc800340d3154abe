"""SMS Aero, API v2 (https://smsaero.ru/integration/documentation/api/): send, status, list.

Docs sections: "Авторизация" (HTTP Basic, e-mail + API key), "Отправка сообщения" (sms/send,
``callbackUrl``), "Проверка статуса сообщения" (sms/status) with the status table, "Список
сообщений" (sms/list, filter by number and text) and the common answer shape
``{success, data, message}``. Quoted in ``tests/fixtures/sms/smsaero.json``.

The official clients retry a failed request on the next mirror gate (gate.smsaero.org, .net):
for a send that is a second SMS whenever the first answer was merely lost, so this adapter
talks to one gate and never repeats a send. A lost answer is resolved through ``sms/list``
filtered by number and text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import requests

from sms import http
from sms.gateway import (
    Accepted,
    AccountError,
    CallbackAnswer,
    CallbackRejected,
    CallbackRequest,
    Delivery,
    GatewayError,
    Lookup,
    MessageError,
    NumberError,
    OutcomeUnknown,
    OutgoingSms,
    RetryableError,
    StatusReport,
)

BASE_URL = "https://gate.smsaero.ru/v2"

DELIVERY: dict[int, Delivery] = {
    0: Delivery.PENDING,  # в очереди
    1: Delivery.DELIVERED,  # доставлено
    2: Delivery.FAILED,  # не доставлено
    3: Delivery.PENDING,  # передано
    4: Delivery.PENDING,  # ожидание статуса сообщения
    6: Delivery.FAILED,  # сообщение отклонено
    8: Delivery.PENDING,  # на модерации
}
#: Words of ``message`` that mean the account cannot send (no money, sign not approved).
_ACCOUNT_WORDS = ("no credits", "insufficient", "not enough", "balance", "недостаточно",
                  "sign", "подпись", "blocked", "заблокирован", "unauthorized")


def classify(http_status: int, body: Mapping) -> GatewayError:
    """The error an unsuccessful answer stands for (see the fixture for every case)."""
    message = str(body.get("message") or body.get("result") or body.get("reason") or "")
    lowered = message.lower()
    data = body.get("data") if isinstance(body.get("data"), Mapping) else {}
    code = str(http_status)
    if http_status in (401, 402, 403) or "sign" in data or any(
            word in lowered for word in _ACCOUNT_WORDS):
        return AccountError(message or f"HTTP {http_status}", code=code,
                            http_status=http_status)
    if "number" in data or "numbers" in data or "number" in lowered or "номер" in lowered:
        return NumberError(message or "invalid number", code=code, http_status=http_status)
    return MessageError(message or f"HTTP {http_status}", code=code, http_status=http_status)


class SmsAeroGateway:
    name = "smsaero"
    can_lookup = True

    def __init__(self, *, email: str, api_key: str, sender: str = "SMS Aero",
                 base_url: str = BASE_URL, timeout: float = 10.0,
                 session: requests.Session | None = None) -> None:
        if not (email and api_key):
            raise ValueError("SMS Aero needs an e-mail and an API key")
        self.auth = (email, api_key)
        self.sender = sender
        self.base_url = http.require_https(base_url)
        self.timeout = timeout
        self.session = session or http.make_session()

    def _post(self, path: str, payload: Mapping, *, is_send: bool) -> Mapping:
        response = http.call(self.session, "POST", f"{self.base_url}/{path}", json=dict(payload),
                             auth=self.auth, timeout=self.timeout, is_send=is_send)
        http.server_trouble(response, is_send=is_send)
        body = http.json_body(response, is_send=is_send)
        if not isinstance(body, Mapping):
            raise (OutcomeUnknown if is_send else RetryableError)(f"unexpected answer {body!r}")
        if body.get("success") is True and response.status_code < 400:
            return body.get("data") or {}
        if response.status_code == 404 or "not found" in str(body.get("message", "")).lower():
            return {"__not_found__": True}
        raise classify(response.status_code, body)

    def send(self, sms: OutgoingSms) -> Accepted:
        payload = {"number": sms.phone.lstrip("+"), "text": sms.text,
                   "sign": sms.sender or self.sender}
        if sms.callback_url:
            payload["callbackUrl"] = sms.callback_url
        data = self._post("sms/send", payload, is_send=True)
        if data.get("__not_found__") or data.get("id") is None:
            raise OutcomeUnknown(f"no message id in the answer: {data!r}")
        return Accepted(provider_message_id=str(data["id"]),
                        cost_kopecks=http.kopecks(data.get("cost")), raw=data)

    def _report(self, data: Mapping) -> StatusReport:
        code = int(data.get("status", 0))
        at = data.get("dateAnswer") or data.get("dateSend")
        return StatusReport(provider_message_id=str(data.get("id")),
                            state=DELIVERY.get(code, Delivery.PENDING), code=str(code),
                            description=str(data.get("extendStatus") or ""),
                            at=datetime.fromtimestamp(int(at), UTC) if at else None,
                            cost_kopecks=http.kopecks(data.get("cost")))

    def statuses(self, provider_message_ids: Sequence[str], *,
                 phones: Mapping[str, str]) -> list[StatusReport]:
        reports = []
        for message_id in provider_message_ids:
            data = self._post("sms/status", {"id": int(message_id)}, is_send=False)
            reports.append(StatusReport(message_id, Delivery.NOT_FOUND)
                           if data.get("__not_found__") else self._report(data))
        return reports

    def lookup(self, query: Lookup) -> StatusReport:
        if query.provider_message_id:
            return self.statuses([query.provider_message_id], phones={})[0]
        data = self._post("sms/list", {"number": query.phone.lstrip("+"), "text": query.text},
                          is_send=False)
        since = (query.sent_after - timedelta(minutes=5)).timestamp() if query.sent_after else 0
        for key, item in data.items():
            if not str(key).isdigit() or not isinstance(item, Mapping):
                continue  # "links", "totalCount"
            if item.get("text") == query.text and int(item.get("dateCreate") or 0) >= since:
                return self._report(item)
        return StatusReport(provider_message_id="", state=Delivery.NOT_FOUND)

    def parse_callback(self, request: CallbackRequest) -> list[StatusReport]:
        if "json" in request.content_type:
            try:
                data = json.loads(request.body or b"{}")
            except ValueError:
                raise CallbackRejected("callback body is not JSON") from None
            items = data if isinstance(data, list) else [data.get("data", data)]
        else:
            items = [{k: v[0] for k, v in request.form.items() if v}]
        reports = []
        for item in items:
            if not isinstance(item, Mapping) or "id" not in item or "status" not in item:
                raise CallbackRejected(f"malformed callback item {item!r}")
            reports.append(self._report(item))
        return reports

    def callback_answer(self) -> CallbackAnswer:
        return CallbackAnswer('{"success": true}', content_type="application/json")
