"""v4 endpoints for contacts and companies: list/get/add/update (AMOCRM.md "API v4")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from . import records, records_people, records_tasks, serialize
from .context import account, actor, base, body, simulator
from .errors import ApiError, hal
from .paging import in_range, int_list, order, page_response, query, with_set

bp = Blueprint("amocrm_contacts", __name__)
Record = dict[str, Any]
RENDER = {"contacts": serialize.contact, "companies": serialize.company}


def _matches(record: Record, text: str) -> bool:
    """amoCRM's ``query`` searches names and field values (phones match by digits)."""
    text = text.lower()
    digits = "".join(ch for ch in text if ch.isdigit())
    if text in record["name"].lower():
        return True
    for cf in record["custom_fields_values"] or []:
        for v in cf["values"]:
            value = str(v.get("value", "")).lower()
            if text in value:
                return True
            if len(digits) >= 5 and digits[-10:] in "".join(ch for ch in value if ch.isdigit()):
                return True
    return False


def _list(kind: str) -> Response:
    acc, q, with_ = account(), query(), with_set()
    items = [r for r in getattr(acc, kind).values() if not r["is_deleted"]]
    f = q.get("filter", {}) if isinstance(q.get("filter"), dict) else {}
    ids = set(int_list(f.get("id")))
    users = set(int_list(f.get("responsible_user_id")))
    items = [
        r
        for r in items
        if (not ids or r["id"] in ids)
        and (not users or r["responsible_user_id"] in users)
        and all(in_range(r.get(k), f.get(k)) for k in ("updated_at", "created_at"))
        and (not isinstance(f.get("name"), str) or f["name"] == r["name"])
    ]
    if isinstance(q.get("query"), str) and q["query"]:
        items = [r for r in items if _matches(r, q["query"])]
    items = order(items, q.get("order"), ("id", "updated_at", "created_at"))
    return page_response(kind, items, lambda r: RENDER[kind](acc, r, base(), with_))


def _get(kind: str, entity_id: int) -> Response:
    record = records_tasks.find(account(), kind, entity_id)
    return hal(RENDER[kind](account(), record, base(), with_set()))


def _answer(kind: str, rows: list[Record]) -> Response:
    for row in rows:
        row.pop("_record", None)
        row["_links"] = serialize.link(f"{base()}/api/v4/{kind}/{row['id']}")
    return hal({"_links": serialize.link(f"{base()}/api/v4/{kind}"), "_embedded": {kind: rows}})


def _add(kind: str) -> Response:
    items = records.check_batch(body())
    with simulator().operation(account(), actor()) as op:
        rows = records_people.create(op, kind, items)
    return _answer(kind, rows)


def _update(kind: str) -> Response:
    items = records.check_batch(body())
    with simulator().operation(account(), actor()) as op:
        rows = records_people.update(op, kind, items)
    return _answer(kind, rows)


def _update_one(kind: str, entity_id: int) -> Response:
    item = body()
    if not isinstance(item, dict):
        raise ApiError(400, "Request body must be an object")
    records_tasks.find(account(), kind, entity_id)
    with simulator().operation(account(), actor()) as op:
        row = records_people.update(op, kind, [{**item, "id": entity_id}])[0]
    return hal(
        {
            "id": entity_id,
            "updated_at": row["updated_at"],
            "_links": serialize.link(f"{base()}/api/v4/{kind}/{entity_id}"),
        }
    )


for _kind in ("contacts", "companies"):
    bp.add_url_rule(f"/api/v4/{_kind}", f"list_{_kind}", lambda k=_kind: _list(k), methods=["GET"])
    bp.add_url_rule(f"/api/v4/{_kind}", f"add_{_kind}", lambda k=_kind: _add(k), methods=["POST"])
    bp.add_url_rule(
        f"/api/v4/{_kind}", f"update_{_kind}", lambda k=_kind: _update(k), methods=["PATCH"]
    )
    bp.add_url_rule(
        f"/api/v4/{_kind}/<int:entity_id>",
        f"get_{_kind}",
        lambda entity_id, k=_kind: _get(k, entity_id),
        methods=["GET"],
    )
    bp.add_url_rule(
        f"/api/v4/{_kind}/<int:entity_id>",
        f"update_one_{_kind}",
        lambda entity_id, k=_kind: _update_one(k, entity_id),
        methods=["PATCH"],
    )
