"""Writes to notes and entity links (same batch rules: ≤ 50, ``request_id`` echoed).

Notes: ``[{entity_id, note_type: "common", params: {text}}]`` (AMOCRM.md "API v4"); links:
``POST /api/v4/leads/{id}/link`` with contacts, companies or catalog elements.
"""

from __future__ import annotations

from typing import Any

from . import webhook_payload as v2
from .errors import INVALID_TYPE, NOT_SUPPORTED, Validation
from .model import Operation
from .records import check_user, request_id
from .records_tasks import SINGULAR, entity_exists

Record = dict[str, Any]
NOTE_EVENTS = {
    "common": "common_note_added",
    "call_in": "incoming_call",
    "call_out": "outgoing_call",
    "sms_in": "incoming_sms",
    "sms_out": "outgoing_sms",
    "service_message": "service_note_added",
    "extended_service_message": "service_note_added",
    "message_cashier": "common_note_added",
    "geolocation": "geo_note_added",
    "attachment": "attachment_note_added",
}


def create_notes(op: Operation, entity_type: str, items: list[Record]) -> list[Record]:
    check = Validation()
    for index, item in enumerate(items):
        rid = request_id(item, index)
        if not entity_exists(op.account, entity_type, item.get("entity_id")):
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
            "id": op.account.new_id("notes"),
            "entity_id": item["entity_id"],
            "entity_type": entity_type,
            "created_by": item.get("created_by", op.actor.user_id),
            "updated_by": op.actor.user_id,
            "created_at": item.get("created_at", op.ts),
            "updated_at": op.ts,
            "responsible_user_id": item.get("responsible_user_id", op.actor.user_id),
            "group_id": 0,
            "note_type": item["note_type"],
            "params": item.get("params") or {},
            "account_id": op.account.id,
            "is_deleted": False,
        }
        op.account.notes[note["id"]] = note
        op.event(
            NOTE_EVENTS[note["note_type"]],
            SINGULAR[entity_type],
            note["entity_id"],
            after=[{"note": {"id": note["id"]}}],
        )
        hook_key = "leads" if entity_type == "leads" else "contacts"
        data = v2.note(op.account, note)
        if entity_type == "companies":
            data["type"] = "company"
        op.hook(hook_key, "note", data)
        out.append(
            {
                "id": note["id"],
                "entity_id": note["entity_id"],
                "request_id": request_id(item, index),
            }
        )
    return out


def link_lead(op: Operation, lead: Record, items: list[Record]) -> list[Record]:
    """``POST /api/v4/leads/{id}/link``: contacts, companies, catalog elements."""
    account = op.account
    check = Validation()
    for index, item in enumerate(items):
        rid = request_id(item, index)
        kind, target = item.get("to_entity_type"), item.get("to_entity_id")
        store = {
            "contacts": account.contacts,
            "companies": account.companies,
            "catalog_elements": account.catalog_elements,
        }.get(kind)
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
            new["_contacts"] = [
                dict(c, is_main=(c["is_main"] and not main))
                for c in new["_contacts"]
                if c["id"] != target
            ]
            new["_contacts"].append({"id": target, "is_main": main})
        elif kind == "companies":
            new["_companies"] = [target]
        else:
            element = account.catalog_elements[target]
            meta.setdefault("catalog_id", element["catalog_id"])
            meta.setdefault("quantity", 1)
            new["_catalog_elements"] = [e for e in new["_catalog_elements"] if e["id"] != target]
            new["_catalog_elements"].append({"id": target, "metadata": meta})
        op.event(
            "entity_linked",
            "lead",
            lead["id"],
            after=[
                {
                    "link": {
                        "entity": {
                            "id": target,
                            "type": kind.rstrip("s") if kind != "companies" else "company",
                        }
                    }
                }
            ],
        )
        out.append(
            {
                "entity_id": lead["id"],
                "entity_type": "leads",
                "to_entity_id": target,
                "to_entity_type": kind,
                "metadata": meta or None,
            }
        )
    new.update(updated_at=op.ts, updated_by=op.actor.user_id)
    account.leads[lead["id"]] = new
    op.hook("leads", "update", v2.lead(account, new, op.actor))
    return out
