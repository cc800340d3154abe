"""Writes: batches, request_id, validation errors as problem+json, complex, links, tasks."""

from __future__ import annotations

from .conftest import ADMIN_ID, CALC, IN_WORK, RENEWALS, SALES


def test_add_leads_echoes_request_id_or_ordinal(api):
    r = api.post("/api/v4/leads", [{"name": "A", "request_id": "mine-1"}, {"name": "B"}])
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/hal+json"
    rows = r.json()["_embedded"]["leads"]
    assert [row["request_id"] for row in rows] == ["mine-1", "1"]
    lead = api.get(f"/api/v4/leads/{rows[1]['id']}").json()
    assert lead["name"] == "B" and lead["pipeline_id"] == SALES
    assert lead["created_by"] == ADMIN_ID and lead["custom_fields_values"] is None


def test_more_than_50_is_rejected_and_nothing_is_written(api, sim):
    before = len(sim.account("demo-broker").leads)
    r = api.post("/api/v4/leads", [{"name": str(i)} for i in range(51)])
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/problem+json"
    assert len(sim.account("demo-broker").leads) == before


def test_validation_errors_point_at_request_id(api, sim):
    before = len(sim.account("demo-broker").leads)
    r = api.post(
        "/api/v4/leads",
        [
            {"name": "ok", "request_id": "good"},
            {"name": "bad", "status_id": 12345, "request_id": "bad-status"},
            {"name": 5, "price": "много", "request_id": "bad-types"},
        ],
    )
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/problem+json"
    body = r.json()
    assert {"title", "type", "status", "detail", "validation-errors"} <= set(body)
    errors = {e["request_id"]: e["errors"] for e in body["validation-errors"]}
    assert set(errors) == {"bad-status", "bad-types"}
    assert errors["bad-status"][0]["path"] == "status_id"
    assert {e["path"] for e in errors["bad-types"]} == {"name", "price"}
    assert all({"code", "path", "detail"} <= set(e) for e in errors["bad-types"])
    assert len(sim.account("demo-broker").leads) == before  # the whole batch was refused


def test_status_must_belong_to_pipeline(api):
    r = api.post("/api/v4/leads", [{"pipeline_id": RENEWALS, "status_id": CALC}])
    assert r.status_code == 400
    r = api.post("/api/v4/leads", [{"pipeline_id": RENEWALS, "status_id": 142}])
    assert r.status_code == 200


def test_task_without_complete_till_is_invalid(api):
    r = api.post(
        "/api/v4/tasks", [{"text": "Позвонить", "entity_type": "leads", "entity_id": 30100002}]
    )
    assert r.status_code == 400
    (err,) = r.json()["validation-errors"]
    assert err["request_id"] == "0" and err["errors"][0]["path"] == "complete_till"


def test_patch_batch_and_single_move_updated_at(api, clock):
    before = api.get("/api/v4/leads/30100003").json()
    clock.advance(minutes=3)
    r = api.patch("/api/v4/leads", [{"id": 30100003, "status_id": CALC, "price": 7000}])
    assert r.status_code == 200
    after = api.get("/api/v4/leads/30100003").json()
    assert after["updated_at"] == int(clock.now().timestamp()) > before["updated_at"]
    assert (after["status_id"], after["price"]) == (CALC, 7000)
    clock.advance(minutes=1)
    r = api.patch("/api/v4/leads/30100003", {"status_id": 142})
    assert r.json()["updated_at"] == int(clock.now().timestamp())
    assert api.get("/api/v4/leads/30100003").json()["closed_at"] == int(clock.now().timestamp())


def test_patch_unknown_lead_is_a_validation_error(api):
    r = api.patch("/api/v4/leads", [{"id": 1, "name": "x"}])
    assert r.status_code == 400
    assert r.json()["validation-errors"][0]["errors"][0]["path"] == "id"


def test_custom_field_values_validated(api):
    r = api.post(
        "/api/v4/leads",
        [
            {
                "custom_fields_values": [
                    {"field_id": 1101001, "values": [{"value": "Страхование жизни"}]},
                    {"field_id": 1101006, "values": [{"value": "abc"}]},
                    {"field_id": 42, "values": [{"value": 1}]},
                ]
            }
        ],
    )
    paths = {e["path"] for e in r.json()["validation-errors"][0]["errors"]}
    assert paths == {
        "custom_fields_values.0.values.0.enum_id",
        "custom_fields_values.1.values.0.value",
        "custom_fields_values.2.field_id",
    }
    r = api.post(
        "/api/v4/leads",
        [
            {
                "custom_fields_values": [
                    {"field_id": 1101001, "values": [{"enum_id": 1102002}]},
                    {"field_id": 1101006, "values": [{"value": 15000}]},
                ]
            }
        ],
    )
    lead = api.get(f"/api/v4/leads/{r.json()['_embedded']['leads'][0]['id']}").json()
    kind, premium = lead["custom_fields_values"]
    assert kind["values"] == [{"value": "КАСКО", "enum_id": 1102002, "enum_code": None}]
    assert premium["values"] == [{"value": "15000"}]


