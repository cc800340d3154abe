"""Driving the simulator's control plane (``/_sim``) over HTTP, as any outside process would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import requests

CLIENT_ID = "7a1d2c3b-0000-4000-8000-00000000c0de"
CLIENT_SECRET = "contract-secret"
REDIRECT_URI = "https://bridge.example/oauth/amocrm/callback"
ADMIN_ID = 9100001
MANAGER_ID = 9100002
PIPELINE_ID = 7900001
FIRST_STATUS = 79000011
DATE_FIELD_ID = 1190001


def account_seed(subdomain: str, account_id: int, *, timezone: str = "Europe/Moscow") -> dict:
    return {
        "id": account_id,
        "subdomain": subdomain,
        "name": "Contract test broker",
        "timezone": timezone,
        "users": [
            {"id": ADMIN_ID, "name": "Админ", "is_admin": True},
            {"id": MANAGER_ID, "name": "Менеджер"},
        ],
        "integrations": [
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
             "redirect_uri": REDIRECT_URI},
        ],
        "pipelines": [
            {"id": PIPELINE_ID, "name": "Продажи", "is_main": True,
             "statuses": [{"id": FIRST_STATUS, "name": "Новый"},
                          {"id": FIRST_STATUS + 1, "name": "Расчёт"}]},
        ],
        "lead_fields": [
            {"id": DATE_FIELD_ID, "name": "Дата окончания полиса", "type": "date"},
            {"id": DATE_FIELD_ID + 1, "name": "Вид страхования", "type": "select",
             "enums": [{"id": 1199001, "value": "ОСАГО"}, {"id": 1199002, "value": "КАСКО"}]},
        ],
        # Every real account has the PHONE and EMAIL multitext fields.
        "contact_fields": [
            {"id": 1190101, "name": "Телефон", "type": "multitext", "code": "PHONE",
             "enums": [{"id": 1199101, "value": "WORK"}, {"id": 1199102, "value": "MOB"}]},
            {"id": 1190102, "name": "Email", "type": "multitext", "code": "EMAIL",
             "enums": [{"id": 1199201, "value": "WORK"}, {"id": 1199202, "value": "PRIV"}]},
        ],
    }


@dataclass
class SimControl:
    url: str
    subdomain: str
    account_id: int

    @classmethod
    def add_account(cls, url: str, *, timezone: str = "Europe/Moscow") -> SimControl:
        subdomain = f"contract-{uuid.uuid4().hex[:8]}"
        account_id = 30_000_000 + uuid.uuid4().int % 1_000_000
        answer = requests.post(f"{url}/_sim/accounts", timeout=10,
                               json={"accounts": [account_seed(subdomain, account_id,
                                                               timezone=timezone)]})
        answer.raise_for_status()
        return cls(url=url, subdomain=subdomain, account_id=account_id)

    @property
    def base_url(self) -> str:
        return f"{self.url}/s/{self.subdomain}"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(method, f"{self.url}/_sim/accounts/{self.subdomain}{path}",
                                  json=body, timeout=10)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def reset_stats(self) -> None:
        self._call("POST", "/stats/reset")

    def set_limits(self, **limits: Any) -> dict[str, Any]:
        return self._call("POST", "/limits", limits)

    def reset_limits(self) -> None:
        self._call("POST", "/limits/reset")

    def add_fault(self, **rule: Any) -> None:
        self._call("POST", "/faults", rule)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def issue_code(self, *, user_id: int = ADMIN_ID) -> str:
        body = {"client_id": CLIENT_ID, "user_id": user_id}
        return self._call("POST", "/oauth/code", body)["code"]

    def long_lived_token(self, *, days: int = 365) -> str:
        return self._call("POST", "/oauth/token", {"days": days})["access_token"]

    def revoke(self, *, every_token: bool = False) -> dict[str, Any]:
        """"Integration disabled": our integration's tokens (or every token of the account)."""
        body: dict[str, Any] = {"call_hook": False}
        if not every_token:
            body["client_id"] = CLIENT_ID
        return self._call("POST", "/oauth/revoke", body)

    def create(self, kind: str, items: list[dict[str, Any]]) -> list[int]:
        return self._call("POST", f"/{kind}", items)["ids"]

    def advance_clock(self, **delta: float) -> dict[str, Any]:
        answer = requests.post(f"{self.url}/_sim/clock", json={"advance": delta}, timeout=10)
        answer.raise_for_status()
        return answer.json()
