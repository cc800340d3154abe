"""SMS.ru (https://sms.ru/api): send, status, delivery callbacks.

Docs: "Отправить СМС сообщение HTTP запросом" (sms.ru/api/send), "Проверить статус отправленных
сообщений" (sms.ru/api/status), "API callback" (sms.ru/api/callback) and the code list shared
by those pages. The protocol as we rely on it is quoted in
``tests/fixtures/sms/smsru.json``; every code below is tested against it.

SMS.ru cannot find a message without its ``sms_id`` and does not sign callbacks: a lost send
answer becomes a "needs attention" item, and callbacks are authenticated by the secret in
their URL plus matching an ``sms_id`` we were given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

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
    OutgoingSms,
    RetryableError,
    StatusReport,
)

BASE_URL = "https://sms.ru"

#: Send and request errors: code → (class, retry_after seconds for RetryableError).
SEND_ERRORS: dict[int, tuple[type[GatewayError], float]] = {
    200: (AccountError, 0), 201: (AccountError, 0), 204: (AccountError, 0),
    206: (AccountError, 0), 300: (AccountError, 0), 301: (AccountError, 0),
    302: (AccountError, 0),
    202: (NumberError, 0), 207: (NumberError, 0), 209: (NumberError, 0),
    214: (NumberError, 0), 215: (NumberError, 0),
    203: (MessageError, 0), 205: (MessageError, 0), 208: (MessageError, 0),
    210: (MessageError, 0), 211: (MessageError, 0), 212: (MessageError, 0),
    213: (MessageError, 0),
    # 500 is the provider's explicit "server error, repeat the request": it says it did not act.
    220: (RetryableError, 300), 500: (RetryableError, 300),
    230: (RetryableError, 6 * 3600), 231: (RetryableError, 90),
    232: (RetryableError, 6 * 3600), 233: (RetryableError, 900),
}

#: Delivery status codes (sms/status and callbacks).
DELIVERY: dict[int, Delivery] = {
    -1: Delivery.NOT_FOUND, 100: Delivery.PENDING, 101: Delivery.PENDING,
    102: Delivery.PENDING, 103: Delivery.DELIVERED, 110: Delivery.DELIVERED,
    104: Delivery.FAILED, 105: Delivery.FAILED, 106: Delivery.FAILED, 107: Delivery.FAILED,
    108: Delivery.FAILED, 130: Delivery.FAILED, 131: Delivery.FAILED, 132: Delivery.FAILED,
    150: Delivery.FAILED,
}
_NUMBER_INVALID = {150}


def _digits(phone: str) -> str:
    return phone.lstrip("+")


class SmsRuGateway:
    name = "smsru"
    can_lookup = False

    def __init__(self, *, api_id: str, sender: str | None = None, base_url: str = BASE_URL,
                 timeout: float = 10.0, session: requests.Session | None = None) -> None:
        if not api_id:
            raise ValueError("SMS.ru needs an api_id")
        self.api_id = api_id
        self.sender = sender
        self.base_url = http.require_https(base_url)
        self.timeout = timeout
        self.session = session or http.make_session()

    def _raise_for(self, code: int, text: str) -> None:
        kind, retry_after = SEND_ERRORS.get(code, (GatewayError, 0))
        if kind is RetryableError:
            raise RetryableError(text, code=str(code), retry_after=retry_after)
        if kind is GatewayError:  # a code the docs do not list: a person must look
            raise MessageError(f"undocumented code: {text}", code=str(code))
        raise kind(text, code=str(code))

    def send(self, sms: OutgoingSms) -> Accepted:
        data = {"api_id": self.api_id, "to": _digits(sms.phone), "msg": sms.text, "json": 1}
        if sms.sender or self.sender:
            data["from"] = sms.sender or self.sender
        response = http.call(self.session, "POST", f"{self.base_url}/sms/send", data=data,
                             timeout=self.timeout, is_send=True)
        http.server_trouble(response, is_send=True)
        body = http.json_body(response, is_send=True)
        if body.get("status") != "OK":
            self._raise_for(int(body.get("status_code", 0)), str(body.get("status_text", "")))
        item = (body.get("sms") or {}).get(_digits(sms.phone)) or {}
        if item.get("status") != "OK":
            self._raise_for(int(item.get("status_code", 0)), str(item.get("status_text", "")))
        return Accepted(provider_message_id=str(item["sms_id"]), raw=body)

    def statuses(self, provider_message_ids: Sequence[str], *,
                 phones: Mapping[str, str]) -> list[StatusReport]:
        reports: list[StatusReport] = []
        for start in range(0, len(provider_message_ids), 100):  # the docs' batch limit
            chunk = list(provider_message_ids[start:start + 100])
            response = http.call(self.session, "GET", f"{self.base_url}/sms/status",
                                 params={"api_id": self.api_id, "sms_id": ",".join(chunk),
                                         "json": 1}, timeout=self.timeout, is_send=False)
            http.server_trouble(response, is_send=False)
            body = http.json_body(response, is_send=False)
            if body.get("status") != "OK":
                self._raise_for(int(body.get("status_code", 0)),
                                str(body.get("status_text", "")))
            for sms_id, item in (body.get("sms") or {}).items():
                reports.append(self._report(str(sms_id), int(item.get("status_code", -1)),
                                            str(item.get("status_text", "")),
                                            cost=item.get("cost")))
        return reports

    def _report(self, sms_id: str, code: int, text: str, *, cost=None,
                at: datetime | None = None) -> StatusReport:
        return StatusReport(provider_message_id=sms_id,
                            state=DELIVERY.get(code, Delivery.PENDING), code=str(code),
                            description=text, at=at, cost_kopecks=http.kopecks(cost),
                            number_invalid=code in _NUMBER_INVALID)

    def lookup(self, query: Lookup) -> StatusReport:
        if query.provider_message_id:
            return self.statuses([query.provider_message_id],
                                 phones={query.provider_message_id: query.phone})[0]
        raise RetryableError("SMS.ru cannot find a message without its sms_id",
                             code="no-lookup")

    def parse_callback(self, request: CallbackRequest) -> list[StatusReport]:
        # POST data[0], data[1]…; each "sms_status\n<sms_id>\n<status code>\n<unix time>".
        reports = []
        for key, values in request.form.items():
            if not key.startswith("data["):
                continue
            for value in values:
                lines = value.replace("\r\n", "\n").split("\n")
                if lines[0] != "sms_status":
                    continue  # other callback kinds (incoming calls…) are not ours
                if len(lines) < 3 or not lines[2].lstrip("-").isdigit():
                    raise CallbackRejected(f"malformed sms_status entry {value!r}")
                at = (datetime.fromtimestamp(int(lines[3]), UTC)
                      if len(lines) > 3 and lines[3].isdigit() else None)
                reports.append(self._report(lines[1], int(lines[2]), "", at=at))
        return reports

    def callback_answer(self) -> CallbackAnswer:
        return CallbackAnswer("100")  # anything else and SMS.ru delivers the callback again
