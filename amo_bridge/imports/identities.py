"""Cells that say who and what: phones, e-mail, ours/foreign, amoCRM ids, ledger operations."""

from __future__ import annotations

import re
from functools import lru_cache

from amo_bridge.imports.problems import BadValue
from amo_bridge.imports.values import EXPONENT, ident, looks_like_formula, short, text
from amo_bridge.phones import InvalidPhone, parse_phone

# --- phones and e-mail ---------------------------------------------------------------------

_PHONE_SPLIT = re.compile(r"\s*(?:[,;/\n]|\bили\b|\bor\b)\s*", re.I)
_RU_MOBILE = re.compile(r"^(?:\+7|8|7)?9\d{9}$")


@lru_cache(maxsize=65536)
def _one_phone(raw: str) -> str:
    compact = re.sub(r"[\s()\-.]", "", raw)
    # Most numbers in a Russian broker's base are mobiles: +7 9XX XXX-XX-XX. Every such number
    # is a valid mobile in libphonenumber's metadata (checked in tests/imports), so skip it.
    if _RU_MOBILE.match(compact):
        return "+7" + compact[-10:]
    try:
        return parse_phone(raw).e164
    except InvalidPhone:
        raise BadValue("import.value.phone", value=raw) from None


def parse_phones(value: object) -> tuple[str, ...]:
    """One or more phones in a cell (``8 999 …, 8 495 …``) → unique E.164 numbers."""
    raw = text(value)
    if not raw:
        return ()
    if looks_like_formula(raw):
        raise BadValue("import.value.formula", value=short(raw))
    if EXPONENT.match(raw):
        raise BadValue("import.value.exponent", value=raw)
    found: list[str] = []
    for part in _PHONE_SPLIT.split(raw):
        if part:
            number = _one_phone(part)
            if number not in found:
                found.append(number)
    return tuple(found)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def parse_email(value: object) -> str | None:
    raw = text(value)
    if not raw:
        return None
    if not _EMAIL.match(raw):
        raise BadValue("import.value.email", value=short(raw))
    return raw.lower()


_OURS = {"наш", "наши", "свой", "свои", "ours", "our", "own", "да", "yes"}
_FOREIGN = {"чужой", "чужие", "чужая", "другой", "foreign", "other", "нет", "no"}


def parse_kind(value: object) -> str | None:
    raw = text(value).casefold()
    if not raw:
        return None
    if raw in _OURS:
        return "ours"
    if raw in _FOREIGN:
        return "foreign"
    raise BadValue("import.value.kind", value=short(text(value)))


def parse_amocrm_id(value: object) -> int | None:
    raw = ident(value)
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise BadValue("import.value.amocrm_id", value=short(raw))
    return int(raw)


#: The ledger export's operation names (``amo_bridge.exports.columns.OPERATIONS``).
OPERATIONS = {"продажа": "sale", "sale": "sale", "исправление": "correction",
              "correction": "correction", "расторжение": "cancellation",
              "cancellation": "cancellation", "сторно": "reversal", "reversal": "reversal"}


def parse_operation(value: object) -> str | None:
    raw = text(value).casefold()
    if not raw:
        return None
    if raw not in OPERATIONS:
        raise BadValue("import.value.operation", value=short(text(value)))
    return OPERATIONS[raw]
