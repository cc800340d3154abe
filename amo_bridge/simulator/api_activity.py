"""v4 endpoints: tasks, notes and the events list (AMOCRM.md "API v4", "Events list")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from . import records, records_notes, records_tasks, serialize
from .context import account, actor, base, body, simulator
from .errors import ApiError, hal
from .paging import in_range, int_list, order, page_response, query, str_list

bp = Blueprint("amocrm_activity", __name__)
Record = dict[str, Any]
EVENT_ENTITIES = {"lead", "contact", "company", "task", "customer"}


@bp.get("/api/v4/tasks")
def list_tasks() -> Response:
    q = query()
    f = q.get("filter") if isinstance(q.get("filter"), dict) else {}
    ids, users = set(int_list(f.get("id"))), set(int_list(f.get("responsible_user_id")))
    types, entity_ids = set(int_list(f.get("task_type"))), set(int_list(f.get("entity_id")))
    entity_types = set(str_list(f.get("entity_type")))
    done = f.get("is_completed")
    items = [
        t
        for t in account().tasks.values()
        if (not ids or t["id"] in ids)
        and (not users or t["responsible_user_id"] in users)
        and (not types or t["task_type_id"] in types)
        and (not entity_ids or t["entity_id"] in entity_ids)
        and (not entity_types or t["entity_type"] in entity_types)
        and (done in (None, "") or t["is_completed"] == (str(done) in ("1", "true")))
        and in_range(t["updated_at"], f.get("updated_at"))
    ]
    items = order(items, q.get("order"), ("id", "created_at", "complete_till"))
    return page_response("tasks", items, lambda t: serialize.task(t, base()))


@bp.get("/api/v4/tasks/<int:task_id>")
def get_task(task_id: int) -> Response:
    task = account().tasks.get(task_id)
    if task is None:
        raise ApiError(404, f"Task {task_id} not found")
    return hal(serialize.task(task, base()))


def _answer(key: str, rows: list[Record], path: str = "") -> Response:
    for row in rows:
        row["_links"] = serialize.link(f"{base()}/api/v4/{path or key}/{row['id']}")
    return hal(
        {"_links": serialize.link(f"{base()}/api/v4/{path or key}"), "_embedded": {key: rows}}
    )


@bp.post("/api/v4/tasks")
def add_tasks() -> Response:
    items = records.check_batch(body())
    with simulator().operation(account(), actor()) as op:
        return _answer("tasks", records_tasks.create_tasks(op, items))


@bp.patch("/api/v4/tasks")
def update_tasks() -> Response:
    items = records.check_batch(body())
    with simulator().operation(account(), actor()) as op:
        return _answer("tasks", records_tasks.update_tasks(op, items))


@bp.patch("/api/v4/tasks/<int:task_id>")
def update_task(task_id: int) -> Response:
    item = body()
    if not isinstance(item, dict):
        raise ApiError(400, "Request body must be an object")
    if task_id not in account().tasks:
        raise ApiError(404, f"Task {task_id} not found")
    with simulator().operation(account(), actor()) as op:
        row = records_tasks.update_tasks(op, [{**item, "id": task_id}])[0]
    return hal(
        {
            "id": task_id,
            "updated_at": row["updated_at"],
            "_links": serialize.link(f"{base()}/api/v4/tasks/{task_id}"),
        }
    )


def _notes(kind: str, entity_id: int | None = None) -> Response:
    q = query()
    f = q.get("filter") if isinstance(q.get("filter"), dict) else {}
    ids, entities = set(int_list(f.get("id"))), set(int_list(f.get("entity_id")))
    if entity_id is not None:
        entities = {entity_id}
    note_types = set(str_list(f.get("note_type")))
    items = [
        n
        for n in account().notes.values()
        if n["entity_type"] == kind
        and (not ids or n["id"] in ids)
        and (not entities or n["entity_id"] in entities)
        and (not note_types or n["note_type"] in note_types)
        and in_range(n["updated_at"], f.get("updated_at"))
    ]
    items = order(items, q.get("order"), ("id", "updated_at"))
    return page_response("notes", items, lambda n: serialize.note(n, base()))


def _add_notes(kind: str, entity_id: int | None = None) -> Response:
    items = records.check_batch(body())
    if entity_id is not None:
        items = [{**i, "entity_id": entity_id} for i in items]
    with simulator().operation(account(), actor()) as op:
        return _answer("notes", records_notes.create_notes(op, kind, items), f"{kind}/notes")


for _kind in ("leads", "contacts", "companies"):
    bp.add_url_rule(f"/api/v4/{_kind}/notes", f"notes_{_kind}", lambda k=_kind: _notes(k))
    bp.add_url_rule(
        f"/api/v4/{_kind}/notes",
        f"add_notes_{_kind}",
        lambda k=_kind: _add_notes(k),
        methods=["POST"],
    )
    bp.add_url_rule(
        f"/api/v4/{_kind}/<int:entity_id>/notes",
        f"entity_notes_{_kind}",
        lambda entity_id, k=_kind: _notes(k, entity_id),
    )
    bp.add_url_rule(
        f"/api/v4/{_kind}/<int:entity_id>/notes",
        f"add_entity_notes_{_kind}",
        lambda entity_id, k=_kind: _add_notes(k, entity_id),
        methods=["POST"],
    )


def _type_matches(event: Record, types: set[str]) -> bool:
    if event["type"] in types:
        return True
    # Real amoCRM also names field changes per field: custom_field_<id>_value_changed.
    if event["type"] == "custom_field_value_changed":
        shape = (event["value_after"] or event["value_before"] or [{}])[0]
        field_id = shape.get("custom_field_value", {}).get("field_id")
        return f"custom_field_{field_id}_value_changed" in types
    return False


def _status_filter(f: Record) -> list[tuple[int | None, int | None]] | None:
    spec = (f.get("value_after") or {}) if isinstance(f.get("value_after"), dict) else {}
    statuses = spec.get("leads_statuses")
    if not statuses:
        return None
    rows = statuses.values() if isinstance(statuses, dict) else statuses
    try:
        return [
            (
                int(s["pipeline_id"]) if s.get("pipeline_id") else None,
                int(s["status_id"]) if s.get("status_id") else None,
            )
            for s in rows
            if isinstance(s, dict)
        ]
    except ValueError as exc:
        raise ApiError(400, "Invalid filter[value_after][leads_statuses]") from exc


def _status_matches(event: Record, pairs: list[tuple[int | None, int | None]]) -> bool:
    for value in event["value_after"]:
        status = value.get("lead_status")
        if status and any(
            (p is None or p == status["pipeline_id"]) and (s is None or s == status["id"])
            for p, s in pairs
        ):
            return True
    return False


@bp.get("/api/v4/events")
def list_events() -> Response:
    """Any user may read events; ``limit`` ≤ 100; newest first unless ``order`` says so."""
    q = query()
    f = q.get("filter") if isinstance(q.get("filter"), dict) else {}
    types, entities = set(str_list(f.get("type"))), set(str_list(f.get("entity")))
    entity_ids = set(int_list(f.get("entity_id")))
    if entities - EVENT_ENTITIES:
        raise ApiError(400, f"Unsupported filter[entity]: {sorted(entities - EVENT_ENTITIES)}")
    if entity_ids and (len(entity_ids) > 10 or len(entities) != 1):
        raise ApiError(
            400, "filter[entity_id] takes at most 10 ids, with exactly one filter[entity]"
        )
    pairs = _status_filter(f)
    items = [
        e
        for e in account().events
        if (not types or _type_matches(e, types))
        and (not entities or e["entity_type"] in entities)
        and (not entity_ids or e["entity_id"] in entity_ids)
        and in_range(e["created_at"], f.get("created_at"))
        and (pairs is None or _status_matches(e, pairs))
    ]
    spec = q.get("order") if isinstance(q.get("order"), dict) else {}
    direction = spec.get("created_at", spec.get("id", "desc"))
    if direction not in ("asc", "desc"):
        raise ApiError(400, f"Unsupported order: {direction}")
    items.sort(key=lambda e: (e["created_at"], e["id"]), reverse=direction == "desc")
    return page_response(
        "events", items, lambda e: serialize.event(e, base()), default=100, maximum=100
    )


@bp.get("/api/v4/events/<event_id>")
def get_event(event_id: str) -> Response:
    for event in account().events:
        if event["id"] == event_id:
            return hal(serialize.event(event, base()))
    raise ApiError(404, f"Event {event_id} not found")
