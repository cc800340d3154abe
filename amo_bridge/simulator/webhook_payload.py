"""Webhook bodies in amoCRM's **old v2** form format (AMOCRM.md "Webhooks").

``application/x-www-form-urlencoded`` with PHP bracket keys and every value a string:
``leads[status][0][id]=…&…&account[subdomain]=…&account[id]=…&account[_links][self]=…``.
Custom fields are ``custom_fields[i][id|name|code]`` plus ``[values][j][value]`` and, for enum
fields, ``[values][j][enum]`` (the enum **id**); date fields are sent as a bare ``[values][j]``
(the other shape AMOCRM.md says to expect). Companies travel under ``contacts`` with
``type=company``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from .fields import DATE_TYPES
from .model import Account, Actor

Record = dict[str, Any]
ELEMENT_TYPES = {"contacts": 1, "leads": 2, "companies": 3, "customers": 12}


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """PHP ``http_build_query`` keys: nested dicts/lists become ``a[b][0]``; values strings."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return [(prefix, _text(value))]
    pairs: list[tuple[str, str]] = []
    for key, sub in items:
        pairs.extend(flatten(sub, f"{prefix}[{key}]" if prefix else str(key)))
    return pairs


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def encode(body: Record) -> str:
    return urlencode(flatten(body))


def custom_fields(values: list[Record] | None) -> list[Record]:
    out = []
    for cf in values or []:
        item: Record = {"id": cf["field_id"], "name": cf["field_name"]}
        if cf["field_type"] in DATE_TYPES:
            item["values"] = [v["value"] for v in cf["values"]]
        else:
            item["values"] = [
                {"value": v["value"], **({"enum": v["enum_id"]} if v.get("enum_id") else {})}
                for v in cf["values"]
            ]
        if cf.get("field_code"):
            item["code"] = cf["field_code"]
        out.append(item)
    return out


def _modified_by(actor: Actor) -> int:
    # AMOCRM.md: modified_user_id 0 = robot/API.
    return actor.user_id if actor.via == "ui" else 0


def lead(account: Account, record: Record, actor: Actor, **extra: Any) -> Record:
    data: Record = {
        "id": record["id"],
        "name": record["name"],
        "status_id": record["status_id"],
        "price": record["price"] or 0,
        "responsible_user_id": record["responsible_user_id"],
        "last_modified": record["updated_at"],
        "modified_user_id": _modified_by(actor),
        "created_user_id": record["created_by"],
        "date_create": record["created_at"],
        "pipeline_id": record["pipeline_id"],
        "account_id": account.id,
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }
    data.update({k: v for k, v in extra.items() if v is not None})
    tags = [account.tags["leads"][t] for t in record.get("_tags", []) if t in account.tags["leads"]]
    if tags:
        data["tags"] = [{"id": t["id"], "name": t["name"]} for t in tags]
    if record.get("custom_fields_values"):
        data["custom_fields"] = custom_fields(record["custom_fields_values"])
    return data


def lead_deleted(record: Record) -> Record:
    return {
        "id": record["id"],
        "status_id": record["status_id"],
        "pipeline_id": record["pipeline_id"],
    }


def contact(account: Account, record: Record, actor: Actor, *, kind: str) -> Record:
    """A contact or (``kind="company"``) a company, both under ``contacts[...]``."""
    data: Record = {
        "id": record["id"],
        "name": record["name"],
        "responsible_user_id": record["responsible_user_id"],
        "date_create": record["created_at"],
        "last_modified": record["updated_at"],
        "created_user_id": record["created_by"],
        "modified_user_id": _modified_by(actor),
        "account_id": account.id,
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "type": kind,
    }
    if kind == "contact" and record.get("_companies"):
        company = account.companies.get(record["_companies"][0])
        data["linked_company_id"] = record["_companies"][0]
        if company:
            data["company_name"] = company["name"]
    store = account.tags["contacts" if kind == "contact" else "companies"]
    tags = [store[t] for t in record.get("_tags", []) if t in store]
    if tags:
        data["tags"] = [{"id": t["id"], "name": t["name"]} for t in tags]
    if record.get("custom_fields_values"):
        data["custom_fields"] = custom_fields(record["custom_fields_values"])
    key = "companies" if kind == "company" else "contacts"
    leads = [
        lid
        for lid, lrec in account.leads.items()
        if not lrec["is_deleted"]
        and (
            record["id"] in lrec["_companies"]
            if key == "companies"
            else any(c["id"] == record["id"] for c in lrec["_contacts"])
        )
    ]
    if leads:
        data["linked_leads_id"] = {str(lid): str(lid) for lid in leads}
    return data


def task(account: Account, record: Record, actor: Actor, *, date_format: str) -> Record:
    def when(ts: int | None) -> Any:
        if ts is None or date_format == "unix":
            return ts
        return datetime.fromtimestamp(ts, account.tz).strftime("%Y-%m-%d %H:%M:%S")

    data: Record = {
        "id": record["id"],
        "element_id": record["entity_id"] or 0,
        "element_type": ELEMENT_TYPES.get(record["entity_type"] or "", 0),
        "task_type": record["task_type_id"],
        "text": record["text"],
        "status": 1 if record["is_completed"] else 0,
        "action_close": 1 if record["is_completed"] else 0,
        "responsible_user_id": record["responsible_user_id"],
        "created_user_id": record["created_by"],
        "modified_user_id": _modified_by(actor),
        "account_id": account.id,
        "complete_till": when(record["complete_till"]),
        "date_create": when(record["created_at"]),
        "last_modified": when(record["updated_at"]),
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }
    if record.get("result"):
        data["result"] = {"text": record["result"].get("text", "")}
    return data


def note(account: Account, record: Record) -> Record:
    return {
        "note": {
            "id": record["id"],
            "element_id": record["entity_id"],
            "element_type": ELEMENT_TYPES.get(record["entity_type"], 0),
            "note_type": 4 if record["note_type"] == "common" else record["note_type"],
            "text": (record.get("params") or {}).get("text", ""),
            "created_user_id": record["created_by"],
            "responsible_user_id": record["responsible_user_id"],
            "date_create": record["created_at"],
            "last_modified": record["updated_at"],
            "account_id": account.id,
        }
    }


def body(account: Account, base_url: str, grouped: dict[str, dict[str, list[Record]]]) -> str:
    """``grouped``: entity key → action → records, e.g. ``{"leads": {"status": [...]}}``."""
    return encode(
        {
            **grouped,
            "account": {
                "subdomain": account.subdomain,
                "id": account.id,
                "_links": {"self": base_url},
            },
        }
    )
