"""The renewals API over real HTTP on loopback with amoCRM-style JWTs: foreign policies, rules,
availability, the preview, settings — strict input, problem+json errors in Russian and English."""

from __future__ import annotations

import socket
import time
from datetime import UTC, date, datetime, timedelta

import jwt
import pytest
import requests
from sqlalchemy import select

from amo_bridge.accounts import create_account
from amo_bridge.app import create_app
from amo_bridge.clock import FrozenClock
from amo_bridge.db import Database
from amo_bridge.demo import serve_in_thread
from amo_bridge.models import AssigneeRule, Contact, Policy, Renewal, User
from amo_bridge.settings import load_settings
from jobs.runtime import set_runtime

SECRET = "renewals-test-secret-0123456789abcdef"
AUDIENCE = "https://bridge.example.com"
ACCOUNT = 31999001
ADMIN, ANNA, BORIS, VERA = 900, 101, 102, 103
TODAY = date(2026, 12, 1)


def token(user_id: int) -> str:
    now = int(time.time())
    return jwt.encode({"iss": "https://broker.amocrm.ru", "aud": AUDIENCE, "jti": "t",
                       "iat": now, "nbf": now, "exp": now + 1800, "account_id": ACCOUNT,
                       "user_id": user_id, "subdomain": "broker"}, SECRET, algorithm="HS256")


