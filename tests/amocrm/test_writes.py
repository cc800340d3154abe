from __future__ import annotations

import itertools
import threading

from amo_bridge.amocrm.errors import OutcomeUnknown, RateLimited
from amo_bridge.amocrm.payloads import lead_payload, note_payload, task_payload
from tests.amocrm.conftest import NOW, Harness
from tests.amocrm.scripted_server import Reply, Seen

API = "/s/broker/api/v4"


def creating(entity: str, *, invalid: set[str] = frozenset()):
    ids = itertools.count(100)
    lock = threading.Lock()

    def handler(seen: Seen) -> Reply:
        bad = [i for i in seen.body if i["request_id"] in invalid]
        if bad:
            # amoCRM rejects the whole request and points at the faulty item.
            return Reply(400, {"title": "Bad Request", "status": 400, "validation-errors": [
                {"request_id": i["request_id"], "errors": [
                    {"code": "NotSupportedChoice", "path": "status_id",
                     "detail": "The value you selected is not a valid choice."}]} for i in bad]},
                headers={"Content-Type": "application/problem+json"})
        with lock:
            made = [{"id": next(ids), "request_id": i["request_id"]} for i in seen.body]
        return Reply(200, {"_embedded": {entity: made}})

    return handler


def test_batches_of_fifty_with_request_ids_mapped(harness: Harness) -> None:
    harness.server.route("POST", f"{API}/leads", creating("leads"))
    items = [lead_payload(request_id=f"ren-{n}", name=f"Renewal {n}", price=1000)
             for n in range(120)]
    result = harness.client.create_leads(items)
    sizes = [len(s.body) for s in harness.server.calls("POST", f"{API}/leads")]
    assert sizes == [50, 50, 20]
    assert result.ok and len(result.ids) == 120
    assert result.ids["ren-0"] == 100 and result.ids["ren-119"] == 219
    # every write is recorded with its entity id, for echo recognition
    assert len(harness.recorder.writes) == 120
    first = harness.recorder.writes[0]
    assert (first.entity_type, first.entity_id, first.action, first.request_id) == (
        "leads", 100, "create", "ren-0")
    assert first.fields["name"] == "Renewal 0" and first.at == NOW


def test_validation_error_on_one_item(harness: Harness) -> None:
    harness.server.route("POST", f"{API}/leads", creating("leads", invalid={"r3"}))
    items = [{"name": f"L{n}", "request_id": f"r{n}"} for n in range(5)]
    result = harness.client.create_leads(items)
    assert set(result.ids) == {"r0", "r1", "r2", "r4"}
    assert list(result.errors) == ["r3"]
    assert result.errors["r3"][0].path == "status_id"
    assert not result.ok and result.failure is None
    calls = harness.server.calls("POST", f"{API}/leads")
    assert [len(c.body) for c in calls] == [5, 4]  # the valid rest went once more
    assert {w.request_id for w in harness.recorder.writes} == {"r0", "r1", "r2", "r4"}


def test_ordinal_request_ids_when_missing(harness: Harness) -> None:
    harness.server.route("POST", f"{API}/tasks", creating("tasks"))
    items = [task_payload(request_id="", text="call", complete_till=NOW) for _ in range(3)]
    result = harness.client.create_tasks(items)
    assert result.ids == {"r0": 100, "r1": 101, "r2": 102}
    assert harness.server.seen[0].body[0]["complete_till"] == int(NOW.timestamp())


def test_outcome_unknown_mid_batch_keeps_what_was_done(harness: Harness) -> None:
    handler = creating("leads")
    calls = itertools.count()
    harness.server.route("POST", f"{API}/leads",
                         lambda seen: handler(seen) if next(calls) == 0 else Reply(drop=True))
    items = [{"name": f"L{n}", "request_id": f"r{n}"} for n in range(120)]
    result = harness.client.create_leads(items)
    assert len(result.ids) == 50
    assert result.unknown == tuple(f"r{n}" for n in range(50, 100))
    assert result.unsent == tuple(f"r{n}" for n in range(100, 120))
    assert isinstance(result.failure, OutcomeUnknown)
    unknown = [w for w in harness.recorder.writes if w.outcome == "unknown"]
    assert len(unknown) == 50 and unknown[0].entity_id is None


def test_rate_limited_mid_batch_reports_unsent(harness: Harness) -> None:
    handler = creating("leads")
    harness.server.route("POST", f"{API}/leads", lambda seen: handler(seen) if len(
        harness.server.seen) == 1 else Reply(429))
    result = harness.client.create_leads([{"name": f"L{n}"} for n in range(60)])
    assert len(result.ids) == 50 and len(result.unsent) == 10
    assert isinstance(result.failure, RateLimited)


def test_updates_are_recorded_before_sending(harness: Harness) -> None:
    order: list[int] = []

    def handler(seen: Seen) -> Reply:
        order.append(len(harness.recorder.writes))
        return Reply(200, {"_embedded": {"leads": [{"id": i["id"], "request_id": i["request_id"]}
                                                   for i in seen.body]}})

    harness.server.route("PATCH", f"{API}/leads", handler)
    result = harness.client.update_leads([{"id": 5, "price": 10}, {"id": 6, "price": 20}])
    assert order == [2]
    assert result.ids == {"5": 5, "6": 6}
    assert [w.entity_id for w in harness.recorder.writes] == [5, 6]


def test_notes_tags_and_links(harness: Harness) -> None:
    harness.server.route("POST", f"{API}/leads/notes", creating("notes"))
    harness.server.route("PATCH", f"{API}/leads", Reply(200, {"_embedded": {"leads": [
        {"id": 5, "request_id": "5"}]}}))
    harness.server.route("POST", f"{API}/leads/5/link", Reply(200, {"_embedded": {"links": []}}))
    notes = harness.client.add_notes("leads", [note_payload(request_id="n1", entity_id=5,
                                                            text="Полис продлён")])
    assert notes.ids == {"n1": 100}
    harness.client.add_tags("leads", [5], ["renewal"])
    assert harness.server.calls("PATCH", f"{API}/leads")[0].body == [
        {"id": 5, "tags_to_add": [{"name": "renewal"}], "request_id": "5"}]
    harness.client.link_contacts(5, [9, 10], main_contact_id=9)
    assert harness.server.calls("POST", f"{API}/leads/5/link")[0].body == [
        {"to_entity_id": 9, "to_entity_type": "contacts", "metadata": {"is_main": True}},
        {"to_entity_id": 10, "to_entity_type": "contacts"}]
    assert [w.action for w in harness.recorder.writes] == ["create", "update", "link"]
