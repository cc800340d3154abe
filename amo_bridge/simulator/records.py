"""Shared pieces of the write path: batch rules, validation helpers, tags, field events.

Each batch is validated whole first (a 400 with ``validation-errors`` changes nothing), then
applied inside one :class:`~amo_bridge.simulator.model.Operation`, which records one event per
change (AMOCRM.md "Events list") and queues the webhook changes. Entity writes live in
``records_leads``, ``records_people`` and ``records_tasks``.
"""

from __future__ import annotations

from typing import Any

from .errors import INVALID_TYPE, NOT_BLANK, NOT_SUPPORTED, ApiError, Validation
from .fields import field_value_text
from .model import Account, Operation

Record = dict[str, Any]
WON, LOST = 142, 143
MAX_BATCH = 50  # AMOCRM.md: batch writes take ≤ 50 items per request


def check_batch(items: Any, *, limit: int = MAX_BATCH, allow_object: bool = False) -> list[Record]:
    """AMOCRM.md: batch writes take an array of ≤ 50 objects (the control plane also takes
    a single object)."""
    if allow_object and isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApiError(400, "Request body must be an array of objects")
    if not items:
        raise ApiError(400, "Request body is empty")
    if len(items) > limit:
        raise ApiError(
            400,
            f"Too many entities in one request: {len(items)} > {limit}",
            validation_errors=[
                {
                    "request_id": "0",
                    "errors": [
                        {
                            "code": "TooMany",
                            "path": "",
                            "detail": f"This collection should contain {limit} elements or less.",
                        }
                    ],
                }
            ],
        )
    return items


def request_id(item: Record, index: int) -> str:
    """AMOCRM.md: each item may carry ``request_id``, echoed back; the ordinal if omitted."""
    return str(item.get("request_id", index))


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_ints(check: Validation, rid: str, item: Record, keys: tuple[str, ...]) -> None:
    for key in keys:
        if item.get(key) is not None and not is_int(item[key]):
            check.add(rid, key, INVALID_TYPE, type="int")


def check_user(account: Account, check: Validation, rid: str, item: Record) -> None:
    uid = item.get("responsible_user_id")
    if is_int(uid) and uid not in account.users:
        check.add(rid, "responsible_user_id", NOT_SUPPORTED)


def resolve_tags(
    account: Account, kind: str, raw: Any, check: Validation, rid: str, path: str
) -> list[int] | None:
    """``[{id}]`` or ``[{name}]`` → tag ids; unknown names are created as amoCRM does."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        check.add(rid, path, INVALID_TYPE, type="array")
        return None
    store = account.tags[kind]
    ids: list[int] = []
    for i, tag in enumerate(raw):
        tag = tag if isinstance(tag, dict) else {"name": tag}
        if tag.get("id") is not None:
            if tag["id"] not in store:
                check.add(rid, f"{path}.{i}.id", NOT_SUPPORTED)
                continue
            ids.append(int(tag["id"]))
        elif isinstance(tag.get("name"), str) and tag["name"].strip():
            found = next((t for t in store.values() if t["name"] == tag["name"]), None)
            if found is None:
                found = {"id": account.new_id("tags"), "name": tag["name"], "color": None}
                store[found["id"]] = found
            ids.append(found["id"])
        else:
            check.add(rid, f"{path}.{i}.name", NOT_BLANK)
    return list(dict.fromkeys(ids))


def tag_events(
    op: Operation, kind: str, entity_type: str, eid: int, old: list[int], new: list[int]
) -> None:
    names = op.account.tags[kind]
    for t in new:
        if t not in old:
            op.event(
                "entity_tag_added", entity_type, eid, after=[{"tag": {"name": names[t]["name"]}}]
            )
    for t in old:
        if t not in new:
            op.event(
                "entity_tag_deleted", entity_type, eid, before=[{"tag": {"name": names[t]["name"]}}]
            )


def field_events(op: Operation, entity_type: str, eid: int, changed: list[Any]) -> None:
    for field, old, new in changed:

        def shape(values: list[Record], f: Record = field) -> list[Record]:
            if not values:
                return []
            return [
                {
                    "custom_field_value": {
                        "field_id": f["id"],
                        "field_type": f["type"],
                        "enum_id": values[0].get("enum_id"),
                        "text": field_value_text(values),
                    }
                }
            ]

        op.event(
            "custom_field_value_changed", entity_type, eid, before=shape(old), after=shape(new)
        )


def resolve_status(
    account: Account, check: Validation, rid: str, item: Record, current: Record | None
) -> tuple[int, int] | None:
    """(pipeline_id, status_id) from an item; statuses are keyed by pair (AMOCRM.md)."""
    pid = item.get("pipeline_id", current["pipeline_id"] if current else None)
    sid = item.get("status_id")
    if pid is not None and (not is_int(pid) or pid not in account.pipelines):
        check.add(rid, "pipeline_id", NOT_SUPPORTED)
        return None
    pipeline = account.pipelines[pid] if pid is not None else account.main_pipeline()
    ids = [s["id"] for s in pipeline["statuses"]]
    if sid is None:
        if current is not None and pid == current["pipeline_id"]:
            return pipeline["id"], current["status_id"]
        # First working stage (not "unsorted", type 1) of the pipeline.
        sid = next(s["id"] for s in pipeline["statuses"] if s["type"] == 0)
    if not is_int(sid) or sid not in ids:
        check.add(rid, "status_id", NOT_SUPPORTED)
        return None
    return pipeline["id"], sid


def seed_entity(op: Operation, kind: str, item: Record) -> None:
    """Create one seeded entity with its given id and timestamps (see ``seed``)."""
    from . import records_leads, records_people, records_tasks

    item = dict(item)
    item.setdefault("updated_at", op.ts)
    if kind == "leads":
        item["_embedded"] = dict(item.get("_embedded") or {})
        if item.get("contacts"):
            item["_embedded"]["contacts"] = [
                {"id": c, "is_main": n == 0} for n, c in enumerate(item.pop("contacts"))
            ]
        if item.get("company_id"):
            item["_embedded"]["companies"] = [{"id": item.pop("company_id")}]
        if item.get("tags"):
            item["_embedded"]["tags"] = [{"name": t} for t in item.pop("tags")]
        records_leads.create_leads(op, [item], keep_ids=True)
    elif kind in ("contacts", "companies"):
        records_people.create(op, kind, [item], keep_ids=True)
    elif kind == "tasks":
        records_tasks.create_tasks(op, [item], keep_ids=True)
