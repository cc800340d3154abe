"""The money API over real HTTP on loopback, with real amoCRM-style JWTs (HS256)."""

from __future__ import annotations

import io
import socket
import time
from datetime import UTC, datetime, timedelta

import jwt
import openpyxl
import pytest
import requests

from amo_bridge.app import create_app
from amo_bridge.clock import FrozenClock
from amo_bridge.demo import serve_in_thread
from amo_bridge.settings import load_settings
from jobs.runtime import set_runtime
from tests.reports.dataset import ACCOUNT_AMOCRM_ID, rows

SECRET = "test-client-secret-0123456789abcdef"
AUDIENCE = "https://bridge.example.com"
ANNA, BORIS, VERA, ADMIN, FINANCE = 101, 102, 103, 900, 901


def token(
    user_id: int,
    *,
    account_id: int = ACCOUNT_AMOCRM_ID,
    secret: str = SECRET,
    audience: str = AUDIENCE,
    lifetime: int = 1800,
) -> str:
    now = int(time.time())
    return jwt.encode(
        {
            "iss": "https://broker.amocrm.ru",
            "aud": audience,
            "jti": "t",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "account_id": account_id,
            "user_id": user_id,
            "subdomain": "broker",
        },
        secret,
        algorithm="HS256",
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def api(money_db, tmp_path):
    db, loaded = money_db
    port = _free_port()
    settings = load_settings(
        {
            "DATABASE_URL": db.url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "JOB_MODE": "inline",
            "AMOCRM_CLIENT_SECRET": SECRET,
            "AMOCRM_REDIRECT_URI": f"{AUDIENCE}/oauth/callback",
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "SECRET_KEY": "s" * 40,
            "LOG_LEVEL": "ERROR",
        }
    )
    clock = FrozenClock(datetime(2026, 12, 31, 9, tzinfo=UTC))
    app = create_app(settings, clock=clock, start_background=False)
    server = serve_in_thread(app, port=port)
    http = requests.Session()

    def call(method: str, path: str, user: int | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if user is not None:
            headers["X-Auth-Token"] = token(user)
        return http.request(
            method, f"{server.url}/widget/api{path}", headers=headers, timeout=30, **kwargs
        )

    call.url, call.clock, call.loaded = server.url, clock, loaded
    yield call
    server.stop()
    set_runtime(None)


def _problem(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()


def test_authentication_failures_are_401(api):
    assert _problem(api("GET", "/reports/plan-fact?period=2026-11"), 401)["type"].endswith(
        "auth.missing"
    )
    for bad in (
        token(ANNA, secret="wrong-secret-wrong-secret-wrong-secret"),
        token(ANNA, audience="https://evil.example"),
        token(ANNA, lifetime=-120),
        token(ANNA, account_id=42),
    ):
        _problem(
            api("GET", "/reports/plan-fact?period=2026-11", headers={"X-Auth-Token": bad}), 401
        )


def test_a_manager_sees_only_their_own_figures(api):
    mine = api("GET", "/reports/plan-fact?period=2026-10..2026-12", ANNA).json()
    assert {row["manager"] for row in mine["rows"]} == {ANNA}
    assert mine["total"]["income"] == 154_321 + 740_000 - 110_000
    other = _problem(api("GET", f"/reports/payroll?period=2026-11&manager={BORIS}", ANNA), 403)
    assert other["detail"] == "Менеджер видит только свои показатели."
    assert other["messages"]["en"] == "A manager sees only their own figures."
    everyone = api("GET", "/reports/plan-fact?from=2026-10&to=2026-12", FINANCE).json()
    assert everyone["total"]["income"] == 2_022_317 and everyone["total"]["income_pct"] == "67.41"
    assert len(everyone["rows"]) == 8


def test_reports_over_http(api):
    pay = api("GET", "/reports/payroll?period=2026-10&details=true", ADMIN).json()
    anna = next(r for r in pay["rows"] if r["employee"] == ANNA)
    assert (anna["total"], len(anna["lines"])) == (121_512, 3)
    ret = api("GET", "/reports/retention?period=2026-11", ADMIN).json()
    assert [r["below_target"] for r in ret["products"]] == [False, True, False, True]
    assert ret["total"]["rate_pct"] == "50"
    history = api("GET", "/clients/7001/history", VERA).json()
    assert history["ends_next"]["number"] == "EEE2222222"
    assert [d["state"] for d in history["deals"]] == ["open", "won", "won", "lost"]
    assert "income" not in history["policies"][0]
    _problem(api("GET", "/clients/999/history", VERA), 404)
    bad = _problem(api("GET", "/reports/plan-fact?period=2026-13", ADMIN), 422)
    assert "period" in bad["errors"]
    _problem(api("GET", "/reports/plan-fact?period=2026-11&colour=red", ADMIN), 422)


def test_a_managers_export_is_refused_in_both_languages_and_audited(api):
    body = _problem(
        api("POST", "/exports", ANNA, json={"kind": "ledger", "period": "2026-11"}), 403
    )
    assert body["detail"].startswith("Выгрузка запрещена")
    assert body["messages"]["en"].startswith("Export refused")
    english = _problem(
        api(
            "POST",
            "/exports",
            ANNA,
            json={"kind": "payroll", "period": "2026", "lang": "en"},
            headers={"Accept-Language": "en"},
        ),
        403,
    )
    assert english["detail"].startswith("Export refused")
    audit = api("GET", "/exports", ADMIN).json()["exports"]
    assert [(e["actor"], e["status"], e["kind"]) for e in audit] == [
        (ANNA, "refused", "payroll"),
        (ANNA, "refused", "ledger"),
    ]
    assert audit[1]["filters"]["from"] == "2026-11-01" and audit[1]["rows"] is None
    _problem(api("GET", "/exports", ANNA), 403)
    _problem(api("GET", "/exports", FINANCE), 403)  # the audit is for admins


def test_a_finance_export_succeeds_downloads_over_http_and_is_audited(api):
    answer = api("POST", "/exports", FINANCE, json={"kind": "ledger", "period": "2026-10..2026-12"})
    assert answer.status_code == 202, answer.text
    export = answer.json()
    assert export["status"] == "done" and export["rows"] == 33  # inline jobs in this test
    status = api("GET", f"/exports/{export['id']}", FINANCE).json()
    assert status["download_url"].startswith(api.url)
    file = requests.get(status["download_url"], timeout=30)
    assert file.status_code == 200
    assert file.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in file.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(file.content))["Реестр"]
    numbers = [row[6] for row in sheet.iter_rows(min_row=2, max_row=12, values_only=True)]
    assert numbers == [r["number"] for r in rows("expected_ledger.csv")]
    audit = api("GET", "/exports", ADMIN).json()["exports"][0]
    assert (audit["actor"], audit["status"], audit["rows"], audit["downloads"]) == (
        FINANCE,
        "done",
        33,
        1,
    )
    # The link is short-lived and cannot be bent to another export.
    api.clock.advance(timedelta(minutes=6))
    expired = _problem(requests.get(status["download_url"], timeout=30), 403)
    assert expired["type"].endswith("export.link_expired")
    fresh = api("GET", f"/exports/{export['id']}", FINANCE).json()["download_url"]
    assert requests.get(fresh, timeout=30).status_code == 200
    forged = fresh.replace(f"/exports/{export['id']}/", f"/exports/{export['id'] + 1}/")
    _problem(requests.get(forged, timeout=30), 403)
    _problem(requests.get(fresh[:-3] + "abc", timeout=30), 403)
    # A manager cannot even see someone else's export.
    _problem(api("GET", f"/exports/{export['id']}", ANNA), 404)


def test_admins_set_plans_roles_rates_and_rules(api):
    plan = {"manager": VERA, "month": "2026-12", "income_target": 100_000}
    _problem(api("PUT", "/plans", FINANCE, json=plan), 403)
    assert api("PUT", "/plans", ADMIN, json=plan).json()["income_target"] == 100_000
    dec = api("GET", "/reports/plan-fact?period=2026-12", VERA).json()["rows"][0]
    assert (dec["plan_income"], dec["income_pct"]) == (100_000, "90")
    _problem(api("PUT", "/plans", ADMIN, json={**plan, "bonus": 1}), 422)
    _problem(api("PUT", "/plans", ADMIN, json={"manager": VERA, "month": "2026-12"}), 422)
    assert [p["manager"] for p in api("GET", "/plans?period=2026-12", VERA).json()["plans"]] == [
        VERA
    ]

    rate = {
        "insurer": "РЕСО-Гарантия",
        "product": "kasko",
        "valid_from": "2027-01-01",
        "rate_pct": "13.25",
    }
    _problem(api("POST", "/commission-rates", ANNA, json=rate), 403)
    assert api("POST", "/commission-rates", FINANCE, json=rate).json()["rate_pct"] == "13.25"
    _problem(api("POST", "/commission-rates", FINANCE, json={**rate, "rate_pct": "130"}), 422)
    _problem(api("POST", "/commission-rates", FINANCE, json={**rate, "product": "boat"}), 422)
    rule = {"role": "issuer", "basis": "fixed", "fixed_amount": 50_000, "valid_from": "2027-01-01"}
    assert api("POST", "/salary-rules", ADMIN, json=rule).status_code == 201
    _problem(api("POST", "/salary-rules", ADMIN, json={**rule, "pct": "5"}), 422)
    assert len(api("GET", "/salary-rules", FINANCE).json()["rules"]) == 7

    _problem(api("PUT", f"/roles/{VERA}", FINANCE, json={"finance": True}), 403)
    _problem(api("POST", "/exports", VERA, json={"kind": "plan", "period": "2026-11"}), 403)
    granted = api("PUT", f"/roles/{VERA}", ADMIN, json={"finance": True}).json()
    assert granted["roles"] == ["manager", "finance"]
    assert (
        api("POST", "/exports", VERA, json={"kind": "plan", "period": "2026-11"}).status_code == 202
    )


def test_who_can_still_export_in_amocrm(api):
    doors = api("GET", "/export-rights", ADMIN).json()
    assert [(u["id"], u["can_export"], u["unknown"]) for u in doors["users"]] == [
        (BORIS, {"leads": "M"}, []),
        (VERA, {}, ["leads", "contacts"]),
    ]
    _problem(api("GET", "/export-rights", FINANCE), 403)


def test_cancellation_from_the_policy_panel(api):
    p4 = api.loaded.policies["P4"]
    _problem(
        api(
            "POST",
            f"/policies/{api.loaded.policies['P3']}/cancellation",
            ANNA,
            json={"on": "2026-12-20", "refund": 100},
        ),
        403,
    )
    done = api(
        "POST", f"/policies/{p4}/cancellation", ANNA, json={"on": "2026-12-20", "refund": 4_000_000}
    ).json()
    assert done["line"]["income"] == -660_000 and done["line"]["booked_on"] == "2026-12-20"
    conflict = _problem(
        api("POST", f"/policies/{p4}/cancellation", ANNA, json={"on": "2026-12-21", "refund": 1}),
        409,
    )
    assert "already cancelled" in conflict["detail"]
    _problem(api("DELETE", f"/policies/{p4}/cancellation", ANNA), 403)
    undone = api("DELETE", f"/policies/{p4}/cancellation", FINANCE).json()
    assert undone["line"]["income"] == 660_000


def test_retention_targets_are_editable_by_admins(api):
    assert api("GET", "/retention-targets", ANNA).json()["targets"] == {
        "kasko": "75",
        "osago": "75",
        "ifl": "80",
    }
    _problem(api("PUT", "/retention-targets", FINANCE, json={"targets": {"osago": "60"}}), 403)
    _problem(api("PUT", "/retention-targets", ADMIN, json={"targets": {"boat": "60"}}), 422)
    _problem(api("PUT", "/retention-targets", ADMIN, json={"targets": {"osago": "101"}}), 422)
    new = {"osago": "60", "kasko": "50.5"}
    assert api("PUT", "/retention-targets", ADMIN, json={"targets": new}).json()["targets"] == new
    rows_ = api("GET", "/reports/retention?period=2026-11", ADMIN).json()["rows"]
    marks = {(r["product"], r["manager"]): (r["target_pct"], r["below_target"]) for r in rows_}
    assert marks[("osago", ANNA)] == ("60", False)  # 66.67 % ≥ 60 %
    assert marks[("kasko", VERA)] == ("50.5", True)  # 50 % < 50.5 %
    assert marks[("ifl", BORIS)] == (None, False)  # no target any more


def test_the_policy_panel_shows_a_policys_lines(api):
    p7 = api.loaded.policies["P7"]
    body = api("GET", f"/policies/{p7}/lines", VERA).json()
    assert [(x["kind"], x["premium"], x["month"]) for x in body["lines"]] == [
        ("sale", 700_000, "2026-12"),
        ("reversal", -700_000, "2026-12"),
        ("correction", 720_000, "2026-12"),
    ]
    assert (body["income"], body["commission_pct"]) == (90_000, "12.5")
    _problem(api("GET", f"/policies/{p7}/lines", ANNA), 403)
    assert api("GET", f"/policies/{p7}/lines", FINANCE).status_code == 200
