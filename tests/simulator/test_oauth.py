"""OAuth: code exchange, 20-minute codes, single-use refresh tokens, expiry, revocation."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, urlparse

import requests

from .conftest import MANAGER_ID, SUB, Api

CLIENT_ID = "3f1c9a2e-5b7d-4e8f-9a10-2b3c4d5e6f70"
SECRET = "demo-broker-client-secret-change-me"
REDIRECT = "http://127.0.0.1:5000/oauth/amocrm/callback"


def _token(base, **fields):
    body = {"client_id": CLIENT_ID, "client_secret": SECRET, "redirect_uri": REDIRECT, **fields}
    return requests.post(f"{base}/oauth2/access_token", json=body, timeout=5)


def _pair(sim, base, user_id=None):
    code = sim.issue_code(SUB, CLIENT_ID, user_id)
    r = _token(base, grant_type="authorization_code", code=code)
    assert r.status_code == 200, r.text
    return r.json()


def test_code_exchange_gives_a_working_pair(sim, server):
    base = server.account_url(SUB)
    pair = _pair(sim, base, MANAGER_ID)
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 86400
    account = Api(base, pair["access_token"]).get("/api/v4/account").json()
    assert account["current_user_id"] == MANAGER_ID
    # The token's user is not an admin: users are forbidden.
    assert Api(base, pair["access_token"]).get("/api/v4/users").status_code == 403


def test_code_is_single_use_and_lives_20_minutes(sim, server, clock):
    base = server.account_url(SUB)
    code = sim.issue_code(SUB, CLIENT_ID)
    assert _token(base, grant_type="authorization_code", code=code).status_code == 200
    assert _token(base, grant_type="authorization_code", code=code).status_code == 400
    code = sim.issue_code(SUB, CLIENT_ID)
    clock.advance(minutes=20, seconds=1)
    r = _token(base, grant_type="authorization_code", code=code)
    assert r.status_code == 400 and r.json()["hint"] == "Token has expired"


def test_redirect_uri_and_secret_must_match(sim, server):
    base = server.account_url(SUB)
    code = sim.issue_code(SUB, CLIENT_ID)
    assert (
        _token(
            base, grant_type="authorization_code", code=code, redirect_uri=REDIRECT + "/"
        ).status_code
        == 400
    )
    assert (
        _token(base, grant_type="authorization_code", code=code, client_secret="wrong").status_code
        == 401
    )


def test_refresh_is_single_use(sim, server):
    base = server.account_url(SUB)
    pair = _pair(sim, base)
    r = _token(base, grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert r.status_code == 200
    new = r.json()
    assert new["refresh_token"] != pair["refresh_token"]
    again = _token(base, grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert again.status_code == 401
    assert again.json()["hint"] == "Token has been revoked"
    assert sim.stats(SUB)["token_refreshes"] == 1
    assert sim.stats(SUB)["token_refresh_attempts"] == 2


def test_access_expires_after_24h_refresh_after_3_months(sim, server, clock):
    base = server.account_url(SUB)
    pair = _pair(sim, base)
    clock.advance(hours=23, minutes=59)
    assert Api(base, pair["access_token"]).get("/api/v4/account").status_code == 200
    clock.advance(minutes=2)
    assert Api(base, pair["access_token"]).get("/api/v4/account").status_code == 401
    clock.advance(days=91)
    r = _token(base, grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert r.status_code == 401


def test_long_lived_token_via_control(control, server):
    r = control.post(f"/accounts/{SUB}/oauth/token", {"user_id": MANAGER_ID, "days": 2})
    token = r.json()["access_token"]
    assert Api(server.account_url(SUB), token).get("/api/v4/account").status_code == 200


def test_authorize_redirects_with_code(control, sim, server):
    r = control.get(
        "/oauth/authorize",
        params={"subdomain": SUB, "client_id": CLIENT_ID, "state": "s1"},
        allow_redirects=False,
    )
    assert r.status_code == 302
    location = urlparse(r.headers["Location"])
    assert location.geturl().startswith(REDIRECT)
    query = parse_qs(location.query)
    assert query["state"] == ["s1"]
    r = _token(server.account_url(SUB), grant_type="authorization_code", code=query["code"][0])
    assert r.status_code == 200


def test_disable_revokes_tokens_and_calls_signed_hook(sim, server, receiver):
    sim.add_integration(
        SUB, "c-uuid", "s3cret", "http://127.0.0.1/cb", disable_hook_url=receiver.url
    )
    base = server.account_url(SUB)
    code = sim.issue_code(SUB, "c-uuid")
    pair = requests.post(
        f"{base}/oauth2/access_token",
        json={
            "client_id": "c-uuid",
            "client_secret": "s3cret",
            "redirect_uri": "http://127.0.0.1/cb",
            "grant_type": "authorization_code",
            "code": code,
        },
        timeout=5,
    ).json()
    result = (
        Api(f"{server.url}/_sim", None)
        .post(f"/accounts/{SUB}/oauth/revoke", {"client_id": "c-uuid"})
        .json()
    )
    assert result["revoked"] >= 2 and result["hooks"][0]["status"] == 200
    assert Api(base, pair["access_token"]).get("/api/v4/account").status_code == 401
    # Other integrations' tokens (the seeded demo tokens) still work.
    assert Api(base).get("/api/v4/account").status_code == 200
    (call,) = receiver.requests
    assert call["method"] == "GET"
    args = call["args"]
    expected = hmac.new(
        b"s3cret", f"c-uuid|{args['account_id']}".encode(), hashlib.sha256
    ).hexdigest()
    assert args["client_uuid"] == "c-uuid" and args["account_id"] == "31456789"
    assert args["signature"] == expected
