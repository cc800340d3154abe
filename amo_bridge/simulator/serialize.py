"""v4 (hal+json) representations of stored records: links and ``_embedded`` are added here.

Internal relation keys start with ``_`` (``_tags``, ``_contacts``, ``_companies``,
``_catalog_elements``) and never leave this module as such.
"""

from __future__ import annotations

from typing import Any

from .model import Account

Record = dict[str, Any]


def link(href: str) -> Record:
    return {"self": {"href": href}}


def _public(record: Record) -> Record:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def tags_of(account: Account, kind: str, record: Record) -> list[Record]:
    store = account.tags[kind]
    return [
        {"id": t, "name": store[t]["name"], "color": store[t].get("color")}
        for t in record.get("_tags", [])
        if t in store
    ]


def lead(account: Account, record: Record, base: str, with_: set[str]) -> Record:
    out = _public(record)
    embedded: Record = {
        "tags": tags_of(account, "leads", record),
        "companies": [
            {"id": c, "_links": link(f"{base}/api/v4/companies/{c}")}
            for c in record.get("_companies", [])
        ],
    }
    if "contacts" in with_:
        embedded["contacts"] = [
            {
                "id": c["id"],
                "is_main": c["is_main"],
                "_links": link(f"{base}/api/v4/contacts/{c['id']}"),
            }
            for c in record.get("_contacts", [])
        ]
    if "catalog_elements" in with_:
        embedded["catalog_elements"] = [
            {"id": e["id"], "metadata": dict(e["metadata"])}
            for e in record.get("_catalog_elements", [])
        ]
    if "loss_reason" in with_:
        reason = account.loss_reasons.get(record.get("loss_reason_id") or 0)
        embedded["loss_reason"] = [loss_reason(reason, base)] if reason else []
    if "source" in with_ and record.get("source_id"):
        embedded["source"] = {"id": record["source_id"], "name": "API"}
    out["_links"] = link(f"{base}/api/v4/leads/{record['id']}")
    out["_embedded"] = embedded
    return out


def contact(account: Account, record: Record, base: str, with_: set[str]) -> Record:
    out = _public(record)
    embedded: Record = {
        "tags": tags_of(account, "contacts", record),
        "companies": [
            {"id": c, "_links": link(f"{base}/api/v4/companies/{c}")}
            for c in record.get("_companies", [])
        ],
    }
    if "leads" in with_:
        embedded["leads"] = [
            {"id": lid, "_links": link(f"{base}/api/v4/leads/{lid}")}
            for lid, lrec in account.leads.items()
            if not lrec["is_deleted"] and any(c["id"] == record["id"] for c in lrec["_contacts"])
        ]
    out["_links"] = link(f"{base}/api/v4/contacts/{record['id']}")
    out["_embedded"] = embedded
    return out


def company(account: Account, record: Record, base: str, with_: set[str]) -> Record:
    out = _public(record)
    embedded: Record = {"tags": tags_of(account, "companies", record)}
    if "contacts" in with_:
        embedded["contacts"] = [
            {"id": cid, "_links": link(f"{base}/api/v4/contacts/{cid}")}
            for cid, c in account.contacts.items()
            if record["id"] in c.get("_companies", []) and not c["is_deleted"]
        ]
    if "leads" in with_:
        embedded["leads"] = [
            {"id": lid, "_links": link(f"{base}/api/v4/leads/{lid}")}
            for lid, lrec in account.leads.items()
            if record["id"] in lrec.get("_companies", []) and not lrec["is_deleted"]
        ]
    out["_links"] = link(f"{base}/api/v4/companies/{record['id']}")
    out["_embedded"] = embedded
    return out


def task(record: Record, base: str) -> Record:
    out = _public(record)
    out["_links"] = link(f"{base}/api/v4/tasks/{record['id']}")
    return out


def note(record: Record, base: str) -> Record:
    out = _public(record)
    out["_links"] = link(f"{base}/api/v4/{record['entity_type']}/notes/{record['id']}")
    return out


def loss_reason(record: Record, base: str) -> Record:
    out = dict(record)
    out["_links"] = link(f"{base}/api/v4/leads/loss_reasons/{record['id']}")
    return out


def pipeline(record: Record, base: str) -> Record:
    out = {k: v for k, v in record.items() if k != "statuses"}
    pid = record["id"]
    out["_links"] = link(f"{base}/api/v4/leads/pipelines/{pid}")
    out["_embedded"] = {"statuses": [status(s, pid, base) for s in record["statuses"]]}
    return out


def status(record: Record, pipeline_id: int, base: str) -> Record:
    out = dict(record)
    out["pipeline_id"] = pipeline_id
    out["_links"] = link(f"{base}/api/v4/leads/pipelines/{pipeline_id}/statuses/{record['id']}")
    return out


def field(record: Record, kind: str, base: str) -> Record:
    out = dict(record)
    out["_links"] = link(f"{base}/api/v4/{kind}/custom_fields/{record['id']}")
    return out


def user(record: Record, base: str) -> Record:
    out = dict(record)
    out["_links"] = link(f"{base}/api/v4/users/{record['id']}")
    return out


def event(record: Record, base: str) -> Record:
    out = dict(record)
    entity_path = {
        "lead": "leads",
        "contact": "contacts",
        "company": "companies",
        "task": "tasks",
    }.get(record["entity_type"], record["entity_type"])
    out["_links"] = link(f"{base}/api/v4/events/{record['id']}")
    out["_embedded"] = {
        "entity": {
            "id": record["entity_id"],
            "_links": link(f"{base}/api/v4/{entity_path}/{record['entity_id']}"),
        }
    }
    return out


def tag(record: Record) -> Record:
    return dict(record)
