"""Response shapes against AMOCRM.md "API v4": account, pipelines, fields, users, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from .conftest import ADMIN_TOKEN, MANAGER_ID, MANAGER_TOKEN, SUB

H = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
P = f"/s/{SUB}/api/v4"


def test_account_has_timezone_and_current_user(client):
    r = client.get(
        f"{P}/account?with=datetime_settings", headers={"Authorization": f"Bearer {MANAGER_TOKEN}"}
    )
    assert r.status_code == 200
    assert r.content_type == "application/hal+json"
    body = r.json
    assert body["subdomain"] == SUB and body["id"] == 31456789
    assert body["timezone"] == "Europe/Moscow"
    assert body["current_user_id"] == MANAGER_ID
    assert body["_embedded"]["datetime_settings"]["timezone"] == "Europe/Moscow"


def test_every_pipeline_has_won_and_lost(client):
    r = client.get(f"{P}/leads/pipelines", headers=H)
    pipelines = r.json["_embedded"]["pipelines"]
    assert {p["name"] for p in pipelines} == {"Продажи", "Пролонгации"}
    for p in pipelines:
        ids = {s["id"] for s in p["_embedded"]["statuses"]}
        assert {142, 143} <= ids
        assert all(s["pipeline_id"] == p["id"] for s in p["_embedded"]["statuses"])
    names = {s["name"] for s in pipelines[0]["_embedded"]["statuses"]}
    assert {"Новый лид", "Взят в работу", "Расчёт", "Оформление"} <= names


def test_seeded_pipeline_without_system_statuses_gets_them(sim):
    doc = {
        "subdomain": "bare",
        "id": 1,
        "users": [{"id": 1, "name": "A", "is_admin": True}],
        "pipelines": [
            {"id": 5, "name": "P", "is_main": True, "statuses": [{"id": 50, "name": "S"}]}
        ],
    }
    (account,) = sim.load_seed(doc)
    assert {s["id"] for s in account.pipelines[5]["statuses"]} == {50, 142, 143}


def test_custom_fields_lists(client):
    r = client.get(f"{P}/leads/custom_fields", headers=H)
    fields = {f["name"]: f for f in r.json["_embedded"]["custom_fields"]}
    assert {e["value"] for e in fields["Вид страхования"]["enums"]} == {
        "ОСАГО",
        "КАСКО",
        "Имущество",
        "Ипотека",
        "ДМС",
        "НС",
        "ВЗР",
    }
    assert fields["Дата окончания полиса"]["type"] == "date"
    r = client.get(f"{P}/contacts/custom_fields", headers=H)
    phone = next(f for f in r.json["_embedded"]["custom_fields"] if f["code"] == "PHONE")
    assert phone["type"] == "multitext"
    assert {e["value"] for e in phone["enums"]} == {"WORK", "WORKDD", "MOB", "FAX", "HOME", "OTHER"}


def test_users_is_admin_only(client):
    r = client.get(f"{P}/users", headers={"Authorization": f"Bearer {MANAGER_TOKEN}"})
    assert r.status_code == 403
    assert r.content_type == "application/problem+json"
    r = client.get(f"{P}/users", headers=H)
    assert r.status_code == 200
    users = r.json["_embedded"]["users"]
    assert len(users) == 4
    assert sum(u["rights"]["is_admin"] for u in users) == 1
    assert {"view", "edit", "add", "delete", "export"} <= set(users[0]["rights"]["leads"])


def test_401_without_or_with_bad_token(client):
    assert client.get(f"{P}/leads").status_code == 401
    r = client.get(f"{P}/leads", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.content_type == "application/problem+json"
    assert r.json["status"] == 401


def test_404_unknown_entity_is_problem_json(client):
    r = client.get(f"{P}/leads/999", headers=H)
    assert r.status_code == 404
    assert r.content_type == "application/problem+json"
    assert set(r.json) >= {"title", "type", "status", "detail"}


def test_date_fields_hold_account_midnight(client, sim):
    moscow = ZoneInfo("Europe/Moscow")
    # Seed data follows the rule.
    for lead in sim.account(SUB).leads.values():
        for cf in lead["custom_fields_values"] or []:
            if cf["field_type"] == "date":
                local = datetime.fromtimestamp(cf["values"][0]["value"], moscow)
                assert (local.hour, local.minute, local.second) == (0, 0, 0)
    # 00:00 UTC of 1 March sent → midnight MSK of 1 March (21:00 UTC on 28 Feb) comes back.
    utc_midnight = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp())
    r = client.post(
        f"{P}/leads",
        headers=H,
        json=[
            {
                "name": "d",
                "custom_fields_values": [
                    {"field_id": 1101005, "values": [{"value": utc_midnight}]}
                ],
            }
        ],
    )
    lead_id = r.json["_embedded"]["leads"][0]["id"]
    lead = client.get(f"{P}/leads/{lead_id}", headers=H).json
    value = lead["custom_fields_values"][0]["values"][0]["value"]
    assert value == int(datetime(2025, 3, 1, tzinfo=moscow).timestamp())
    assert datetime.fromtimestamp(value, UTC).date().isoformat() == "2025-02-28"


def test_phones_are_multitext_with_enum_codes(client):
    r = client.get(f"{P}/contacts/40100002", headers=H)
    phone = next(cf for cf in r.json["custom_fields_values"] if cf["field_code"] == "PHONE")
    assert [(v["value"], v["enum_code"]) for v in phone["values"]] == [
        ("+79265550102", "MOB"),
        ("+74957654321", "HOME"),
    ]
    assert all(isinstance(v["enum_id"], int) for v in phone["values"])


def test_lead_with_embeds(client):
    r = client.get(f"{P}/leads/30100005?with=contacts,loss_reason,catalog_elements", headers=H)
    emb = r.json["_embedded"]
    assert emb["contacts"][0]["id"] == 40100004 and emb["contacts"][0]["is_main"] is True
    assert emb["loss_reason"][0]["name"] == "Купил в другом месте"
    assert emb["catalog_elements"] == []
    assert r.json["closed_at"] is not None


def test_catalogs_and_loss_reasons(client):
    r = client.get(f"{P}/catalogs", headers=H)
    (catalog,) = r.json["_embedded"]["catalogs"]
    assert catalog["type"] == "products"
    r = client.get(f"{P}/catalogs/{catalog['id']}/elements", headers=H)
    assert len(r.json["_embedded"]["elements"]) == 3
    r = client.get(f"{P}/leads/loss_reasons", headers=H)
    assert len(r.json["_embedded"]["loss_reasons"]) == 4
