"""The events list: one event per change, each with its own id, filters, paging."""

from __future__ import annotations

from .conftest import CALC, MANAGER_TOKEN, SALES, SUB, Api


def _events(api, **params):
    r = api.get("/api/v4/events", params=params)
    return [] if r.status_code == 204 else r.json()["_embedded"]["events"]


def test_every_api_change_is_an_event(api, clock):
    lead_id = api.post("/api/v4/leads", [{"name": "E", "price": 100}]).json()["_embedded"]["leads"][
        0
    ]["id"]
    clock.advance(minutes=1)
    api.patch(
        "/api/v4/leads",
        [
            {
                "id": lead_id,
                "status_id": CALC,
                "price": 200,
                "responsible_user_id": 8011003,
                "custom_fields_values": [{"field_id": 1101003, "values": [{"value": "XXX 1"}]}],
            }
        ],
    )
    events = _events(api, **{"filter[entity][]": "lead", "filter[entity_id][]": lead_id})
    types = sorted(e["type"] for e in events)
    assert types == sorted(
        [
            "lead_added",
            "lead_status_changed",
            "sale_field_changed",
            "entity_responsible_changed",
            "custom_field_value_changed",
        ]
    )
    assert len({e["id"] for e in events}) == len(events)
    assert all(isinstance(e["id"], str) and len(e["id"]) == 26 for e in events)
    status = next(e for e in events if e["type"] == "lead_status_changed")
    assert status["value_before"][0]["lead_status"]["pipeline_id"] == SALES
    assert status["value_after"] == [{"lead_status": {"id": CALC, "pipeline_id": SALES}}]
    assert status["created_at"] == int(clock.now().timestamp())
    responsible = next(e for e in events if e["type"] == "entity_responsible_changed")
    assert responsible["value_after"] == [{"responsible_user": {"id": 8011003}}]
    assert set(status) >= {
        "id",
        "type",
        "entity_id",
        "entity_type",
        "created_by",
        "created_at",
        "value_after",
        "value_before",
        "account_id",
    }


def test_ui_changes_delete_restore_task_completion(sim, api):
    sim.ui_delete(SUB, "leads", 30100006)
    assert api.get("/api/v4/leads/30100006").status_code == 404
    sim.ui_delete(SUB, "leads", 30100006, restore=True)
    sim.ui_update(SUB, "tasks", [{"id": 60100002, "is_completed": True}])
    sim.ui_create(SUB, "contacts", [{"name": "Новый"}])
    events = _events(
        api,
        **{"filter[type][]": ["lead_deleted", "lead_restored", "task_completed", "contact_added"]},
    )
    by_type = {e["type"]: e for e in events if e["created_at"] >= 1768208400}
    assert set(by_type) == {"lead_deleted", "lead_restored", "task_completed", "contact_added"}
    for kind in ("lead_deleted", "task_completed"):
        assert by_type[kind]["value_before"] == [] and by_type[kind]["value_after"] == []


def test_filter_by_value_after_status(sim, api):
    sim.ui_update(SUB, "leads", [{"id": 30100003, "status_id": 142}])
    events = _events(
        api,
        **{
            "filter[type][]": "lead_status_changed",
            "filter[value_after][leads_statuses][0][pipeline_id]": SALES,
            "filter[value_after][leads_statuses][0][status_id]": 142,
        },
    )
    assert [e["entity_id"] for e in events] == [30100003]


def test_entity_id_filter_limits(api):
    params = {"filter[entity][]": "lead", "filter[entity_id][]": list(range(1, 12))}
    assert api.get("/api/v4/events", params=params).status_code == 400


def test_events_paging_limit_100_and_any_user(sim, server):
    sim.ui_create(SUB, "leads", [{"name": str(i)} for i in range(150)])
    manager = Api(server.account_url(SUB), MANAGER_TOKEN)
    r = manager.get("/api/v4/events", params={"limit": 250})
    assert r.status_code == 200
    assert len(r.json()["_embedded"]["events"]) == 100
    ids, url = [], "/api/v4/events?limit=100"
    while url:
        r = manager.get(url)
        if r.status_code == 204:
            break
        ids += [e["id"] for e in r.json()["_embedded"]["events"]]
        url = r.json()["_links"].get("next", {}).get("href")
    assert len(ids) == len(set(ids)) == len(sim.account(SUB).events)
    assert (
        manager.get(
            "/api/v4/events", params={"filter[created_at][from]": 4_000_000_000}
        ).status_code
        == 204
    )
