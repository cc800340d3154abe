"""v4 endpoints for leads: list/get/add/update, complex add, links (AMOCRM.md "API v4")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from . import records, records_leads, records_notes, records_people, records_tasks, serialize
from .context import account, actor, base, body, simulator
from .errors import NOT_SUPPORTED, ApiError, Validation, hal
from .paging import in_range, int_list, order, page_response, query, with_set

bp = Blueprint("amocrm_leads", __name__)
Record = dict[str, Any]


def _filter_leads(items: list[Record], f: Record) -> list[Record]:
    if not isinstance(f, dict):
        return items
    ids = set(int_list(f.get("id")))
    pipelines = set(int_list(f.get("pipeline_id")))
    users = set(int_list(f.get("responsible_user_id")))
    statuses = f.get("statuses")
    pairs = set()
    if isinstance(statuses, dict | list):
        for s in statuses.values() if isinstance(statuses, dict) else statuses:
            if isinstance(s, dict):
                pairs.add((int(s.get("pipeline_id", 0)), int(s.get("status_id", 0))))
    out = []
    for lead in items:
        if ids and lead["id"] not in ids:
            continue
        if pipelines and lead["pipeline_id"] not in pipelines:
            continue
        if users and lead["responsible_user_id"] not in users:
            continue
        if pairs and (lead["pipeline_id"], lead["status_id"]) not in pairs:
            continue
        if not all(
            in_range(lead.get(k), f.get(k))
            for k in ("updated_at", "created_at", "closed_at", "price")
        ):
            continue
        if isinstance(f.get("name"), str) and f["name"] != lead["name"]:
            continue
        out.append(lead)
    return out


def _matches_query(lead: Record, text: str) -> bool:
    text = text.lower()
    if text in lead["name"].lower() or text == str(lead["id"]):
        return True
    return any(
        text in str(v.get("value", "")).lower()
        for cf in lead["custom_fields_values"] or []
        for v in cf["values"]
    )


@bp.get("/api/v4/leads")
def list_leads() -> Response:
    acc, q, with_ = account(), query(), with_set()
    items = [lead for lead in acc.leads.values() if not lead["is_deleted"]]
    items = _filter_leads(items, q.get("filter", {}))
    if isinstance(q.get("query"), str) and q["query"]:
        items = [lead for lead in items if _matches_query(lead, q["query"])]
    items = order(items, q.get("order"), ("id", "updated_at", "created_at"))
    return page_response("leads", items, lambda r: serialize.lead(acc, r, base(), with_))


@bp.get("/api/v4/leads/<int:lead_id>")
def get_lead(lead_id: int) -> Response:
    lead = records_tasks.find(account(), "leads", lead_id)
    return hal(serialize.lead(account(), lead, base(), with_set()))


def _write_answer(key: str, rows: list[Record]) -> Response:
    for row in rows:
        row.pop("_lead", None)
        row.pop("_record", None)
        row["_links"] = serialize.link(f"{base()}/api/v4/{key}/{row['id']}")
    return hal({"_links": serialize.link(f"{base()}/api/v4/{key}"), "_embedded": {key: rows}})


@bp.post("/api/v4/leads")
def add_leads() -> Response:
    items = records.check_batch(body())
    with simulator().operation(account(), actor()) as op:
        rows = records_leads.create_leads(op, items)
    return _write_answer("leads", rows)


@bp.patch("/api/v4/leads")
def update_leads() -> Response:
    items = records.check_batch(body())
    with simulator().operation(account(), actor()) as op:
        rows = records_leads.update_leads(op, items)
    return _write_answer("leads", rows)


@bp.patch("/api/v4/leads/<int:lead_id>")
def update_lead(lead_id: int) -> Response:
    item = body()
    if not isinstance(item, dict):
        raise ApiError(400, "Request body must be an object")
    records_tasks.find(account(), "leads", lead_id)
    with simulator().operation(account(), actor()) as op:
        row = records_leads.update_leads(op, [{**item, "id": lead_id}])[0]
    return hal(
        {
            "id": lead_id,
            "updated_at": row["updated_at"],
            "_links": serialize.link(f"{base()}/api/v4/leads/{lead_id}"),
        }
    )


@bp.post("/api/v4/leads/complex")
def add_complex() -> Response:
    """≤ 50 leads, each with ≤ 1 contact and ≤ 1 company; answer is a plain array."""
    items = records.check_batch(body())
    acc = account()
    check = Validation()
    for index, item in enumerate(items):
        rid = records.request_id(item, index)
        embedded = item.get("_embedded") or {}
        for key in ("contacts", "companies"):
            if len(embedded.get(key) or []) > 1:
                check.add(rid, f"_embedded.{key}", NOT_SUPPORTED)
    check.raise_if_any()
    out = []
    with simulator().operation(acc, actor()) as op:
        for index, item in enumerate(items):
            rid = records.request_id(item, index)
            embedded = dict(item.get("_embedded") or {})
            contact = (embedded.pop("contacts", None) or [None])[0]
            company = (embedded.pop("companies", None) or [None])[0]
            lead_item = {**item, "_embedded": embedded, "request_id": rid}
            records_leads.prepare_lead(op, lead_item, rid, check, None)  # validate before any write
            check.raise_if_any()
            company_id = contact_id = None
            if company is not None:
                company_id = records_people.create(op, "companies", [company])[0]["id"]
                embedded["companies"] = [{"id": company_id}]
            if contact is not None:
                if company_id:
                    contact = {**contact, "_embedded": {"companies": [{"id": company_id}]}}
                contact_id = records_people.create(op, "contacts", [contact])[0]["id"]
                embedded["contacts"] = [{"id": contact_id, "is_main": True}]
            lead_id = records_leads.create_leads(op, [lead_item])[0]["id"]
            out.append(
                {
                    "id": lead_id,
                    "contact_id": contact_id,
                    "company_id": company_id,
                    "request_id": [rid],
                    "merged": False,
                }
            )
    return hal(out)


@bp.post("/api/v4/leads/<int:lead_id>/link")
def link_lead(lead_id: int) -> Response:
    lead = records_tasks.find(account(), "leads", lead_id)
    items = records.check_batch(body())
    with simulator().operation(account(), actor()) as op:
        links = records_notes.link_lead(op, lead, items)
    return hal(
        {
            "_links": serialize.link(f"{base()}/api/v4/leads/{lead_id}/link"),
            "_embedded": {"links": links},
        }
    )


@bp.get("/api/v4/leads/pipelines")
def list_pipelines() -> Response:
    items = sorted(account().pipelines.values(), key=lambda p: (p["sort"], p["id"]))
    return hal(
        {
            "_total_items": len(items),
            "_links": serialize.link(f"{base()}/api/v4/leads/pipelines"),
            "_embedded": {"pipelines": [serialize.pipeline(p, base()) for p in items]},
        }
    )


@bp.get("/api/v4/leads/pipelines/<int:pipeline_id>")
def get_pipeline(pipeline_id: int) -> Response:
    pipeline = account().pipelines.get(pipeline_id)
    if pipeline is None:
        raise ApiError(404, f"Pipeline {pipeline_id} not found")
    return hal(serialize.pipeline(pipeline, base()))


@bp.get("/api/v4/leads/pipelines/<int:pipeline_id>/statuses")
def list_statuses(pipeline_id: int) -> Response:
    pipeline = account().pipelines.get(pipeline_id)
    if pipeline is None:
        raise ApiError(404, f"Pipeline {pipeline_id} not found")
    statuses = [serialize.status(s, pipeline_id, base()) for s in pipeline["statuses"]]
    return hal({"_total_items": len(statuses), "_embedded": {"statuses": statuses}})


@bp.get("/api/v4/leads/loss_reasons")
def list_loss_reasons() -> Response:
    items = sorted(account().loss_reasons.values(), key=lambda r: (r["sort"], r["id"]))
    return page_response("loss_reasons", items, lambda r: serialize.loss_reason(r, base()))
