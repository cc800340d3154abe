"""amoCRM's disposable token and CORS, over real HTTP: what a browser in amoCRM meets."""

from __future__ import annotations

import pytest

from tests.widget.conftest import ADMIN, CLIENT_SECRET, MANAGER, token

GUARDED = "/deals/30100001/policies"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()


@pytest.mark.parametrize("bad, why", [
    (lambda: token(ADMIN, lifetime=-300), "expired"),
    (lambda: token(ADMIN, secret="not-the-integration-secret-at-all-0123456789"), "bad signature"),
    (lambda: token(ADMIN, audience="https://someone-else.example"), "wrong audience"),
    (lambda: token(ADMIN, account_id=99999), "not connected"),
    (lambda: token(ADMIN, not_before=600), "not valid yet"),
    (lambda: "not.a.jwt", "garbage"),
])
def test_bad_tokens_are_401(api, bad, why):
    body = _problem(api("GET", GUARDED, user=None, headers={"X-Auth-Token": bad()}), 401)
    assert body["status"] == 401 and body["detail"], why


def test_missing_token_is_401_in_russian_by_default(api):
    body = _problem(api("GET", GUARDED, user=None), 401)
    assert body["type"].endswith("auth.missing")
    assert "токен" in body["detail"].lower()


def test_valid_token_without_the_role_is_403(api):
    for path in ("/settings/field-mapping", "/inbox", "/exports", "/roles"):
        body = _problem(api("GET", path, user=MANAGER), 403)
        assert "администратор" in body["detail"]
    assert api("GET", "/settings/field-mapping", user=ADMIN).status_code == 200


def test_token_claim_is_admin_is_not_trusted(api, stack):
    import time

    import jwt

    now = int(time.time())
    forged_role = jwt.encode({"aud": "http://127.0.0.1:5000", "iat": now, "nbf": now,
                              "exp": now + 60, "account_id": 31456789, "user_id": MANAGER,
                              "is_admin": True}, CLIENT_SECRET, algorithm="HS256")
    _problem(api("GET", "/inbox", user=None, headers={"X-Auth-Token": forged_role}), 403)


def test_cors_only_from_the_accounts_own_domain(api):
    own = "https://demo-broker.amocrm.ru"
    preflight = api("OPTIONS", GUARDED, user=None, headers={
        "Origin": own, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-auth-token, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == own
    assert "X-Auth-Token" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Origin" in preflight.headers["Vary"]
    kommo = api("GET", GUARDED, headers={"Origin": "https://demo-broker.kommo.com"})
    assert kommo.headers["Access-Control-Allow-Origin"] == "https://demo-broker.kommo.com"
    for foreign in ("https://other-broker.amocrm.ru", "https://evil.example",
                    "https://demo-broker.amocrm.ru.evil.example"):
        answer = api("GET", GUARDED, headers={"Origin": foreign})
        assert answer.status_code == 200  # the server answers; the browser will not show it
        assert "Access-Control-Allow-Origin" not in answer.headers, foreign


def test_cors_for_the_development_harness_on_loopback(api):
    answer = api("GET", GUARDED, headers={"Origin": "http://127.0.0.1:5173"})
    assert answer.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:5173"


def test_harness_mints_tokens_for_loopback_callers(stack):
    import requests

    answer = requests.post(f"{stack.bridge.url}/widget/harness/token",
                           json={"user_id": ADMIN}, timeout=10)
    assert answer.status_code == 200
    signed = answer.json()["token"]
    me = requests.get(f"{stack.bridge.url}/widget/api/context",
                      headers={"X-Auth-Token": signed}, timeout=10).json()
    assert me["user"]["id"] == ADMIN and me["user"]["admin"] is True


def test_harness_is_absent_in_production(tmp_path, stack):
    from amo_bridge.app import create_app
    from amo_bridge.settings import load_settings
    from jobs.runtime import set_runtime

    settings = load_settings({"AMO_BRIDGE_ENV": "production", "SECRET_KEY": "p" * 40,
                              "INSTANCE_PATH": str(tmp_path), "JOB_MODE": "inline",
                              "AMOCRM_CLIENT_SECRET": CLIENT_SECRET})
    try:
        client = create_app(settings, start_background=False).test_client()
        assert client.get("/widget/harness").status_code == 404
        assert client.post("/widget/harness/token", json={"user_id": ADMIN}).status_code == 404
        assert client.get("/widget/harness/widget/script.js").status_code == 404
    finally:
        set_runtime(stack.runtime)  # the app factory installs its runtime process-wide
