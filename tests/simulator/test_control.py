"""The control plane, seeds and the clock."""

from __future__ import annotations

import json

from amo_bridge.simulator import DEFAULT_SEED, create_app

from .conftest import SUB


def test_clock_advance_and_set(control, sim):
    before = control.get("/clock").json()
    after = control.post("/clock", {"advance": {"hours": 2}}).json()
    assert after["timestamp"] - before["timestamp"] == 7200
    moved = control.post("/clock", {"set": "2027-01-01T00:00:00+00:00"}).json()
    assert moved["now"].startswith("2027-01-01")
    assert int(sim.clock.now().timestamp()) == moved["timestamp"]


def test_freeze_system_clock():
    app = create_app()
    sim = app.extensions["amocrm_simulator"]
    assert not sim.clock.frozen
    moment = sim.clock.freeze()
    assert sim.clock.now() == moment
    sim.advance(minutes=1)
    assert (sim.clock.now() - moment).total_seconds() == 60


def test_ui_entities_over_control(control, api):
    r = control.post(f"/accounts/{SUB}/leads?user_id=8011003", {"name": "Из UI"})
    (lead_id,) = r.json()["ids"]
    assert api.get(f"/api/v4/leads/{lead_id}").json()["created_by"] == 8011003
    assert control.session.delete(control.url(f"/accounts/{SUB}/leads/{lead_id}")).ok
    assert api.get(f"/api/v4/leads/{lead_id}").status_code == 404
    assert control.post(f"/accounts/{SUB}/leads/{lead_id}/restore").ok
    assert api.get(f"/api/v4/leads/{lead_id}").status_code == 200
    r = control.post(f"/accounts/{SUB}/leads", {"status_id": 1})
    assert r.status_code == 400 and "validation-errors" in r.json()


def test_dump_and_accounts(control):
    accounts = control.get("/accounts").json()
    assert accounts[0]["subdomain"] == SUB and accounts[0]["base_url"].endswith(f"/s/{SUB}")
    dump = control.get(f"/accounts/{SUB}").json()
    assert len(dump["leads"]) == 8 and dump["timezone"] == "Europe/Moscow"


def test_json_seed_and_second_account(tmp_path, clock):
    doc = {
        "accounts": [
            {
                "id": 77,
                "subdomain": "other",
                "timezone": "Asia/Yekaterinburg",
                "users": [{"id": 1, "name": "Админ", "is_admin": True}],
                "tokens": [{"access_token": "t", "user_id": 1}],
                "pipelines": [
                    {
                        "id": 9,
                        "name": "Воронка",
                        "is_main": True,
                        "statuses": [{"id": 90, "name": "Первичный"}],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    app = create_app(seed=path, clock=clock)
    client = app.test_client()
    r = client.get("/s/other/api/v4/account", headers={"Authorization": "Bearer t"})
    assert r.json["timezone"] == "Asia/Yekaterinburg"
    assert client.get("/s/demo-broker/api/v4/account").status_code == 404
    r = client.post(
        "/s/other/api/v4/leads", json=[{"name": "x"}], headers={"Authorization": "Bearer t"}
    )
    lead_id = r.json["_embedded"]["leads"][0]["id"]
    r = client.get(f"/s/other/api/v4/leads/{lead_id}", headers={"Authorization": "Bearer t"})
    assert (r.json["pipeline_id"], r.json["status_id"]) == (9, 90)


def test_default_seed_is_shipped():
    assert DEFAULT_SEED.name == "default_seed.toml" and DEFAULT_SEED.exists()
