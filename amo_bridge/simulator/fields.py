"""Custom field values: validation and normalisation as amoCRM applies them.

AMOCRM.md "API v4": values are ``{field_id, field_name, field_code, field_type, values}``;
select values carry ``{value, enum_id, enum_code}``; **a ``date`` field holds midnight of the
account's timezone** — whatever instant is sent, amoCRM keeps that instant's calendar date *in
the account's zone* and stores its local midnight (so 00:00 UTC sent for a Moscow account is
03:00 MSK the same day → stored as 21:00 UTC the day before, "a day early" when read as UTC).
Numeric values come back as strings, as amoCRM returns them.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from .errors import INVALID_TYPE, NOT_SUPPORTED, Validation

Record = dict[str, Any]
DATE_TYPES = {"date", "birthday"}
ENUM_TYPES = {"select", "radiobutton", "multiselect", "multitext", "category"}
TEXT_TYPES = {"text", "textarea", "url", "streetaddress", "legal_entity", "smart_address"}


def local_midnight(value: int | float | str | date | datetime, tz: ZoneInfo) -> int:
    """The unix ts of local midnight (in ``tz``) of the day a value falls on there."""
    if isinstance(value, datetime):
        day = (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(tz).date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str) and not value.lstrip("-").isdigit():
        if len(value) == 10:  # "YYYY-MM-DD": a calendar date, as seed files write it
            day = date.fromisoformat(value)
        else:
            return local_midnight(datetime.fromisoformat(value.replace("Z", "+00:00")), tz)
    else:
        day = datetime.fromtimestamp(int(value), tz).date()
    return int(datetime.combine(day, time(0), tz).timestamp())


def _as_timestamp(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        if value.lstrip("-").isdigit():
            return int(value)
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return None
    return None


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _match_enum(field: Record, raw: Record) -> Record | None:
    for enum in field.get("enums") or []:
        if "enum_id" in raw and raw["enum_id"] is not None:
            if int(enum["id"]) == _int_or(raw["enum_id"]):
                return enum
        elif raw.get("enum_code") is not None:
            if enum.get("value") == raw["enum_code"] or enum.get("code") == raw["enum_code"]:
                return enum
        elif enum.get("value") == raw.get("value"):
            return enum
    return None


def _int_or(value: Any, default: int = -1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def normalise_values(
    field: Record,
    raw_values: list[Any],
    tz: ZoneInfo,
    check: Validation,
    request_id: str,
    path: str,
) -> list[Record]:
    """Validate one field's incoming ``values`` and return them as amoCRM would store them."""
    kind = field["type"]
    out: list[Record] = []
    for j, raw in enumerate(raw_values):
        at = f"{path}.values.{j}"
        raw = raw if isinstance(raw, dict) else {"value": raw}
        value = raw.get("value")
        if kind in DATE_TYPES or kind == "date_time":
            ts = _as_timestamp(value)
            if ts is None:
                check.add(request_id, f"{at}.value", INVALID_TYPE, type="int")
                continue
            out.append({"value": local_midnight(ts, tz) if kind in DATE_TYPES else ts})
        elif kind in ("numeric", "price", "monetary"):
            if not _is_number(value):
                check.add(request_id, f"{at}.value", INVALID_TYPE, type="numeric")
                continue
            out.append({"value": str(value)})
        elif kind == "checkbox":
            if not isinstance(value, bool):
                check.add(request_id, f"{at}.value", INVALID_TYPE, type="bool")
                continue
            out.append({"value": value})
        elif kind in ENUM_TYPES:
            if kind == "multitext":
                if not isinstance(value, str | int):
                    check.add(request_id, f"{at}.value", INVALID_TYPE, type="string")
                    continue
                # amoCRM files a phone/email without an enum under the first enum (WORK).
                query = raw if ("enum_id" in raw or "enum_code" in raw) else None
                enums = field.get("enums") or []
                enum = _match_enum(field, query) if query else (enums[0] if enums else None)
                if enum is None:
                    check.add(request_id, f"{at}.enum_code", NOT_SUPPORTED)
                    continue
                out.append({"value": str(value), "enum_id": enum["id"], "enum_code": enum["value"]})
            else:
                enum = _match_enum(field, raw)
                if enum is None:
                    check.add(request_id, f"{at}.enum_id", NOT_SUPPORTED)
                    continue
                out.append(
                    {"value": enum["value"], "enum_id": enum["id"], "enum_code": enum.get("code")}
                )
        else:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                check.add(request_id, f"{at}.value", INVALID_TYPE, type="string")
                continue
            out.append({"value": str(value)})
    if kind in ("select", "radiobutton") and len(out) > 1:
        out = out[:1]
    return out


def apply_values(
    fields: dict[int, Record],
    current: list[Record] | None,
    incoming: Any,
    tz: ZoneInfo,
    check: Validation,
    request_id: str,
) -> tuple[list[Record] | None, list[tuple[Record, list[Record], list[Record]]]]:
    """Merge incoming ``custom_fields_values`` into ``current``.

    Fields not mentioned stay; ``values: null`` or ``[]`` clears a field. Returns the new list
    (``None`` when empty, as amoCRM answers) and ``(field, old, new)`` for each field that changed.
    """
    if incoming is None:
        return current, []
    if not isinstance(incoming, list):
        check.add(request_id, "custom_fields_values", INVALID_TYPE, type="array")
        return current, []
    by_id = {int(cf["field_id"]): cf for cf in current or []}
    by_code = {f.get("code"): f for f in fields.values() if f.get("code")}
    changed = []
    for i, item in enumerate(incoming):
        path = f"custom_fields_values.{i}"
        if not isinstance(item, dict):
            check.add(request_id, path, INVALID_TYPE, type="object")
            continue
        field = fields.get(_int_or(item.get("field_id"))) or by_code.get(item.get("field_code"))
        if field is None:
            check.add(request_id, f"{path}.field_id", NOT_SUPPORTED)
            continue
        raw_values = item.get("values")
        if raw_values is not None and not isinstance(raw_values, list):
            check.add(request_id, f"{path}.values", INVALID_TYPE, type="array")
            continue
        new = normalise_values(field, raw_values or [], tz, check, request_id, path)
        old = by_id.get(int(field["id"]), {}).get("values", [])
        if new:
            by_id[int(field["id"])] = {
                "field_id": field["id"],
                "field_name": field["name"],
                "field_code": field.get("code"),
                "field_type": field["type"],
                "values": new,
            }
        else:
            by_id.pop(int(field["id"]), None)
        if new != old:
            changed.append((field, old, new))
    order = [int(cf["field_id"]) for cf in current or []]
    order += [fid for fid in by_id if fid not in order]
    result = [by_id[fid] for fid in order if fid in by_id]
    return (result or None), changed


def field_value_text(values: list[Record]) -> str:
    return ", ".join(str(v.get("value", "")) for v in values)
