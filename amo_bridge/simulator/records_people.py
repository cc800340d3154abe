"""Writes to contacts and companies (validated as a batch, one event per change).

Phones and e-mails are multitext custom field values with ``field_code`` PHONE/EMAIL and an
``enum_code`` (AMOCRM.md "API v4"). Webhooks for companies go under ``contacts`` with
``type=company`` (AMOCRM.md "Webhooks").
"""

from __future__ import annotations

from typing import Any

from . import webhook_payload as v2
from .errors import INVALID_TYPE, NOT_BLANK, NOT_SUPPORTED, Validation
from .fields import apply_values
from .model import Operation
from .records import (
    check_ints,
    check_user,
    field_events,
    is_int,
    request_id,
    resolve_tags,
    tag_events,
)

Record = dict[str, Any]
SINGULAR = {"contacts": "contact", "companies": "company"}


def _prepare(
    op: Operation, kind: str, item: Record, rid: str, check: Validation, current: Record | None
) -> Record:
    account = op.account
    for key in ("name", "first_name", "last_name"):
        if item.get(key) is not None and not isinstance(item[key], str):
            check.add(rid, key, INVALID_TYPE, type="string")
    check_ints(
        check,
        rid,
        item,
        ("responsible_user_id", "created_at", "updated_at", "created_by", "updated_by"),
    )
    check_user(account, check, rid, item)
    new = (
        dict(current)
        if current
        else {
            "id": 0,
            "name": "",
            "responsible_user_id": op.actor.user_id,
            "group_id": 0,
            "created_by": op.actor.user_id,
            "updated_by": op.actor.user_id,
            "created_at": op.ts,
            "updated_at": op.ts,
            "closest_task_at": None,
            "is_deleted": False,
            "custom_fields_values": None,
            "account_id": account.id,
            "_tags": [],
            "_companies": [],
        }
    )
    if kind == "contacts" and current is None:
        new.update(first_name="", last_name="", is_unsorted=False)
    keys = ["name", "responsible_user_id", "created_by", "updated_by", "created_at", "updated_at"]
    if kind == "contacts":
        keys += ["first_name", "last_name"]
    for key in keys:
        if key in item and item[key] is not None:
            new[key] = item[key]
    if kind == "contacts" and "name" not in item and ("first_name" in item or "last_name" in item):
        new["name"] = " ".join(p for p in (new["first_name"], new["last_name"]) if p)
    cfv, changed = apply_values(
        account.fields[kind],
        new["custom_fields_values"],
        item.get("custom_fields_values"),
        account.tz,
        check,
        rid,
    )
    new["custom_fields_values"] = cfv
    new["_changed_fields"] = changed
    embedded = item.get("_embedded") or {}
    tags = resolve_tags(account, kind, embedded.get("tags"), check, rid, "_embedded.tags")
    if tags is not None:
        new["_tags"] = tags
    if kind == "contacts" and isinstance(embedded.get("companies"), list):
        ids = []
        for i, c in enumerate(embedded["companies"]):
            if not isinstance(c, dict) or c.get("id") not in account.companies:
                check.add(rid, f"_embedded.companies.{i}.id", NOT_SUPPORTED)
            else:
                ids.append(c["id"])
        new["_companies"] = ids[:1]  # a contact belongs to at most one company
    if current is None and not new["name"]:
        new["name"] = ""
    return new


def create(
    op: Operation, kind: str, items: list[Record], *, keep_ids: bool = False
) -> list[Record]:
    check = Validation()
    prepared = []
    for index, item in enumerate(items):
        rid = request_id(item, index)
        prepared.append((rid, item, _prepare(op, kind, item, rid, check, None)))
    check.raise_if_any()
    store = getattr(op.account, kind)
    out = []
    for rid, item, record in prepared:
        record.pop("_changed_fields")
        record["id"] = int(item["id"]) if keep_ids and item.get("id") else op.account.new_id(kind)
        store[record["id"]] = record
        op.event(f"{SINGULAR[kind]}_added", SINGULAR[kind], record["id"])
        op.hook("contacts", "add", v2.contact(op.account, record, op.actor, kind=SINGULAR[kind]))
        out.append({"id": record["id"], "request_id": rid, "_record": record})
    return out


def update(op: Operation, kind: str, items: list[Record]) -> list[Record]:
    check = Validation()
    store = getattr(op.account, kind)
    prepared = []
    for index, item in enumerate(items):
        rid = request_id(item, index)
        current = store.get(item.get("id")) if is_int(item.get("id")) else None
        if current is None or current["is_deleted"]:
            check.add(rid, "id", NOT_SUPPORTED if item.get("id") is not None else NOT_BLANK)
            continue
        prepared.append((rid, item, current, _prepare(op, kind, item, rid, check, current)))
    check.raise_if_any()
    out = []
    for rid, item, old, new in prepared:
        new = commit_update(op, kind, old, new, explicit=item)
        out.append({"id": new["id"], "request_id": rid, "updated_at": new["updated_at"]})
    return out


def commit_update(
    op: Operation, kind: str, old: Record, new: Record, *, explicit: Record
) -> Record:
    changed_fields = new.pop("_changed_fields")
    entity = SINGULAR[kind]
    diff = [k for k in new if k not in ("updated_at", "updated_by") and new[k] != old.get(k)]
    if not diff and "updated_at" not in explicit:
        return old
    new["updated_by"] = explicit.get("updated_by", op.actor.user_id)
    new["updated_at"] = explicit.get("updated_at", op.ts)
    if new["responsible_user_id"] != old["responsible_user_id"]:
        op.event(
            "entity_responsible_changed",
            entity,
            old["id"],
            before=[{"responsible_user": {"id": old["responsible_user_id"]}}],
            after=[{"responsible_user": {"id": new["responsible_user_id"]}}],
        )
    if new["name"] != old["name"]:
        op.event(
            "name_field_changed",
            entity,
            old["id"],
            before=[{"name_field_value": {"name": old["name"]}}],
            after=[{"name_field_value": {"name": new["name"]}}],
        )
    field_events(op, entity, old["id"], changed_fields)
    tag_events(op, kind, entity, old["id"], old["_tags"], new["_tags"])
    getattr(op.account, kind)[old["id"]] = new
    op.hook("contacts", "update", v2.contact(op.account, new, op.actor, kind=entity))
    if new["responsible_user_id"] != old["responsible_user_id"]:
        op.hook("contacts", "responsible", v2.contact(op.account, new, op.actor, kind=entity))
    return new


def delete(op: Operation, kind: str, record: Record) -> None:
    entity = SINGULAR[kind]
    record.update(is_deleted=True, updated_at=op.ts, updated_by=op.actor.user_id)
    op.event(f"{entity}_deleted", entity, record["id"])
    op.hook("contacts", "delete", {"id": record["id"], "type": entity})


def restore(op: Operation, kind: str, record: Record) -> None:
    entity = SINGULAR[kind]
    record.update(is_deleted=False, updated_at=op.ts, updated_by=op.actor.user_id)
    op.event(f"{entity}_restored", entity, record["id"])
    op.hook("contacts", "restore", v2.contact(op.account, record, op.actor, kind=entity))
