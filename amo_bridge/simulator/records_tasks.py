"""Writes to tasks, notes and entity links.

Task: ``complete_till`` (unix) is required, ``entity_type`` one of leads|contacts|companies|
customers (AMOCRM.md "API v4"). Completing a task records ``task_completed`` with empty
value arrays. Notes and links follow the same batch rules (≤ 50, ``request_id`` echoed).
"""

from __future__ import annotations

from typing import Any

from . import webhook_payload as v2
from .errors import INVALID_TYPE, NOT_BLANK, NOT_SUPPORTED, ApiError, Validation
from .records import check_ints, check_user, is_int, request_id
from .model import Account, Operation

Record = dict[str, Any]
ENTITY_TYPES = ("leads", "contacts", "companies", "customers")
SINGULAR = {"leads": "lead", "contacts": "contact", "companies": "company"}
NOTE_EVENTS = {
    "common": "common_note_added", "call_in": "incoming_call", "call_out": "outgoing_call",
    "sms_in": "incoming_sms", "sms_out": "outgoing_sms", "service_message": "service_note_added",
    "extended_service_message": "service_note_added", "message_cashier": "common_note_added",
    "geolocation": "geo_note_added", "attachment": "attachment_note_added",
}


def _entity_exists(account: Account, entity_type: str, entity_id: Any) -> bool:
    store = getattr(account, entity_type, None)
    return isinstance(store, dict) and entity_id in store and not store[entity_id]["is_deleted"]


def _prepare_task(op: Operation, item: Record, rid: str, check: Validation,
                  current: Record | None) -> Record:
    account = op.account
    check_ints(check, rid, item, ("complete_till", "responsible_user_id", "task_type_id",
                                  "entity_id", "duration", "created_by", "created_at"))
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
        elif not _entity_exists(account, item["entity_type"], item.get("entity_id")):
            check.add(rid, "entity_id", NOT_SUPPORTED)
    if "result" in item and not isinstance(item["result"], dict):
        check.add(rid, "result", INVALID_TYPE, type="object")
    new = dict(current) if current else {
        "id": 0, "created_by": op.actor.user_id, "updated_by": op.actor.user_id,
        "created_at": op.ts, "updated_at": op.ts, "responsible_user_id": op.actor.user_id,
        "group_id": 0, "entity_id": None, "entity_type": None, "duration": 0,
        "is_completed": False, "task_type_id": 1, "text": "", "result": [],
        "complete_till": None, "account_id": account.id,
    }
    for key in ("text", "complete_till", "responsible_user_id", "task_type_id", "entity_id",
                "entity_type", "duration", "is_completed", "result", "created_by",
                "created_at", "updated_at"):
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
                op.event("task_deadline_changed", "task", tid,
                         before=[{"task_deadline": {"timestamp": old["complete_till"]}}],
                         after=[{"task_deadline": {"timestamp": new["complete_till"]}}])
            if new["text"] != old["text"]:
                op.event("task_text_changed", "task", tid, before=[{"text": {"text": old["text"]}}],
                         after=[{"text": {"text": new["text"]}}])
            if new["responsible_user_id"] != old["responsible_user_id"]:
                op.event("entity_responsible_changed", "task", tid,
                         before=[{"responsible_user": {"id": old["responsible_user_id"]}}],
                         after=[{"responsible_user": {"id": new["responsible_user_id"]}}])
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
    open_ = [t["complete_till"] for t in account.tasks.values()
             if t["entity_type"] == task["entity_type"] and t["entity_id"] == task["entity_id"]
             and not t["is_completed"]]
    store[task["entity_id"]]["closest_task_at"] = min(open_) if open_ else None


