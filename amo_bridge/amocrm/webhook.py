"""amoCRM webhook bodies → typed events (AMOCRM.md "Webhooks").

Two wire formats arrive at the bridge's doors:

- account webhooks and the Digital Pipeline "send webhook" action: ``application/x-www-form-
  urlencoded`` with PHP bracket keys in the old API v2 shape, all values strings, several
  entities and actions per body (``leads[status][0][id]=…&account[id]=…``);
- the Digital Pipeline *widget* action: a JSON object ``{event:{type, type_code, data:{id,
  element_type, status_id, pipeline_id}, time}, action:{settings:{widget:{settings}}},
  subdomain, account_id}``.

Content types lie, so the body decides: one starting with ``{`` is JSON, anything else a form.
Bodies carry no signature: the door checks the URL secret and :func:`account_id_of`, and the
mirror re-reads entities through the API instead of trusting these values.

Task (and note) dates may be ``YYYY-MM-DD HH:MM:SS`` strings without an offset; they are read in
the ``timezone`` passed to :func:`parse_webhook` (the account's), or in UTC when none is given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from amo_bridge.amocrm import webhook_fields as wf
from amo_bridge.amocrm.webhook_dispatch import (
    EVENT_KINDS,
    IGNORED_EVENTS,
    Classification,
    Disposition,
    EventKind,
    classify_event,
)
from amo_bridge.amocrm.webhook_dp import jsonable, parse_dp_json, positive, read_account_id
from amo_bridge.amocrm.webhook_php import FormDecodeError, decode_pairs, split_pairs
from amo_bridge.amocrm.webhook_types import (
    Action,
    ContactFields,
    CustomField,
    CustomFieldValue,
    DigitalPipelineFields,
    Entity,
    LeadFields,
    NoteFields,
    ParsedWebhook,
    Tag,
    TaskFields,
    UnsortedFields,
    WebhookEvent,
    WebhookParseError,
)

__all__ = [
    "EVENT_KINDS",
    "IGNORED_EVENTS",
    "MAX_BODY_BYTES",
    "Action",
    "Classification",
    "ContactFields",
    "CustomField",
    "CustomFieldValue",
    "DigitalPipelineFields",
    "Disposition",
    "Entity",
    "EventKind",
    "LeadFields",
    "NoteFields",
    "ParsedWebhook",
    "Tag",
    "TaskFields",
    "UnsortedFields",
    "WebhookEvent",
    "WebhookParseError",
    "account_id_of",
    "classify_event",
    "parse_webhook",
    "to_json_lines",
]

#: Real hooks are a few KB (a bulk change of hundreds of leads: hundreds of KB). The default
#: equals the door's ``WEBHOOK_MAX_BODY_BYTES`` default; callers pass the setting's value.
MAX_BODY_BYTES = 16 * 1024 * 1024

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: ``account[id]=N`` as a form field: the match must also start the body or follow an ``&``
#: (checked beside the regex: a pattern that opens with a literal is searched for by it, ten
#: times faster than one that opens with ``(?:^|&)`` and is tried at every offset).
_ACCOUNT_ID = re.compile(rb"account(?:\[|%5[bB])id(?:\]|%5[dD])=([0-9]{1,18})(?=&|$)")

# entity group in the body → how to read one item of it: (action, item, zone) → event parts
_Reader = Callable[[str, Mapping[str, Any], tzinfo], tuple[str, int | None, Any]]


def parse_webhook(
    body: bytes,
    content_type: str | None,
    *,
    timezone: str | None = None,
    max_bytes: int = MAX_BODY_BYTES,
) -> ParsedWebhook:
    """Parse one raw webhook body. Raises :class:`WebhookParseError` when it is not one.

    ``timezone`` (an IANA name, the account's) is only used to read task/note date strings;
    an unknown name is the caller's bug and raises ``ValueError``.
    """
    zone = _zone(timezone)
    text = _text_of(body, max_bytes)
    if text[:1] in ("{", "["):
        return parse_dp_json(text, zone)
    return _parse_form(text, zone, content_type)


def account_id_of(body: bytes, content_type: str | None) -> int | None:
    """``account[id]`` (or a DP widget's ``account_id``) without parsing the rest. Never raises.

    Cheap enough for the HTTP door: one regex pass over a form body. ``None`` when absent,
    unreadable, or given twice with different values (a forged or corrupt body).
    """
    try:
        data = (body.encode() if isinstance(body, str) else bytes(body)).strip()
        data = data.removeprefix(b"\xef\xbb\xbf")
        if data[:1] == b"{":
            if len(data) > MAX_BODY_BYTES:
                return None
            document = json.loads(data)
            if not isinstance(document, dict):
                return None
            return positive(wf.to_int(document.get("account_id")))
        found = {match.group(1) for match in _ACCOUNT_ID.finditer(data)
                 if match.start() == 0 or data[match.start() - 1] == 0x26}  # b"&"
        return positive(int(found.pop())) if len(found) == 1 else None
    except (ValueError, TypeError, RecursionError):
        return None


def to_json_lines(parsed: ParsedWebhook, *, include_raw: bool = False) -> Iterator[str]:
    """One JSON object per event: entity, action, entity_id, dispatch verdict, typed fields."""
    for event in parsed.events:
        verdict = classify_event(event)
        record: dict[str, Any] = {
            "account_id": parsed.account_id,
            "subdomain": parsed.subdomain,
            "entity": str(event.entity),
            "action": str(event.action),
            "entity_id": event.entity_id,
            "index": event.index,
            "disposition": str(verdict.disposition),
            "kind": str(verdict.kind) if verdict.kind else None,
        }
        if verdict.reason:
            record["reason"] = verdict.reason
        record["fields"] = jsonable(event.payload)
        if include_raw:
            record["raw"] = event.raw
        yield json.dumps(record, ensure_ascii=False)


def _parse_form(text: str, zone: tzinfo, content_type: str | None) -> ParsedWebhook:
    try:
        pairs = split_pairs(text)
        ids = {value for key, value in pairs if key == "account[id]"}
        tree = decode_pairs(pairs)
    except FormDecodeError as error:
        if error.truncated:
            raise WebhookParseError(f"body looks truncated: {error}", code="truncated") from None
        declared = f" (declared {content_type})" if content_type else ""
        raise WebhookParseError(f"not a form-encoded body{declared}: {error}") from None
    account = tree.get("account")
    if not isinstance(account, dict) or not (account.get("id") or account.get("subdomain")):
        raise WebhookParseError(
            "no account block (account[id], account[subdomain]): not an amoCRM webhook, "
            "or the body was cut before its end",
            code="no_account",
        )
    if len(ids) > 1:
        raise WebhookParseError(f"conflicting account[id] values {sorted(ids)}", code="bad_account")
    account_id = read_account_id(account.get("id"), "account[id]")
    links = account.get("_links")
    return ParsedWebhook(
        account_id=account_id,
        subdomain=wf.to_str(account.get("subdomain")) or None,
        events=tuple(_form_events(tree, zone)),
        source="form",
        account_link=wf.to_str(links.get("self")) if isinstance(links, dict) else None,
    )


def _form_events(tree: Mapping[str, Any], zone: tzinfo) -> Iterator[WebhookEvent]:
    """Every ``group[action][index][…]`` item, in body order. Scalars at any level are noise."""
    for group, actions in tree.items():
        if group == "account" or not isinstance(actions, dict):
            continue
        for action_name, items in actions.items():
            if not isinstance(items, dict):
                continue
            action = _known(Action, action_name)
            for index, item in items.items():
                if isinstance(item, dict):
                    yield _form_event(group, action, index, item, zone)


def _form_event(
    group: str, action: str, index: str, item: Mapping[str, Any], zone: tzinfo
) -> WebhookEvent:
    reader = _READERS.get(group)
    if reader is None:  # an entity group we do not model: keep it so it can be reported
        entity, entity_id, payload = group, wf.to_int(item.get("id")), None
    else:
        entity, entity_id, payload = reader(action, item, zone)
    return WebhookEvent(
        entity=entity,
        action=action,
        entity_id=entity_id,
        payload=payload,
        index=index,
        raw=dict(item),
    )


def _read_lead(action: str, item: Mapping[str, Any], zone: tzinfo) -> tuple[str, int | None, Any]:
    if action == Action.NOTE:
        note = wf.note_fields(item, zone)
        return Entity.LEAD, note.element_id, note
    return Entity.LEAD, wf.to_int(item.get("id")), wf.lead_fields(item)


def _read_contact(
    action: str, item: Mapping[str, Any], zone: tzinfo
) -> tuple[str, int | None, Any]:
    if action == Action.NOTE:
        note = wf.note_fields(item, zone)
        entity = Entity.COMPANY if note.element_type == 3 else Entity.CONTACT
        return entity, note.element_id, note
    entity = Entity.COMPANY if wf.is_company(item) else Entity.CONTACT
    return entity, wf.to_int(item.get("id")), wf.contact_fields(item)


def _read_task(action: str, item: Mapping[str, Any], zone: tzinfo) -> tuple[str, int | None, Any]:
    return Entity.TASK, wf.to_int(item.get("id")), wf.task_fields(item, zone)


def _read_unsorted(
    action: str, item: Mapping[str, Any], zone: tzinfo
) -> tuple[str, int | None, Any]:
    fields_ = wf.unsorted_fields(item)
    return Entity.UNSORTED, fields_.lead_id, fields_


_READERS: dict[str, _Reader] = {
    "leads": _read_lead,
    "contacts": _read_contact,  # companies too, told apart by type=company
    "task": _read_task,  # the documented spelling
    "tasks": _read_task,  # seen in third-party code
    "unsorted": _read_unsorted,
}


def _text_of(body: bytes, max_bytes: int) -> str:
    data = body.encode() if isinstance(body, str) else bytes(body)
    if len(data) > max_bytes:
        raise WebhookParseError(
            f"body is {len(data)} bytes, over the {max_bytes}-byte limit", code="too_large"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise WebhookParseError(
            f"body is not UTF-8 text (byte {error.start}): binary data, not a webhook",
            code="binary",
        ) from None
    control = _CONTROL.search(text)
    if control:
        raise WebhookParseError(
            f"body holds a control character at {control.start()}: binary data, not a webhook",
            code="binary",
        )
    # Surrounding whitespace (and a BOM some proxies add) is never part of a form body.
    text = text.removeprefix("\ufeff").strip()
    if not text:
        raise WebhookParseError("empty body", code="empty")
    return text


def _zone(timezone: str | None) -> tzinfo:
    if timezone is None:
        return UTC
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {timezone!r}") from None


def _known(enum: type[Action], value: str) -> str:
    try:
        return enum(value)
    except ValueError:
        return value
