"""Lenient conversion of one decoded webhook item (all strings) into typed payloads.

Nothing here raises on a bad value: a field we cannot read becomes ``None`` and stays visible in
the event's ``raw`` dict. Unknown keys are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from amo_bridge.amocrm.webhook_types import (
    ELEMENT_TYPES,
    ContactFields,
    CustomField,
    CustomFieldValue,
    LeadFields,
    NoteFields,
    Tag,
    TaskFields,
    UnsortedFields,
)


def to_int(value: Any) -> int | None:
    """``"123"`` → 123; also ``"35000.00"`` (an integral decimal); anything else → ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):  # JSON bodies (DP widget) may carry numbers as floats
        return int(value) if value.is_integer() else None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


def to_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def to_timestamp(value: Any) -> datetime | None:
    """Unix seconds (string or int) → aware UTC; empty or ``0`` (amoCRM's "not set") → ``None``."""
    seconds = to_int(value)
    if not seconds:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def to_datetime(value: Any, zone: tzinfo) -> datetime | None:
    """Unix seconds **or** ``YYYY-MM-DD HH:MM:SS`` (the documented task format).

    A string date carries no offset; it is read in ``zone`` (the account's timezone when the
    caller knows it, else UTC) and returned in UTC.
    """
    if to_int(value) is not None:
        return to_timestamp(value)
    text = to_str(value)
    if not text or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def custom_fields(value: Any) -> tuple[CustomField, ...]:
    """``custom_fields[i][id|name|code]`` + ``[values][j][value|enum]`` or a bare ``[values][j]``.

    A field without a readable id is skipped (nothing could map it).
    """
    fields: list[CustomField] = []
    for item in _items(value):
        field_id = to_int(item.get("id"))
        if field_id is None:
            continue
        fields.append(
            CustomField(
                field_id=field_id,
                name=to_str(item.get("name")),
                code=to_str(item.get("code")) or None,
                values=_field_values(item.get("values")),
            )
        )
    return tuple(fields)


def _field_values(value: Any) -> tuple[CustomFieldValue, ...]:
    if isinstance(value, str):  # ``[values]=x``: not documented, read as a single value
        return (CustomFieldValue(value),)
    if not isinstance(value, Mapping):
        return ()
    values: list[CustomFieldValue] = []
    for entry in value.values():
        if isinstance(entry, str):
            values.append(CustomFieldValue(entry))
        elif isinstance(entry, Mapping):
            values.append(
                CustomFieldValue(to_str(entry.get("value")), enum_id=to_int(entry.get("enum")))
            )
    return tuple(values)


def tags(value: Any) -> tuple[Tag, ...]:
    return tuple(
        Tag(tag_id=to_int(item.get("id")), name=to_str(item.get("name"))) for item in _items(value)
    )


def lead_fields(item: Mapping[str, Any]) -> LeadFields:
    return LeadFields(
        name=to_str(item.get("name")),
        status_id=to_int(item.get("status_id")),
        pipeline_id=to_int(item.get("pipeline_id")),
        old_status_id=to_int(item.get("old_status_id")),
        old_pipeline_id=to_int(item.get("old_pipeline_id")),
        price=to_int(item.get("price")),
        responsible_user_id=to_int(item.get("responsible_user_id")),
        created_user_id=to_int(item.get("created_user_id")),
        modified_user_id=to_int(item.get("modified_user_id")),
        account_id=to_int(item.get("account_id")),
        date_create=to_timestamp(item.get("date_create")),
        last_modified=to_timestamp(item.get("last_modified")),
        created_at=to_timestamp(item.get("created_at")),
        updated_at=to_timestamp(item.get("updated_at")),
        custom_fields=custom_fields(item.get("custom_fields")),
        tags=tags(item.get("tags")),
    )