@pytest.fixture
def api(migrated_url, tmp_path):
    db = Database(migrated_url)
    with db.session() as session:
        account, _ = create_account(session, amocrm_id=ACCOUNT, subdomain="broker",
                                    base_url="https://broker.amocrm.ru")
        for amocrm_id, name in ((ADMIN, "Админ"), (ANNA, "Анна"), (BORIS, "Борис"),
                                (VERA, "Вера")):
            session.add(User(account_id=account.id, amocrm_id=amocrm_id, name=name,
                             is_admin=amocrm_id == ADMIN))
        account_id = account.id
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = load_settings({
        "DATABASE_URL": migrated_url, "INSTANCE_PATH": str(tmp_path / "instance"),
        "JOB_MODE": "inline", "AMOCRM_CLIENT_SECRET": SECRET,
        "AMOCRM_REDIRECT_URI": f"{AUDIENCE}/oauth/callback", "SECRET_KEY": "s" * 40,
        "PUBLIC_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "ERROR"})
    clock = FrozenClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    app = create_app(settings, clock=clock, start_background=False)
    server = serve_in_thread(app, port=port)
    http = requests.Session()

    def call(method: str, path: str, user: int | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if user is not None:
            headers["X-Auth-Token"] = token(user)
        return http.request(method, f"{server.url}/widget/api/renewals{path}", headers=headers,
                            timeout=30, **kwargs)

    call.db, call.account_id = db, account_id
    yield call
    server.stop()
    set_runtime(None)
    db.dispose()


def _problem(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()


def test_who_may_do_what(api):
    _problem(api("GET", "/rules"), 401)
    forbidden = _problem(api("GET", "/rules", ANNA), 403)
    assert forbidden["detail"] == "Недостаточно прав: нужна роль «администратор»."
    assert api("GET", "/rules", ADMIN).json() == {"rules": []}
    assert api("GET", "/contacts/5001/policies", ANNA).json() == {"policies": []}


def test_foreign_policies_of_a_contact(api):
    body = {"product": "КАСКО", "insurer": "СОГАЗ", "ends_on": "2027-02-10",
            "starts_on": "2026-02-11", "premium": 5_400_000, "number": "SYS-1",
            "insured_object": {"make": "Kia", "model": "Rio", "plate": "А123ВС77"}}
    created = api("POST", "/contacts/5001/policies", ANNA, json=body)
    assert created.status_code == 201, created.text
    policy = created.json()
    assert (policy["kind"], policy["product"], policy["product_name"]) == (
        "foreign", "kasko", "КАСКО")
    assert (policy["entered_by"], policy["premium"], policy["renewal"]) == (ANNA, 5_400_000, None)
    with api.db.read_session() as session:  # the contact the mirror has not seen yet: a stub
        assert session.scalar(select(Contact.amocrm_id).join(
            Policy, Policy.contact_id == Contact.id).where(Policy.id == policy["id"])) == 5001

    again = _problem(api("POST", "/contacts/5001/policies", BORIS, json=body), 409)
    assert again["messages"]["en"] == "Policy No. SYS-1 of this insurer is already entered."
    unknown = _problem(api("POST", "/contacts/5001/policies", ANNA,
                           json={**body, "number": None, "colour": "red"}), 422)
    assert "colour" in unknown["errors"]
    bad = _problem(api("POST", "/contacts/5001/policies", ANNA,
                       json={**body, "number": None, "product": "Лодка"}), 422)
    assert bad["detail"] == "Неизвестный вид страхования «Лодка»."
    _problem(api("POST", "/contacts/5001/policies", ANNA,
                 json={**body, "number": None, "ends_on": "2026-01-01"}), 422)

    listed = api("GET", "/contacts/5001/policies", BORIS).json()["policies"]
    assert [p["id"] for p in listed] == [policy["id"]]
    _problem(api("PATCH", f"/policies/{policy['id']}", BORIS, json={"insurer": "ВСК"}), 403)
    edited = api("PATCH", f"/policies/{policy['id']}", ANNA, json={"ends_on": "2027-03-01"})
    assert edited.json()["ends_on"] == "2027-03-01" and edited.json()["insurer"] == "СОГАЗ"

    with api.db.session() as session:  # amoCRM has its renewal deal: not removable any more
        session.add(Renewal(account_id=api.account_id, policy_id=policy["id"],
                            term_end=date(2027, 3, 1), status="created", marker="ПР-x"))
    gone = _problem(api("DELETE", f"/policies/{policy['id']}", ADMIN), 409)
    assert gone["detail"].startswith("По полису уже создана сделка пролонгации")
    second = api("POST", "/contacts/5001/policies", VERA,
                 json={"product": "osago", "ends_on": "2027-01-05"}).json()
    assert api("DELETE", f"/policies/{second['id']}", VERA).status_code == 204
    assert len(api("GET", "/contacts/5001/policies?kind=all", ADMIN).json()["policies"]) == 1


def _policy(api, n: int, *, product: str = "osago", kind: str = "ours", seller: int = ANNA):
    with api.db.session() as session:
        contact = Contact(account_id=api.account_id, amocrm_id=7000 + n, name=f"Клиент {n}")
        session.add(contact)
        session.flush()
        session.add(Policy(account_id=api.account_id, external_key=f"p{n}", kind=kind,
                           product_code=product, ends_on=TODAY + timedelta(days=45 + n),
                           seller_amocrm_id=seller, contact_id=contact.id, premium=100,
                           sold_on=TODAY - timedelta(days=300) if kind == "ours" else None))


def test_rules_availability_and_the_preview(api):
    for n in range(4):
        _policy(api, n)
    _policy(api, 9, kind="foreign", product="kasko", seller=None)
    rule = api("PUT", "/rules", ADMIN, json={"kind": "ours", "strategy": "round_robin",
                                             "pool": [ANNA, BORIS], "fallback_user": VERA})
    assert rule.status_code == 200, rule.text
    api("PUT", "/rules", ADMIN, json={"kind": "foreign", "strategy": "fixed",
                                      "fixed_user": VERA})
    first = api("GET", "/preview?count=10", ADMIN).json()["renewals"]
    assert [(r["policy_id"] and r["kind"], r["assignee"]) for r in first] == [
        ("ours", ANNA), ("ours", BORIS), ("ours", ANNA), ("ours", BORIS), ("foreign", VERA)]
    assert first[0]["client"] == "Клиент 0" and first[0]["assignee_name"] == "Анна"
    assert first[0]["due_on"] == "2026-12-01" and first[3]["due_on"] == "2026-12-04"
    assert api("GET", "/preview?count=10", ADMIN).json()["renewals"] == first  # no side effects
    with api.db.read_session() as session:
        assert session.scalar(select(AssigneeRule.cursor).where(
            AssigneeRule.policy_kind == "ours")) == 0

    away = api("PUT", f"/users/{ANNA}/availability", ADMIN,
               json={"away_until": "2026-12-14", "backup_user": BORIS})
    assert away.json() == {"id": ANNA, "name": "Анна", "is_active": True, "is_admin": False,
                           "away_until": "2026-12-14", "backup_user": BORIS}
    ours = api("GET", "/preview?kind=ours&count=2", ADMIN).json()["renewals"]
    assert [r["assignee"] for r in ours] == [BORIS, BORIS]
    assert ours[0]["reason"] == f"backup of {ANNA} (away until 2026-12-14)"
    api("PUT", f"/users/{BORIS}/availability", ADMIN, json={"away_until": "2026-12-31"})
    ours = api("GET", "/preview?kind=ours&count=2", ADMIN).json()["renewals"]
    assert [r["assignee"] for r in ours] == [VERA, VERA]  # backup away too: the fallback

    _problem(api("PUT", "/rules", ADMIN, json={"kind": "ours", "strategy": "fixed"}), 422)
    unknown = _problem(api("PUT", "/rules", ADMIN, json={"kind": "ours", "strategy": "fixed",
                                                         "fixed_user": 555}), 422)
    assert unknown["messages"]["en"].startswith("amoCRM user 555 is not known")


def test_settings_are_validated_and_merged(api):
    bad = _problem(api("PUT", "/settings", ADMIN,
                       json={"deal_name": "{{ client.__class__ }}"}), 422)
    assert "deal_name" in bad["errors"]
    bad = _problem(api("PUT", "/settings", ADMIN, json={"schedules": [
        {"kind": "ours", "product": "osago", "task_text": "{{ nope }}"}]}), 422)
    assert bad["errors"]["schedules.0.task_text"][0].startswith("Неизвестная переменная «nope»")
    _problem(api("PUT", "/settings", ADMIN, json={"schedules": [{"product": "yacht"}]}), 422)
    saved = api("PUT", "/settings", ADMIN, json={
        "days_before": 30, "schedules": [{"kind": "foreign", "days_before": 60}],
        "lost_followup_months": {"default": 6, "Дорого": 3}})
    assert saved.status_code == 200, saved.text
    got = api("GET", "/settings", ADMIN).json()
    assert (got["days_before"], got["tag"]) == (30, "пролонгация")
    assert got["schedules"] == [{"kind": "foreign", "product": "*", "days_before": 60}]
    _policy(api, 1)  # ends in 46 days: ours now start 30 days ahead
    _policy(api, 2, kind="foreign")  # ends in 47 days: foreign ones 60 days ahead
    due = api("GET", "/preview?horizon=0", ADMIN).json()["renewals"]
    assert [r["kind"] for r in due] == ["foreign"]
