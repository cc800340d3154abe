"""Writes to leads, as both the API and a user in amoCRM's UI make them.

A status is keyed by ``(pipeline_id, status_id)``; 142/143 close the lead (``closed_at``).
Every change records its event (``lead_added``, ``lead_status_changed``,
``entity_responsible_changed``, ``sale_field_changed``, ``custom_field_value_changed``, …) and
queues the old-format webhook actions (``add``, ``update``, ``status``, ``responsible``, …).
"""

from __future__ import annotations

from typing import Any

from . import webhook_payload as v2
from .errors import INVALID_TYPE, NOT_BLANK, NOT_SUPPORTED, Validation
from .fields import apply_values
from .model import Operation
from .records import (
    LOST,
    WON,
    check_ints,
    check_user,
    field_events,
    is_int,
    request_id,
    resolve_status,
    resolve_tags,
    tag_events,
)

Record = dict[str, Any]


def prepare_lead(
    op: Operation, item: Record, rid: str, check: Validation, current: Record | None
) -> Record:
    account = op.account
    if item.get("name") is not None and not isinstance(item["name"], str):
        check.add(rid, "name", INVALID_TYPE, type="string")
    check_ints(
        check,
        rid,
        item,
        (
            "price",
            "responsible_user_id",
            "loss_reason_id",
            "created_at",
            "updated_at",
            "closed_at",
            "created_by",
            "updated_by",
        ),
    )
    check_user(account, check, rid, item)
    if is_int(item.get("loss_reason_id")) and item["loss_reason_id"] not in account.loss_reasons:
        check.add(rid, "loss_reason_id", NOT_SUPPORTED)
    pair = resolve_status(account, check, rid, item, current)
    new = (
        dict(current)
        if current
        else {
            "id": 0,
            "name": "",
            "price": 0,
            "responsible_user_id": op.actor.user_id,
            "group_id": 0,
            "status_id": 0,
            "pipeline_id": 0,
            "loss_reason_id": None,
            "source_id": None,
            "created_by": op.actor.user_id,
            "updated_by": op.actor.user_id,
            "created_at": op.ts,
            "updated_at": op.ts,
            "closed_at": None,
            "closest_task_at": None,
            "is_deleted": False,
            "custom_fields_values": None,
            "score": None,
            "account_id": account.id,
            "labor_cost": None,
            "_tags": [],
            "_contacts": [],
            "_companies": [],
            "_catalog_elements": [],
        }
    )
    for key in (
        "name",
        "price",
        "responsible_user_id",
        "loss_reason_id",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
        "closed_at",
        "source_id",
    ):
        if key in item:
            new[key] = item[key] if key != "price" else (item[key] or 0)
    if pair:
        new["pipeline_id"], new["status_id"] = pair
    cfv, changed = apply_values(
        account.fields["leads"],
        new["custom_fields_values"],
        item.get("custom_fields_values"),
        account.tz,
        check,
        rid,
    )
    new["custom_fields_values"] = cfv
    new["_changed_fields"] = changed
    embedded = item.get("_embedded") or {}
    tags = resolve_tags(account, "leads", embedded.get("tags"), check, rid, "_embedded.tags")
    if tags is not None:
        new["_tags"] = tags
    add = resolve_tags(account, "leads", item.get("tags_to_add"), check, rid, "tags_to_add")
    drop = resolve_tags(account, "leads", item.get("tags_to_delete"), check, rid, "tags_to_delete")
    new["_tags"] = [t for t in new["_tags"] + (add or []) if t not in (drop or [])]
    new["_tags"] = list(dict.fromkeys(new["_tags"]))
    contacts = embedded.get("contacts")
    if isinstance(contacts, list):
        links = []
        for i, c in enumerate(contacts):
            if not isinstance(c, dict) or c.get("id") not in account.contacts:
                check.add(rid, f"_embedded.contacts.{i}.id", NOT_SUPPORTED)
                continue
            links.append({"id": c["id"], "is_main": bool(c.get("is_main", i == 0))})
        if current is None or links:
            new["_contacts"] = _merge_contacts(new["_contacts"], links)
    companies = embedded.get("companies")
    if isinstance(companies, list):
        for i, c in enumerate(companies):
            if not isinstance(c, dict) or c.get("id") not in account.companies:
                check.add(rid, f"_embedded.companies.{i}.id", NOT_SUPPORTED)
        new["_companies"] = [c["id"] for c in companies if isinstance(c, dict)][:1]
    return new


def _merge_contacts(current: list[Record], links: list[Record]) -> list[Record]:
    out = [dict(c) for c in current]
    for link in links:
        existing = next((c for c in out if c["id"] == link["id"]), None)
        if existing is None:
            out.append(dict(link))
        elif link["is_main"]:
            existing["is_main"] = True
    if any(c["is_main"] for c in links):
        main = next(c["id"] for c in links if c["is_main"])
        for c in out:
            c["is_main"] = c["id"] == main
    return out


