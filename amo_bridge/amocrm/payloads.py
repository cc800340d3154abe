"""Small builders for write payloads, so callers do not hand-spell amoCRM's JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from amo_bridge.amocrm.reads import unix

#: Task types built into every account (AMOCRM.md "Task"); others are custom ids.
TASK_CALL = 1
TASK_MEETING = 2


def _drop_none(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if v is not None}


def lead_payload(
    *,
    request_id: str,
    name: str,
    price: int | None = None,
    pipeline_id: int | None = None,
    status_id: int | None = None,
    responsible_user_id: int | None = None,
    custom_fields_values: Sequence[Mapping[str, Any]] | None = None,
    tags: Sequence[str] = (),
    contact_ids: Sequence[int] = (),
    id: int | None = None,
) -> dict[str, Any]:
    """A lead for create (``id`` None) or update. Price is in whole account currency units."""
    embedded: dict[str, Any] = {}
    if tags:
        embedded["tags"] = [{"name": t} for t in tags]
    if contact_ids:
        embedded["contacts"] = [{"id": int(c)} for c in contact_ids]
    return _drop_none({
        "id": id, "request_id": request_id, "name": name, "price": price,
        "pipeline_id": pipeline_id, "status_id": status_id,
        "responsible_user_id": responsible_user_id,
        "custom_fields_values": list(custom_fields_values) if custom_fields_values else None,
        "_embedded": embedded or None,
    })


def contact_payload(
    *,
    request_id: str,
    name: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    responsible_user_id: int | None = None,
    phones: Sequence[str | tuple[str, str]] = (),
    emails: Sequence[str | tuple[str, str]] = (),
    custom_fields_values: Sequence[Mapping[str, Any]] = (),
    id: int | None = None,
) -> dict[str, Any]:
    """A contact; phones/emails go to the multitext fields coded PHONE/EMAIL (enum WORK)."""
    values = list(custom_fields_values)
    for code, entries in (("PHONE", phones), ("EMAIL", emails)):
        if entries:
            values.append({"field_code": code, "values": [
                {"value": e, "enum_code": "WORK"} if isinstance(e, str)
                else {"value": e[0], "enum_code": e[1]} for e in entries]})
    return _drop_none({
        "id": id, "request_id": request_id, "name": name, "first_name": first_name,
        "last_name": last_name, "responsible_user_id": responsible_user_id,
        "custom_fields_values": values or None,
    })


def task_payload(
    *,
    request_id: str,
    text: str,
    complete_till: datetime | int,
    entity_type: str | None = None,
    entity_id: int | None = None,
    responsible_user_id: int | None = None,
    task_type_id: int = TASK_CALL,
) -> dict[str, Any]:
    """A task; ``complete_till`` is required by amoCRM (unix seconds)."""
    return _drop_none({
        "request_id": request_id, "text": text, "complete_till": unix(complete_till),
        "entity_type": entity_type, "entity_id": entity_id,
        "responsible_user_id": responsible_user_id, "task_type_id": task_type_id,
    })


def note_payload(*, request_id: str, entity_id: int, text: str,
                 note_type: str = "common") -> dict[str, Any]:
    return {"request_id": request_id, "entity_id": int(entity_id), "note_type": note_type,
            "params": {"text": text}}