def create_notes(op: Operation, entity_type: str, items: list[Record]) -> list[Record]:
    check = Validation()
    for index, item in enumerate(items):
        rid = request_id(item, index)
        if not _entity_exists(op.account, entity_type, item.get("entity_id")):
            check.add(rid, "entity_id", NOT_SUPPORTED)
        if item.get("note_type") not in NOTE_EVENTS:
            check.add(rid, "note_type", NOT_SUPPORTED)
        if not isinstance(item.get("params", {}), dict):
            check.add(rid, "params", INVALID_TYPE, type="object")
        check_user(op.account, check, rid, item)
    check.raise_if_any()
    out = []
    for index, item in enumerate(items):
        note = {
            "id": op.account.new_id("notes"), "entity_id": item["entity_id"],
            "entity_type": entity_type, "created_by": item.get("created_by", op.actor.user_id),
            "updated_by": op.actor.user_id, "created_at": item.get("created_at", op.ts),
            "updated_at": op.ts, "responsible_user_id": item.get("responsible_user_id",
                                                                 op.actor.user_id),
            "group_id": 0, "note_type": item["note_type"], "params": item.get("params") or {},
            "account_id": op.account.id, "is_deleted": False,
        }
        op.account.notes[note["id"]] = note
        op.event(NOTE_EVENTS[note["note_type"]], SINGULAR[entity_type], note["entity_id"],
                 after=[{"note": {"id": note["id"]}}])
        hook_key = "leads" if entity_type == "leads" else "contacts"
        data = v2.note(op.account, note)
        if entity_type == "companies":
            data["type"] = "company"
        op.hook(hook_key, "note", data)
        out.append({"id": note["id"], "entity_id": note["entity_id"],
                    "request_id": request_id(item, index)})
    return out


def link_lead(op: Operation, lead: Record, items: list[Record]) -> list[Record]:
    """``POST /api/v4/leads/{id}/link``: contacts, companies, catalog elements."""
    account = op.account
    check = Validation()
    for index, item in enumerate(items):
        rid = request_id(item, index)
        kind, target = item.get("to_entity_type"), item.get("to_entity_id")
        store = {"contacts": account.contacts, "companies": account.companies,
                 "catalog_elements": account.catalog_elements}.get(kind)
        if store is None:
            check.add(rid, "to_entity_type", NOT_SUPPORTED)
        elif target not in store:
            check.add(rid, "to_entity_id", NOT_SUPPORTED)
    check.raise_if_any()
    new = dict(lead)
    out = []
    for item in items:
        kind, target, meta = item["to_entity_type"], item["to_entity_id"], item.get("metadata")
        meta = dict(meta or {})
        if kind == "contacts":
            main = bool(meta.get("is_main", not new["_contacts"]))
            new["_contacts"] = [dict(c, is_main=(c["is_main"] and not main))
                                for c in new["_contacts"] if c["id"] != target]
            new["_contacts"].append({"id": target, "is_main": main})
        elif kind == "companies":
            new["_companies"] = [target]
        else:
            element = account.catalog_elements[target]
            meta.setdefault("catalog_id", element["catalog_id"])
            meta.setdefault("quantity", 1)
            new["_catalog_elements"] = [e for e in new["_catalog_elements"] if e["id"] != target]
            new["_catalog_elements"].append({"id": target, "metadata": meta})
        op.event("entity_linked", "lead", lead["id"], after=[{"link": {"entity": {
            "id": target, "type": kind.rstrip("s") if kind != "companies" else "company"}}}])
        out.append({"entity_id": lead["id"], "entity_type": "leads", "to_entity_id": target,
                    "to_entity_type": kind, "metadata": meta or None})
    new.update(updated_at=op.ts, updated_by=op.actor.user_id)
    account.leads[lead["id"]] = new
    op.hook("leads", "update", v2.lead(account, new, op.actor))
    return out


def find(account: Account, kind: str, entity_id: int) -> Record:
    record = getattr(account, kind).get(entity_id)
    if record is None or record.get("is_deleted"):
        raise ApiError(404, f"{kind[:-1].capitalize()} {entity_id} not found")
    return record