def contact_fields(item: Mapping[str, Any]) -> ContactFields:
    return ContactFields(
        type="company" if is_company(item) else "contact",
        name=to_str(item.get("name")),
        responsible_user_id=to_int(item.get("responsible_user_id")),
        created_user_id=to_int(item.get("created_user_id")),
        modified_user_id=to_int(item.get("modified_user_id")),
        account_id=to_int(item.get("account_id")),
        date_create=to_timestamp(item.get("date_create")),
        last_modified=to_timestamp(item.get("last_modified")),
        created_at=to_timestamp(item.get("created_at")),
        updated_at=to_timestamp(item.get("updated_at")),
        company_name=to_str(item.get("company_name")) or None,
        linked_company_id=to_int(item.get("linked_company_id")) or None,
        linked_leads_ids=_linked_ids(item.get("linked_leads_id")),
        custom_fields=custom_fields(item.get("custom_fields")),
        tags=tags(item.get("tags")),
    )


def is_company(item: Mapping[str, Any]) -> bool:
    return to_str(item.get("type")) == "company"


def task_fields(item: Mapping[str, Any], zone: tzinfo) -> TaskFields:
    element_type = to_int(item.get("element_type"))
    result = item.get("result")
    result_text = to_str(result.get("text")) if isinstance(result, Mapping) else to_str(result)
    return TaskFields(
        element_id=to_int(item.get("element_id")),
        element_type=element_type,
        element_entity=ELEMENT_TYPES.get(element_type) if element_type is not None else None,
        task_type=to_int(item.get("task_type")),
        text=to_str(item.get("text")),
        is_completed=to_int(item.get("status")) == 1,
        responsible_user_id=to_int(item.get("responsible_user_id")),
        created_user_id=to_int(item.get("created_user_id")),
        modified_user_id=to_int(item.get("modified_user_id")),
        account_id=to_int(item.get("account_id")),
        complete_till=to_datetime(item.get("complete_till"), zone),
        action_close=to_int(item.get("action_close")),
        result_text=result_text or None,
        date_create=to_datetime(item.get("date_create"), zone),
        last_modified=to_datetime(item.get("last_modified"), zone),
        created_at=to_datetime(item.get("created_at"), zone),
        updated_at=to_datetime(item.get("updated_at"), zone),
    )


def note_fields(item: Mapping[str, Any], zone: tzinfo) -> NoteFields:
    """Notes arrive nested (``leads[note][0][note][text]``); a flat item is read the same way."""
    note = item.get("note")
    source: Mapping[str, Any] = note if isinstance(note, Mapping) else item
    created_by = source.get("created_by", source.get("created_user_id"))
    return NoteFields(
        note_id=to_int(source.get("id")),
        note_type=to_int(source.get("note_type")),
        text=to_str(source.get("text")),
        element_id=to_int(source.get("element_id")),
        element_type=to_int(source.get("element_type")),
        created_user_id=to_int(created_by),
        responsible_user_id=to_int(source.get("main_user_id", source.get("responsible_user_id"))),
        account_id=to_int(source.get("account_id", item.get("account_id"))),
        created_at=to_datetime(source.get("created_at", source.get("date_create")), zone),
        # ``timestamp_x`` is the note's last change as a ``YYYY-MM-DD HH:MM:SS`` string.
        updated_at=to_datetime(source.get("updated_at", source.get("timestamp_x")), zone),
    )


def unsorted_fields(item: Mapping[str, Any]) -> UnsortedFields:
    return UnsortedFields(
        uid=to_str(item.get("uid")),
        category=to_str(item.get("category")),
        source=to_str(item.get("source")),
        source_uid=to_str(item.get("source_uid")),
        pipeline_id=to_int(item.get("pipeline_id")),
        lead_id=to_int(item.get("lead_id")),
        account_id=to_int(item.get("account_id")),
        created_at=to_timestamp(item.get("created_at")),
        decision=to_str(item.get("action")),
    )


def _linked_ids(value: Any) -> tuple[int, ...]:
    """``linked_leads_id[35144366][ID]=35144366`` (keyed by id) or ``linked_leads_id[0]=…``."""
    if not isinstance(value, Mapping):
        return ()
    ids: list[int] = []
    for name, entry in value.items():
        if isinstance(entry, Mapping):
            number = to_int(entry.get("ID", entry.get("id")))
            number = number if number is not None else to_int(name)
        else:
            number = to_int(entry)
        if number is not None and number not in ids:
            ids.append(number)
    return tuple(ids)


def _items(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, Mapping):
        return []
    return [item for item in value.values() if isinstance(item, Mapping)]
