from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.amocrm.conftest import Harness
from tests.amocrm.scripted_server import Reply, Seen

API = "/s/broker/api/v4"


def echo_ids(entity: str):
    def handler(seen: Seen) -> Reply:
        ids = seen.query.get("filter[id][]") or seen.query.get("filter[entity_id][]") or []
        if not ids:
            return Reply(204)
        return Reply(200, {"_embedded": {entity: [{"id": int(i)} for i in ids]}})

    return handler


def test_id_lists_are_chunked(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/leads", echo_ids("leads"))
    ids = list(range(1, 451)) + [1, 2]  # duplicates are dropped
    leads = list(harness.client.leads(ids=ids))
    assert [lead.id for lead in leads] == list(range(1, 451))
    assert [len(s.query["filter[id][]"]) for s in harness.server.seen] == [200, 200, 50]


def test_updated_at_window_is_ordered(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/contacts", Reply(204))
    start = datetime(2025, 1, 1, tzinfo=UTC)
    list(harness.client.contacts(updated_from=start, updated_to=1735776000))
    query = harness.server.seen[0].query
    assert query["filter[updated_at][from]"] == [str(int(start.timestamp()))]
    assert query["filter[updated_at][to]"] == ["1735776000"]


def test_events_entity_ids_ten_per_request(harness: Harness) -> None:
    def handler(seen: Seen) -> Reply:
        ids = seen.query["filter[entity_id][]"]
        return Reply(200, {"_embedded": {"events": [
            {"id": f"ev{i}", "type": "lead_status_changed", "entity_id": int(i),
             "entity_type": "lead", "created_at": 1,
             "value_after": [{"lead_status": {"id": 142, "pipeline_id": 7}}],
             "value_before": [{"lead_status": {"id": 10, "pipeline_id": 7}}]} for i in ids]}})

    harness.server.route("GET", f"{API}/events", handler)
    events = list(harness.client.events(types=["lead_status_changed"], entity="lead",
                                        entity_ids=range(25), created_from=100))
    assert len(events) == 25
    calls = harness.server.seen
    assert [len(c.query["filter[entity_id][]"]) for c in calls] == [10, 10, 5]
    assert calls[0].query["limit"] == ["100"]
    assert calls[0].query["filter[entity][]"] == ["lead"]
    assert calls[0].query["filter[type][]"] == ["lead_status_changed"]
    assert calls[0].query["filter[created_at][from]"] == ["100"]
    assert events[0].lead_status() == (7, 142)
    assert events[0].lead_status(after=False) == (7, 10)


def test_events_entity_ids_need_one_entity(harness: Harness) -> None:
    with pytest.raises(ValueError):
        list(harness.client.events(entity_ids=[1]))


def test_naive_datetimes_are_refused(harness: Harness) -> None:
    with pytest.raises(ValueError):
        list(harness.client.leads(updated_from=datetime(2025, 1, 1)))  # noqa: DTZ001


def test_pipelines_users_and_fields(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/leads/pipelines", Reply(200, {"_embedded": {"pipelines": [
        {"id": 7, "name": "Продажи", "is_main": True, "_embedded": {"statuses": [
            {"id": 10, "name": "Новая", "pipeline_id": 7}, {"id": 142, "name": "Успешно"}]}}]}}))
    harness.server.route("GET", f"{API}/users", Reply(200, {"_embedded": {"users": [
        {"id": 3, "name": "Анна", "rights": {"leads": {"view": "A", "edit": "M"},
                                             "is_admin": False, "is_active": True}}]}}))
    harness.server.route("GET", f"{API}/leads/custom_fields", Reply(200, {"_embedded": {
        "custom_fields": [{"id": 55, "name": "Дата окончания", "type": "date", "code": None}]}}))
    (pipeline,) = harness.client.pipelines()
    assert [s.key for s in pipeline.statuses] == [(7, 10), (7, 142)]
    assert pipeline.statuses[1].is_won
    (user,) = harness.client.users()
    assert user.rights.leads.view == "A" and user.rights.leads.edit == "M"
    assert user.rights.contacts.view == "D" and not user.rights.is_admin
    (field,) = harness.client.custom_fields("leads")
    assert field.type == "date"
