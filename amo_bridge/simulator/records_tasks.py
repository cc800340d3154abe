"""Writes to tasks.

Task: ``complete_till`` (unix) is required, ``entity_type`` one of leads|contacts|companies|
customers (AMOCRM.md "API v4"). Completing a task records ``task_completed`` with empty
value arrays.
"""

from __future__ import annotations

from typing import Any

from . import webhook_payload as v2
from .errors import INVALID_TYPE, NOT_BLANK, NOT_SUPPORTED, ApiError, Validation
from .model import Account, Operation
from .records import check_ints, check_user, is_int, request_id

Record = dict[str, Any]
ENTITY_TYPES = ("leads", "contacts", "companies", "customers")
SINGULAR = {"leads": "lead", "contacts": "contact", "companies": "company"}


def entity_exists(account: Account, entity_type: str, entity_id: Any) -> bool:
    store = getattr(account, entity_type, None)
    return isinstance(store, dict) and entity_id in store and not store[entity_id]["is_deleted"]


def _prepare_task(
    op: Operation, item: Record, rid: str, check: Validation, current: Record | None
) -> Record:
    account = op.account
    check_ints(
        check,
        rid,
        item,
        (
            "complete_till",
            "responsible_user_id",
            "task_type_id",
            "entity_id",
            "duration",
            "created_by",
            "created_at",
        ),
    )
    check_user(account, check, rid, item)
    if current is None and item.get("complete_till") is None:
        check.add(rid, "complete_till", NOT_BLANK)
    if current is None and not item.get("text"):
        check.add(rid, "text", NOT_BLANK)
    if "text" in item and not isinstance(item["text"], str):
        check.add(rid, "text", INVALID_TYPE, type="string")
    if "is_completed" in item and not isinstance(item["is_completed"], bool):
        check.add(rid, "is_completed", INVALID_TYPE, type="bool")
    if item.get("entity_id") is not None or item.get("entity_type") is not None:
        if item.get("entity_type") not in ENTITY_TYPES:
            check.add(rid, "entity_type", NOT_SUPPORTED)
        elif not entity_exists(account, item["entity_type"], item.get("entity_id")):
            check.add(rid, "entity_id", NOT_SUPPORTED)
    if "result" in item and not isinstance(item["result"], dict):
        check.add(rid, "result", INVALID_TYPE, type="object")
    new = (
        dict(current)
        if current
        else {
            "id": 0,
            "created_by": op.actor.user_id,
            "updated_by": op.actor.user_id,
            "created_at": op.ts,
            "updated_at": op.ts,
            "responsible_user_id": op.actor.user_id,
            "group_id": 0,
            "entity_id": None,
            "entity_type": None,
            "duration": 0,
            "is_completed": False,
            "task_type_id": 1,
            "text": "",
            "result": [],
            "complete_till": None,
            "account_id": account.id,
        }
    )
    for key in (
        "text",
        "complete_till",
        "responsible_user_id",
        "task_type_id",
        "entity_id",
        "entity_type",
        "duration",
        "is_completed",
        "result",
        "created_by",
        "created_at",
        "updated_at",
    ):
        if key in item:
            new[key] = item[key]
    return new


def create_tasks(op: Operation, items: list[Record], *, keep_ids: bool = False) -> list[Record]:
    check = Validation()
    prepared = [(request_id(item, i), item) for i, item in enumerate(items)]
    prepared = [(rid, item, _prepare_task(op, item, rid, check, None)) for rid, item in prepared]
    check.raise_if_any()
    out = []
    for rid, item, task in prepared:
        task["id"] = int(item["id"]) if keep_ids and item.get("id") else op.account.new_id("tasks")
        op.account.tasks[task["id"]] = task
        op.event("task_added", "task", task["id"])
        if task["is_completed"]:
            op.event("task_completed", "task", task["id"])
        op.hook("task", "add", _v2(op, task))
        _refresh_closest(op.account, task)
        out.append({"id": task["id"], "request_id": rid})
    return out


def update_tasks(op: Operation, items: list[Record]) -> list[Record]:
    check = Validation()
    prepared = []
    for index, item in enumerate(items):
        rid = request_id(item, index)
        current = op.account.tasks.get(item.get("id")) if is_int(item.get("id")) else None
        if current is None:
            check.add(rid, "id", NOT_SUPPORTED if item.get("id") is not None else NOT_BLANK)
            continue
        prepared.append((rid, current, _prepare_task(op, item, rid, check, current)))
    check.raise_if_any()
    out = []
    for rid, old, new in prepared:
        if new != old:
            new["updated_at"], new["updated_by"] = op.ts, op.actor.user_id
            tid = old["id"]
            if new["is_completed"] and not old["is_completed"]:
                op.event("task_completed", "task", tid)  # both arrays empty (AMOCRM.md)
            if new["complete_till"] != old["complete_till"]:
                op.event(
                    "task_deadline_changed",
                    "task",
                    tid,
                    before=[{"task_deadline": {"timestamp": old["complete_till"]}}],
                    after=[{"task_deadline": {"timestamp": new["complete_till"]}}],
                )
            if new["text"] != old["text"]:
                op.event(
                    "task_text_changed",
                    "task",
                    tid,
                    before=[{"text": {"text": old["text"]}}],
                    after=[{"text": {"text": new["text"]}}],
                )
            if new["responsible_user_id"] != old["responsible_user_id"]:
                op.event(
                    "entity_responsible_changed",
                    "task",
                    tid,
                    before=[{"responsible_user": {"id": old["responsible_user_id"]}}],
                    after=[{"responsible_user": {"id": new["responsible_user_id"]}}],
                )
            op.account.tasks[tid] = new
            op.hook("task", "update", _v2(op, new))
            _refresh_closest(op.account, new)
        out.append({"id": new["id"], "request_id": rid, "updated_at": new["updated_at"]})
    return out


def _v2(op: Operation, task: Record) -> Record:
    return v2.task(op.account, task, op.actor, date_format=op.sim.config.webhook_task_dates)


def _refresh_closest(account: Account, task: Record) -> None:
    """Keep ``closest_task_at`` of the task's entity: its earliest open deadline."""
    store = getattr(account, task["entity_type"] or "", None)
    if not isinstance(store, dict) or task["entity_id"] not in store:
        return
    open_ = [
        t["complete_till"]
        for t in account.tasks.values()
        if t["entity_type"] == task["entity_type"]
        and t["entity_id"] == task["entity_id"]
        and not t["is_completed"]
    ]
    store[task["entity_id"]]["closest_task_at"] = min(open_) if open_ else None


def find(account: Account, kind: str, entity_id: int) -> Record:
    record = getattr(account, kind).get(entity_id)
    if record is None or record.get("is_deleted"):
        raise ApiError(404, f"{kind[:-1].capitalize()} {entity_id} not found")
    return record
