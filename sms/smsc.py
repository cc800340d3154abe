"""SMSC.ru (https://smsc.ru/api/http/): send, status, delivery callbacks.

Docs: "Отправка SMS-сообщения" (/api/http/send/sms/) with "Ответ сервера и коды ошибок"
(/api/http/send/sms/sms_answer/), "Статусы сообщений" (/api/http/status_messages/) with its
"Коды статусов" and "Коды ошибок", and "Передача статусов на обработчик Клиента"
(/api/http/miscellaneous/callback/). Quoted in ``tests/fixtures/sms/smsc.json``.

SMSC lets the sender choose the message ``id``: we send the outbox row id, so a message whose
answer was lost is found again by ``status.php?id=…&phone=…``. Its error 9 ("an identical send
request within a minute") means an earlier identical request *was* taken: that is an unknown
outcome to resolve, never a reason to send again.
"""

from __future__ import annotations

import hashlib
import hmac
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
    OutcomeUnknown,
    OutgoingSms,
    RetryableError,
    StatusReport,
)

BASE_URL = "https://smsc.ru"

SEND_ERRORS: dict[int, tuple[type[GatewayError], float]] = {
    1: (MessageError, 0),  # error in parameters
    2: (AccountError, 0),  # wrong login or password
    3: (AccountError, 0),  # not enough money
    4: (RetryableError, 600),  # IP temporarily blocked after frequent errors
    5: (MessageError, 0),  # wrong date format
    6: (MessageError, 0),  # message forbidden (by text or sender name)
    7: (NumberError, 0),  # wrong phone number format
    8: (NumberError, 0),  # the message cannot be delivered to this number
    9: (OutcomeUnknown, 0),  # identical request within a minute: the first one was taken
}
STATUS_ERRORS: dict[int, tuple[type[GatewayError], float]] = {
    1: (MessageError, 0), 2: (AccountError, 0), 4: (RetryableError, 600),
    5: (MessageError, 0), 9: (RetryableError, 60),
}
DELIVERY: dict[int, Delivery] = {
    -3: Delivery.NOT_FOUND, -1: Delivery.PENDING, 0: Delivery.PENDING,
    1: Delivery.DELIVERED, 2: Delivery.DELIVERED, 4: Delivery.DELIVERED,
    3: Delivery.FAILED, 20: Delivery.FAILED, 22: Delivery.FAILED, 23: Delivery.FAILED,
    24: Delivery.FAILED, 25: Delivery.FAILED,
}
_NUMBER_INVALID = {22, 25}


def _digits(phone: str) -> str:
    return phone.lstrip("+")


def _raise_for(table: Mapping[int, tuple[type[GatewayError], float]], code: int,
               text: str) -> None:
    kind, retry_after = table.get(code, (MessageError, 0))
    if kind is RetryableError:
        raise RetryableError(text, code=str(code), retry_after=retry_after)
    raise kind(text, code=str(code))


class SmscGateway:
    name = "smsc"
    can_lookup = True

    def __init__(self, *, login: str, password: str, sender: str | None = None,
                 base_url: str = BASE_URL, timeout: float = 10.0,
                 session: requests.Session | None = None) -> None:
        if not (login and password):
            raise ValueError("SMSC.ru needs a login and a password")
        self.login, self.password, self.sender = login, password, sender
        self.base_url = http.require_https(base_url)
        self.timeout = timeout
        self.session = session or http.make_session()

    def _auth(self) -> dict[str, str]:
        return {"login": self.login, "psw": self.password, "fmt": "3", "charset": "utf-8"}

    def send(self, sms: OutgoingSms) -> Accepted:
        data = {**self._auth(), "phones": _digits(sms.phone), "mes": sms.text,
                "id": str(sms.reference), "cost": "3"}
        if sms.sender or self.sender:
            data["sender"] = sms.sender or self.sender or ""
        response = http.call(self.session, "POST", f"{self.base_url}/sys/send.php", data=data,
                             timeout=self.timeout, is_send=True)
        http.server_trouble(response, is_send=True)
        body = http.json_body(response, is_send=True)
        if "error_code" in body:
            _raise_for(SEND_ERRORS, int(body["error_code"]), str(body.get("error", "")))
        if body.get("id") is None:
            raise OutcomeUnknown(f"no id in the answer: {body!r}")
        return Accepted(provider_message_id=str(body["id"]), segments=body.get("cnt"),
                        cost_kopecks=http.kopecks(body.get("cost")), raw=body)

    def _status(self, message_id: str, phone: str) -> StatusReport:
        params = {**self._auth(), "phone": _digits(phone), "id": message_id}
        response = http.call(self.session, "GET", f"{self.base_url}/sys/status.php",
                             params=params, timeout=self.timeout, is_send=False)
        http.server_trouble(response, is_send=False)
        body = http.json_body(response, is_send=False)
        if "error_code" in body:
            _raise_for(STATUS_ERRORS, int(body["error_code"]), str(body.get("error", "")))
        at = body.get("last_timestamp")
        return self._report(message_id, int(body.get("status", -3)), str(body.get("err", "")),
                            at=datetime.fromtimestamp(int(at), UTC) if at else None)

    def _report(self, message_id: str, code: int, err: str, *,
                at: datetime | None = None) -> StatusReport:
        return StatusReport(provider_message_id=message_id,
                            state=DELIVERY.get(code, Delivery.PENDING), code=str(code),
                            description=f"err={err}" if err not in ("", "0") else "", at=at,
                            number_invalid=code in _NUMBER_INVALID)

    def statuses(self, provider_message_ids: Sequence[str], *,
                 phones: Mapping[str, str]) -> list[StatusReport]:
        return [self._status(i, phones[i]) for i in provider_message_ids]

    def lookup(self, query: Lookup) -> StatusReport:
        return self._status(query.provider_message_id or str(query.reference), query.phone)

    def _expected_signature(self, algorithm: str, fields: Mapping[str, str]) -> str:
        payload = f"{fields.get('id', '')}:{fields.get('phone', '')}:{fields.get('status', '')}"
        return hashlib.new(algorithm, f"{payload}:{self.password}".encode()).hexdigest()

    def parse_callback(self, request: CallbackRequest) -> list[StatusReport]:
        fields = {k: v[0] for k, v in request.form.items() if v}
        for algorithm in ("sha1", "md5"):
            if algorithm in fields:
                expected = self._expected_signature(algorithm, fields)
                if not hmac.compare_digest(expected, fields[algorithm].lower()):
                    raise CallbackRejected(f"{algorithm} signature does not match")
        if "id" not in fields or not fields.get("status", "").lstrip("-").isdigit():
            if fields.get("mes") is not None:
                return []  # an incoming SMS, not a delivery status
            raise CallbackRejected(f"malformed status callback: {sorted(fields)}")
        at = fields.get("time") or fields.get("ts")
        return [self._report(fields["id"], int(fields["status"]), fields.get("err", ""),
                             at=datetime.fromtimestamp(int(at), UTC) if at and at.isdigit()
                             else None)]

    def callback_answer(self) -> CallbackAnswer:
        return CallbackAnswer("OK")
