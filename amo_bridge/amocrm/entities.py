"""Typed, frozen views of amoCRM v4 payloads, parsed leniently.

Unknown keys are ignored and missing ones default (DESIGN.md: vendor payloads are parsed
leniently); ``custom_fields_values`` may be ``null``. Timestamps stay unix seconds as amoCRM
sends them — :func:`to_datetime` converts where a caller needs an instant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def to_datetime(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _embedded(raw: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    items = (raw.get("_embedded") or {}).get(name) or []
    return [item for item in items if isinstance(item, Mapping)]


@dataclass(frozen=True, slots=True)
class FieldValueItem:
    """One element of ``values``: plain value, or a select/multitext choice with its enum."""

    value: Any
    enum_id: int | None = None
    enum_code: str | None = None


@dataclass(frozen=True, slots=True)
class CustomFieldValue:
    field_id: int
    field_name: str
    field_code: str | None
    field_type: str
    values: tuple[FieldValueItem, ...]

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> CustomFieldValue:
        items = []
        for value in raw.get("values") or []:
            if isinstance(value, Mapping):
                items.append(FieldValueItem(value=value.get("value"),
                                            enum_id=_int(value.get("enum_id")),
                                            enum_code=value.get("enum_code")))
            else:
                items.append(FieldValueItem(value=value))
        return cls(field_id=_int(raw.get("field_id")) or 0, field_name=_str(raw.get("field_name")),
                   field_code=raw.get("field_code"), field_type=_str(raw.get("field_type")),
                   values=tuple(items))


def parse_custom_fields(raw: Any) -> tuple[CustomFieldValue, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(CustomFieldValue.from_api(item) for item in raw if isinstance(item, Mapping))


@dataclass(frozen=True, slots=True)
class Tag:
    id: int | None
    name: str


def _tags(raw: Mapping[str, Any]) -> tuple[Tag, ...]:
    return tuple(Tag(id=_int(t.get("id")), name=_str(t.get("name")))
                 for t in _embedded(raw, "tags"))


@dataclass(frozen=True, slots=True)
class LinkedContact:
    id: int
    is_main: bool = False


@dataclass(frozen=True, slots=True)
class CatalogLink:
    id: int
    catalog_id: int | None
    quantity: float | None
    price_id: int | None


@dataclass(frozen=True, slots=True)
class Lead:
    id: int
    name: str
    price: int | None
    responsible_user_id: int | None
    group_id: int | None
    status_id: int | None
    pipeline_id: int | None
    loss_reason_id: int | None
    created_by: int | None
    updated_by: int | None
    created_at: int | None
    updated_at: int | None
    closed_at: int | None
    closest_task_at: int | None
    is_deleted: bool
    account_id: int | None
    custom_fields: tuple[CustomFieldValue, ...]
    tags: tuple[Tag, ...]
    contacts: tuple[LinkedContact, ...]
    company_ids: tuple[int, ...]
    catalog_elements: tuple[CatalogLink, ...]
    loss_reason: str | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Lead:
        contacts = tuple(LinkedContact(id=_int(c.get("id")) or 0, is_main=bool(c.get("is_main")))
                         for c in _embedded(raw, "contacts"))
        elements = []
        for element in _embedded(raw, "catalog_elements"):
            meta = element.get("metadata") or {}
            quantity = meta.get("quantity")
            elements.append(CatalogLink(
                id=_int(element.get("id")) or 0, catalog_id=_int(meta.get("catalog_id")),
                quantity=float(quantity) if isinstance(quantity, int | float) else None,
                price_id=_int(meta.get("price_id"))))
        reasons = _embedded(raw, "loss_reason")
        return cls(
            id=_int(raw.get("id")) or 0, name=_str(raw.get("name")), price=_int(raw.get("price")),
            responsible_user_id=_int(raw.get("responsible_user_id")),
            group_id=_int(raw.get("group_id")), status_id=_int(raw.get("status_id")),
            pipeline_id=_int(raw.get("pipeline_id")),
            loss_reason_id=_int(raw.get("loss_reason_id")),
            created_by=_int(raw.get("created_by")), updated_by=_int(raw.get("updated_by")),
            created_at=_int(raw.get("created_at")), updated_at=_int(raw.get("updated_at")),
            closed_at=_int(raw.get("closed_at")),
            closest_task_at=_int(raw.get("closest_task_at")),
            is_deleted=bool(raw.get("is_deleted")), account_id=_int(raw.get("account_id")),
            custom_fields=parse_custom_fields(raw.get("custom_fields_values")),
            tags=_tags(raw), contacts=contacts,
            company_ids=tuple(_int(c.get("id")) or 0 for c in _embedded(raw, "companies")),
            catalog_elements=tuple(elements),
            loss_reason=_str(reasons[0].get("name")) if reasons else None,
        )


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    name: str
    first_name: str
    last_name: str
    responsible_user_id: int | None
    group_id: int | None
    created_by: int | None
    updated_by: int | None
    created_at: int | None
    updated_at: int | None
    is_deleted: bool
    account_id: int | None
    custom_fields: tuple[CustomFieldValue, ...]
    tags: tuple[Tag, ...]
    lead_ids: tuple[int, ...]
    company_ids: tuple[int, ...]

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Contact:
        return cls(
            id=_int(raw.get("id")) or 0, name=_str(raw.get("name")),
            first_name=_str(raw.get("first_name")), last_name=_str(raw.get("last_name")),
            responsible_user_id=_int(raw.get("responsible_user_id")),
            group_id=_int(raw.get("group_id")), created_by=_int(raw.get("created_by")),
            updated_by=_int(raw.get("updated_by")), created_at=_int(raw.get("created_at")),
            updated_at=_int(raw.get("updated_at")), is_deleted=bool(raw.get("is_deleted")),
            account_id=_int(raw.get("account_id")),
            custom_fields=parse_custom_fields(raw.get("custom_fields_values")), tags=_tags(raw),
            lead_ids=tuple(_int(x.get("id")) or 0 for x in _embedded(raw, "leads")),
            company_ids=tuple(_int(x.get("id")) or 0 for x in _embedded(raw, "companies")),
        )


@dataclass(frozen=True, slots=True)
class Company:
    id: int
    name: str
    responsible_user_id: int | None
    created_at: int | None
    updated_at: int | None
    is_deleted: bool
    account_id: int | None
    custom_fields: tuple[CustomFieldValue, ...]
    tags: tuple[Tag, ...]
    contact_ids: tuple[int, ...]

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Company:
        return cls(
            id=_int(raw.get("id")) or 0, name=_str(raw.get("name")),
            responsible_user_id=_int(raw.get("responsible_user_id")),
            created_at=_int(raw.get("created_at")), updated_at=_int(raw.get("updated_at")),
            is_deleted=bool(raw.get("is_deleted")), account_id=_int(raw.get("account_id")),
            custom_fields=parse_custom_fields(raw.get("custom_fields_values")), tags=_tags(raw),
            contact_ids=tuple(_int(x.get("id")) or 0 for x in _embedded(raw, "contacts")),
        )


@dataclass(frozen=True, slots=True)
class Task:
    id: int
    entity_id: int | None
    entity_type: str | None
    responsible_user_id: int | None
    task_type_id: int | None
    text: str
    complete_till: int | None
    is_completed: bool
    result_text: str | None
    created_at: int | None
    updated_at: int | None
    account_id: int | None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Task:
        result = raw.get("result") if isinstance(raw.get("result"), Mapping) else {}
        return cls(
            id=_int(raw.get("id")) or 0, entity_id=_int(raw.get("entity_id")),
            entity_type=raw.get("entity_type"),
            responsible_user_id=_int(raw.get("responsible_user_id")),
            task_type_id=_int(raw.get("task_type_id")), text=_str(raw.get("text")),
            complete_till=_int(raw.get("complete_till")),
            is_completed=bool(raw.get("is_completed")),
            result_text=result.get("text") if result else None,
            created_at=_int(raw.get("created_at")), updated_at=_int(raw.get("updated_at")),
            account_id=_int(raw.get("account_id")),
        )


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    entity_id: int | None
    note_type: str
    params: Mapping[str, Any]
    created_by: int | None
    created_at: int | None
    account_id: int | None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Note:
        params = raw.get("params")
        return cls(id=_int(raw.get("id")) or 0, entity_id=_int(raw.get("entity_id")),
                   note_type=_str(raw.get("note_type")),
                   params=dict(params) if isinstance(params, Mapping) else {},
                   created_by=_int(raw.get("created_by")), created_at=_int(raw.get("created_at")),
                   account_id=_int(raw.get("account_id")))


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of ``GET /api/v4/events``; ``id`` is a string and unique per event."""

    id: str
    type: str
    entity_id: int | None
    entity_type: str
    created_by: int | None
    created_at: int | None
    value_after: tuple[Mapping[str, Any], ...]
    value_before: tuple[Mapping[str, Any], ...]
    account_id: int | None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Event:
        def values(key: str) -> tuple[Mapping[str, Any], ...]:
            items = raw.get(key) or []
            return tuple(dict(v) for v in items if isinstance(v, Mapping))

        return cls(id=_str(raw.get("id")), type=_str(raw.get("type")),
                   entity_id=_int(raw.get("entity_id")), entity_type=_str(raw.get("entity_type")),
                   created_by=_int(raw.get("created_by")), created_at=_int(raw.get("created_at")),
                   value_after=values("value_after"), value_before=values("value_before"),
                   account_id=_int(raw.get("account_id")))

    def lead_status(self, *, after: bool = True) -> tuple[int, int] | None:
        """``(pipeline_id, status_id)`` of a ``lead_status_changed`` event, if present."""
        for value in self.value_after if after else self.value_before:
            status = value.get("lead_status")
            if isinstance(status, Mapping) and _int(status.get("id")) is not None:
                return (_int(status.get("pipeline_id")) or 0, _int(status.get("id")) or 0)
        return None