def test_tags_and_contacts_on_create(api):
    r = api.post(
        "/api/v4/contacts",
        [
            {
                "first_name": "Юлия",
                "last_name": "Белова",
                "custom_fields_values": [
                    {
                        "field_code": "PHONE",
                        "values": [{"value": "+79990001122", "enum_code": "MOB"}],
                    }
                ],
            }
        ],
    )
    contact_id = r.json()["_embedded"]["contacts"][0]["id"]
    contact = api.get(f"/api/v4/contacts/{contact_id}").json()
    assert contact["name"] == "Юлия Белова"
    r = api.post(
        "/api/v4/leads",
        [
            {
                "name": "С тегом",
                "_embedded": {"tags": [{"name": "новый тег"}], "contacts": [{"id": contact_id}]},
            }
        ],
    )
    lead_id = r.json()["_embedded"]["leads"][0]["id"]
    lead = api.get(f"/api/v4/leads/{lead_id}", params={"with": "contacts"}).json()
    assert [t["name"] for t in lead["_embedded"]["tags"]] == ["новый тег"]
    assert lead["_embedded"]["contacts"] == [
        {
            "id": contact_id,
            "is_main": True,
            "_links": {"self": {"href": f"{api.base}/api/v4/contacts/{contact_id}"}},
        }
    ]
    found = api.get("/api/v4/contacts", params={"query": "9990001122"}).json()
    assert [c["id"] for c in found["_embedded"]["contacts"]] == [contact_id]


def test_complex_add_returns_plain_array(api):
    r = api.post(
        "/api/v4/leads/complex",
        [
            {
                "name": "Комплекс",
                "price": 100,
                "request_id": "x",
                "_embedded": {
                    "contacts": [{"first_name": "Олег"}],
                    "companies": [{"name": "ООО Ромашка"}],
                },
            }
        ],
    )
    assert r.status_code == 200
    (row,) = r.json()
    assert row["request_id"] == ["x"] and row["contact_id"] and row["company_id"]
    lead = api.get(f"/api/v4/leads/{row['id']}", params={"with": "contacts"}).json()
    assert lead["_embedded"]["contacts"][0]["id"] == row["contact_id"]
    assert lead["_embedded"]["companies"][0]["id"] == row["company_id"]
    r = api.post("/api/v4/leads/complex", [{"_embedded": {"contacts": [{}, {}]}}])
    assert r.status_code == 400


def test_link_catalog_element_and_contact(api):
    r = api.post(
        "/api/v4/leads/30100006/link",
        [
            {
                "to_entity_id": 1502001,
                "to_entity_type": "catalog_elements",
                "metadata": {"catalog_id": 1501001, "quantity": 1},
            },
            {"to_entity_id": 40100002, "to_entity_type": "contacts"},
        ],
    )
    assert r.status_code == 200
    assert len(r.json()["_embedded"]["links"]) == 2
    lead = api.get("/api/v4/leads/30100006", params={"with": "catalog_elements,contacts"}).json()
    assert lead["_embedded"]["catalog_elements"][0]["metadata"]["catalog_id"] == 1501001
    assert {c["id"] for c in lead["_embedded"]["contacts"]} == {40100005, 40100002}


def test_tasks_create_list_complete(api, clock):
    deadline = int(clock.now().timestamp()) + 3600
    r = api.post(
        "/api/v4/tasks",
        [
            {
                "text": "Позвонить",
                "complete_till": deadline,
                "entity_type": "leads",
                "entity_id": 30100003,
            }
        ],
    )
    task_id = r.json()["_embedded"]["tasks"][0]["id"]
    assert api.get("/api/v4/leads/30100003").json()["closest_task_at"] == deadline
    body = api.get(
        "/api/v4/tasks", params={"filter[entity_id][]": 30100003, "filter[is_completed]": 0}
    ).json()
    assert [t["id"] for t in body["_embedded"]["tasks"]] == [task_id]
    r = api.patch(
        "/api/v4/tasks", [{"id": task_id, "is_completed": True, "result": {"text": "Дозвонился"}}]
    )
    assert r.status_code == 200
    task = api.get(f"/api/v4/tasks/{task_id}").json()
    assert task["is_completed"] is True and task["result"] == {"text": "Дозвонился"}
    assert (
        api.get(
            "/api/v4/tasks", params={"filter[entity_id][]": 30100003, "filter[is_completed]": 0}
        ).status_code
        == 204
    )


def test_notes_batch(api):
    r = api.post(
        "/api/v4/leads/notes",
        [
            {
                "entity_id": 30100002,
                "note_type": "common",
                "params": {"text": "Клиент просит скидку"},
            }
        ],
    )
    assert r.status_code == 200
    notes = api.get("/api/v4/leads/30100002/notes").json()["_embedded"]["notes"]
    assert notes[0]["params"]["text"] == "Клиент просит скидку"
    r = api.post("/api/v4/contacts/notes", [{"entity_id": 1, "note_type": "common"}])
    assert r.status_code == 400
    r = api.post("/api/v4/leads/notes", [{"entity_id": 30100002, "note_type": "common"}] * 51)
    assert r.status_code == 400


def test_ui_move_is_visible_in_api(sim, api):
    sim.ui_update("demo-broker", "leads", [{"id": 30100006, "status_id": IN_WORK}], user_id=8011003)
    lead = api.get("/api/v4/leads/30100006").json()
    assert lead["status_id"] == IN_WORK and lead["updated_by"] == 8011003


def test_batch_endpoints_want_an_array(api):
    assert api.post("/api/v4/leads", {"name": "объект"}).status_code == 400
    assert api.post("/api/v4/leads", []).status_code == 400
