"""The Digital Pipeline widget action's JSON body, and helpers shared with the form parser.

A widget placed on a pipeline stage (``manifest.dp.webhook_url``) is called with::

    {"event": {"type": …, "type_code": …, "data": {"id", "element_type", "status_id",
     "pipeline_id"}, "time": …}, "action": {"settings": {"widget": {"settings": {…}}}},
     "subdomain": …, "account_id": …}

The short DP "send webhook" action is *not* this: it is a form body read by the normal parser.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from datetime import datetime, tzinfo
from enum import Enum
from typing import Any

from amo_bridge.amocrm import webhook_fields as wf
from amo_bridge.amocrm.webhook_types import (
    ELEMENT_TYPES,
    Action,
    DigitalPipelineFields,
    Entity,
    ParsedWebhook,
    WebhookEvent,
    WebhookParseError,
)


def parse_dp_json(text: str, zone: tzinfo) -> ParsedWebhook:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise WebhookParseError(f"body is not valid JSON: {error}", code="bad_json") from None
    if not isinstance(document, dict):
        raise WebhookParseError("JSON body is not an object", code="bad_json")
    event = document.get("event")
    data = event.get("data") if isinstance(event, dict) else None
    if not isinstance(event, dict) or not isinstance(data, dict):
        raise WebhookParseError(
            "JSON body is not a Digital Pipeline widget event (no event.data)",
            code="not_dp_event",
        )
    subdomain = wf.to_str(document.get("subdomain")) or None
    if document.get("account_id") in (None, "") and not subdomain:
        raise WebhookParseError("no account_id or subdomain in the JSON body", code="no_account")
    element_type = wf.to_int(data.get("element_type"))
    # A DP action without element_type can only be on a lead: DP lives in lead pipelines.
    entity = Entity.LEAD if element_type is None else ELEMENT_TYPES.get(element_type)
    payload = DigitalPipelineFields(
        event_type=_text(event.get("type")),
        type_code=_text(event.get("type_code")),
        element_type=element_type,
        status_id=wf.to_int(data.get("status_id")),
        pipeline_id=wf.to_int(data.get("pipeline_id")),
        time=wf.to_datetime(event.get("time"), zone),
        widget_settings=_widget_settings(document.get("action")),
    )
    dp_event = WebhookEvent(
        entity=entity or f"element_type_{element_type}",
        action=Action.DP,
        entity_id=wf.to_int(data.get("id")),
        payload=payload,
        raw=document,
    )
    return ParsedWebhook(
        account_id=read_account_id(document.get("account_id"), "account_id"),
        subdomain=subdomain,
        events=(dp_event,),
        source="json",
    )


def read_account_id(value: Any, name: str) -> int | None:
    """Absent → ``None``; present but not a positive integer → :class:`WebhookParseError`."""
    if value in (None, ""):
        return None
    number = positive(wf.to_int(value))
    if number is None:
        raise WebhookParseError(f"{name} is not a positive number: {value!r}", code="bad_account")
    return number


def positive(number: int | None) -> int | None:
    return number if number is not None and number > 0 else None


def jsonable(value: Any) -> Any:
    """Payload dataclasses → plain JSON types; datetimes as ISO 8601 with ``+00:00``."""
    if is_dataclass(value) and not isinstance(value, type):
        return {item.name: jsonable(getattr(value, item.name)) for item in fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(name): jsonable(item) for name, item in value.items()}
    return value


def _widget_settings(action: Any) -> dict[str, Any]:
    node = action
    for name in ("settings", "widget", "settings"):
        node = node.get(name) if isinstance(node, dict) else None
    return dict(node) if isinstance(node, dict) else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
