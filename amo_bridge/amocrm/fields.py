"""Custom fields: find a field by id, code or name; read and build values; date conversion.

A ``date`` (and ``birthday``) field holds **midnight of the account's timezone** as unix seconds
(AMOCRM.md "API v4"): sending 00:00 UTC for a Moscow account comes back a day early. So dates
go through :func:`date_to_amo` / :func:`date_from_amo` with the account's timezone, always.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from amo_bridge.amocrm.entities import CustomFieldValue, FieldValueItem
from amo_bridge.amocrm.entities_account import CustomField, FieldEnum

DATE_TYPES = frozenset({"date", "birthday"})


def normalize_name(name: str) -> str:
    """Case- and ё-insensitive, whitespace-collapsed: "Дата  Окончания" == "дата окончания"."""
    return " ".join(name.replace("ё", "е").replace("Ё", "Е").casefold().split())


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def date_to_amo(day: date, tz: str | tzinfo) -> int:
    """The unix timestamp amoCRM stores for ``day``: midnight in the account's timezone."""
    return int(datetime.combine(day, time(0, 0), tzinfo=_zone(tz)).timestamp())


def date_from_amo(value: Any, tz: str | tzinfo) -> date | None:
    """The calendar date a ``date`` field shows in amoCRM, read in the account's timezone."""
    ts = _number(value)
    if ts is None:
        if isinstance(value, str):
            try:  # some payloads carry "YYYY-MM-DD…" strings instead of unix seconds
                return date.fromisoformat(value[:10])
            except ValueError:
                return None
        return None
    return datetime.fromtimestamp(int(ts), _zone(tz)).date()


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        return Decimal(str(value).strip().replace(" ", "").replace(",", "."))
    except InvalidOperation:
        return None


@dataclass(frozen=True, slots=True)
class Choice:
    """A select value: what the user sees plus the enum's id and code."""

    value: str
    enum_id: int | None
    enum_code: str | None


class FieldCatalog:
    """The field definitions of one entity type (leads, contacts, companies)."""

    def __init__(self, fields: Iterable[CustomField]) -> None:
        self.fields = tuple(fields)
        self._by_id = {f.id: f for f in self.fields}
        self._by_code = {f.code.upper(): f for f in self.fields if f.code}
        self._by_name: dict[str, CustomField] = {}
        for f in self.fields:
            self._by_name.setdefault(normalize_name(f.name), f)

    def find(self, key: int | str) -> CustomField | None:
        """By id (int or digits), by code (``PHONE``), or by name (case/ё-insensitive)."""
        if isinstance(key, int) or (isinstance(key, str) and key.strip().isdigit()):
            found = self._by_id.get(int(key))
            if found is not None or isinstance(key, int):
                return found
        text = str(key).strip()
        return self._by_code.get(text.upper()) or self._by_name.get(normalize_name(text))

    def require(self, key: int | str) -> CustomField:
        field = self.find(key)
        if field is None:
            raise KeyError(f"no custom field {key!r}")
        return field

    def enum(self, key: int | str, choice: int | str) -> FieldEnum | None:
        """An enum of a select field by id, code or value (case/ё-insensitive)."""
        field = self.require(key)
        for item in field.enums:
            if isinstance(choice, int) and item.id == choice:
                return item
            if isinstance(choice, str) and (
                (item.code and item.code.upper() == choice.strip().upper())
                or normalize_name(item.value) == normalize_name(choice)
            ):
                return item
        return None


def values_of(
    custom_fields: Sequence[CustomFieldValue], field: CustomField | int | str
) -> tuple[FieldValueItem, ...]:
    """The raw values of a field on an entity, matched by definition, id, code or name."""
    for value in custom_fields:
        if isinstance(field, CustomField):
            hit = value.field_id == field.id
        elif isinstance(field, int):
            hit = value.field_id == field
        else:
            hit = (value.field_code or "").upper() == field.upper() or normalize_name(
                value.field_name) == normalize_name(field)
        if hit:
            return value.values
    return ()


def read_text(custom_fields: Sequence[CustomFieldValue], field: CustomField | int | str
              ) -> str | None:
    values = values_of(custom_fields, field)
    return None if not values or values[0].value is None else str(values[0].value)


def read_number(custom_fields: Sequence[CustomFieldValue], field: CustomField | int | str
                ) -> Decimal | None:
    values = values_of(custom_fields, field)
    return _number(values[0].value) if values else None


def read_choice(custom_fields: Sequence[CustomFieldValue], field: CustomField | int | str
                ) -> Choice | None:
    values = values_of(custom_fields, field)
    if not values:
        return None
    item = values[0]
    return Choice(value=str(item.value or ""), enum_id=item.enum_id, enum_code=item.enum_code)


def read_choices(custom_fields: Sequence[CustomFieldValue], field: CustomField | int | str
                 ) -> tuple[Choice, ...]:
    return tuple(Choice(value=str(v.value or ""), enum_id=v.enum_id, enum_code=v.enum_code)
                 for v in values_of(custom_fields, field))


def read_phones(custom_fields: Sequence[CustomFieldValue]) -> tuple[Choice, ...]:
    """Contact phones: the multitext field with code ``PHONE`` (enum WORK, MOB, …)."""
    return tuple(c for c in read_choices(custom_fields, "PHONE") if c.value.strip())


def read_emails(custom_fields: Sequence[CustomFieldValue]) -> tuple[Choice, ...]:
    return tuple(c for c in read_choices(custom_fields, "EMAIL") if c.value.strip())


def read_date(custom_fields: Sequence[CustomFieldValue], field: CustomField | int | str, *,
              tz: str | tzinfo) -> date | None:
    values = values_of(custom_fields, field)
    return date_from_amo(values[0].value, tz) if values else None


def field_value(field: CustomField, value: Any, *, tz: str | tzinfo | None = None
                ) -> dict[str, Any]:
    """A ``custom_fields_values`` entry for a write; ``None`` clears the field.

    Dates need the account's timezone; selects accept an enum id, code or label; multitext
    accepts ``[(value, enum_code)]`` or plain strings (``WORK`` by default).
    """
    if value is None:
        return {"field_id": field.id, "values": None}
    if field.type in DATE_TYPES:
        if tz is None:
            raise ValueError(f"field {field.name!r} is a date: pass the account's timezone")
        stamp = date_to_amo(value if isinstance(value, date) else date.fromisoformat(value), tz)
        return {"field_id": field.id, "values": [{"value": stamp}]}
    if field.type in ("select", "radiobutton", "multiselect"):
        choices = value if isinstance(value, list | tuple) else [value]
        items = []
        for choice in choices:
            found = FieldCatalog([field]).enum(field.id, choice)
            if found is None:
                raise ValueError(f"{choice!r} is not an option of field {field.name!r}")
            items.append({"enum_id": found.id})
        return {"field_id": field.id, "values": items}
    if field.type == "multitext":
        entries = value if isinstance(value, list | tuple) else [value]
        items = []
        for entry in entries:
            text, code = (entry, "WORK") if isinstance(entry, str) else entry
            items.append({"value": text, "enum_code": code})
        return {"field_id": field.id, "values": items}
    if field.type == "checkbox":
        return {"field_id": field.id, "values": [{"value": bool(value)}]}
    if field.type == "numeric":
        return {"field_id": field.id, "values": [{"value": str(value)}]}
    return {"field_id": field.id, "values": [{"value": value}]}


def catalog_from(raw_fields: Iterable[Mapping[str, Any]]) -> FieldCatalog:
    return FieldCatalog(CustomField.from_api(raw) for raw in raw_fields)