def create_leads(op: Operation, items: list[Record], *, keep_ids: bool = False) -> list[Record]:
    check = Validation()
    prepared = []
    for index, item in enumerate(items):
        rid = request_id(item, index)
        prepared.append((rid, item, prepare_lead(op, item, rid, check, None)))
    check.raise_if_any()
    out = []
    for rid, item, lead in prepared:
        lead.pop("_changed_fields")
        lead["id"] = int(item["id"]) if keep_ids and item.get("id") else op.account.new_id("leads")
        if lead["status_id"] in (WON, LOST) and lead["closed_at"] is None:
            lead["closed_at"] = lead["updated_at"]
        op.account.leads[lead["id"]] = lead
        op.event(
            "lead_added",
            "lead",
            lead["id"],
            after=[{"lead_status": {"id": lead["status_id"], "pipeline_id": lead["pipeline_id"]}}],
        )
        op.hook("leads", "add", v2.lead(op.account, lead, op.actor))
        out.append({"id": lead["id"], "request_id": rid, "_lead": lead})
    return out


def update_leads(op: Operation, items: list[Record]) -> list[Record]:
    check = Validation()
    prepared = []
    for index, item in enumerate(items):
        rid = request_id(item, index)
        current = op.account.leads.get(item.get("id")) if is_int(item.get("id")) else None
        if current is None or current["is_deleted"]:
            check.add(rid, "id", NOT_SUPPORTED if item.get("id") is not None else NOT_BLANK)
            continue
        prepared.append((rid, current, prepare_lead(op, item, rid, check, current), item))
    check.raise_if_any()
    return [
        {
            "id": current["id"],
            "request_id": rid,
            "updated_at": commit_lead_update(op, current, new, explicit=item).get("updated_at"),
        }
        for rid, current, new, item in prepared
    ]


def commit_lead_update(op: Operation, old: Record, new: Record, *, explicit: Record) -> Record:
    changed_fields = new.pop("_changed_fields")
    lid = old["id"]
    status_moved = (old["status_id"], old["pipeline_id"]) != (new["status_id"], new["pipeline_id"])
    diff = [k for k in new if k not in ("updated_at", "updated_by") and new[k] != old.get(k)]
    if not diff and "updated_at" not in explicit:
        return old
    new["updated_by"] = explicit.get("updated_by", op.actor.user_id)
    new["updated_at"] = explicit.get("updated_at", op.ts)
    if status_moved:
        if new["status_id"] in (WON, LOST):
            new["closed_at"] = explicit.get("closed_at", op.ts)
        elif old["status_id"] in (WON, LOST):
            new["closed_at"] = None
        op.event(
            "lead_status_changed",
            "lead",
            lid,
            before=[{"lead_status": {"id": old["status_id"], "pipeline_id": old["pipeline_id"]}}],
            after=[{"lead_status": {"id": new["status_id"], "pipeline_id": new["pipeline_id"]}}],
        )
    if new["responsible_user_id"] != old["responsible_user_id"]:
        op.event(
            "entity_responsible_changed",
            "lead",
            lid,
            before=[{"responsible_user": {"id": old["responsible_user_id"]}}],
            after=[{"responsible_user": {"id": new["responsible_user_id"]}}],
        )
    if new["price"] != old["price"]:
        op.event(
            "sale_field_changed",
            "lead",
            lid,
            before=[{"sale_field_value": {"sale": old["price"]}}],
            after=[{"sale_field_value": {"sale": new["price"]}}],
        )
    if new["name"] != old["name"]:
        op.event(
            "name_field_changed",
            "lead",
            lid,
            before=[{"name_field_value": {"name": old["name"]}}],
            after=[{"name_field_value": {"name": new["name"]}}],
        )
    field_events(op, "lead", lid, changed_fields)
    tag_events(op, "leads", "lead", lid, old["_tags"], new["_tags"])
    for c in new["_contacts"]:
        if all(o["id"] != c["id"] for o in old["_contacts"]):
            op.event(
                "entity_linked",
                "lead",
                lid,
                after=[{"link": {"entity": {"id": c["id"], "type": "contact"}}}],
            )
    op.account.leads[lid] = new
    op.hook("leads", "update", v2.lead(op.account, new, op.actor))
    if status_moved:
        op.hook(
            "leads",
            "status",
            v2.lead(
                op.account,
                new,
                op.actor,
                old_status_id=old["status_id"],
                old_pipeline_id=old["pipeline_id"]
                if old["pipeline_id"] != new["pipeline_id"]
                else None,
            ),
        )
    if new["responsible_user_id"] != old["responsible_user_id"]:
        op.hook("leads", "responsible", v2.lead(op.account, new, op.actor))
    return new


def delete_lead(op: Operation, lead: Record) -> None:
    lead.update(is_deleted=True, updated_at=op.ts, updated_by=op.actor.user_id)
    op.event("lead_deleted", "lead", lead["id"])  # both arrays empty (AMOCRM.md)
    op.hook("leads", "delete", v2.lead_deleted(lead))


def restore_lead(op: Operation, lead: Record) -> None:
    lead.update(is_deleted=False, updated_at=op.ts, updated_by=op.actor.user_id)
    op.event("lead_restored", "lead", lead["id"])
    op.hook("leads", "restore", v2.lead(op.account, lead, op.actor))
