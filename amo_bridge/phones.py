"""Phone numbers: normalisation to E.164 with ``phonenumbers``, and masking for logs."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

DEFAULT_REGION = "RU"


class InvalidPhone(ValueError):
    """The value is not a usable phone number; ``reason`` is short and human."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"{reason}: {value!r}")
        self.value = value
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str
    region: str | None
    is_mobile: bool


def parse_phone(value: str, *, region: str = DEFAULT_REGION) -> Phone:
    """Parse a phone as people type it (``8 (999) 123-45-67``, ``+7 999…``, ``9991234567``)."""
    raw = (value or "").strip()
    if not raw:
        raise InvalidPhone(value, "empty phone")
    digits = re.sub(r"\D", "", raw)
    # Russian habit: a leading 8 instead of +7, and ten bare digits without the country code.
    if region == "RU" and not raw.startswith("+"):
        if len(digits) == 11 and digits[0] in "78":
            raw = "+7" + digits[1:]
        elif len(digits) == 10 and digits[0] == "9":
            raw = "+7" + digits
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException as exc:
        raise InvalidPhone(value, "not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(value, "not a valid phone number")
    kind = phonenumbers.number_type(number)
    return Phone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        region=phonenumbers.region_code_for_number(number),
        is_mobile=kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE),
    )


def normalize_phone(value: str, *, region: str = DEFAULT_REGION) -> str:
    return parse_phone(value, region=region).e164


def format_phone(e164: str) -> str:
    """How a client reads a number in an SMS: ``+7 999 123-45-67``."""
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# Sequences of 10+ digits with optional separators, as phones appear in logs and payloads.
_PHONE_LIKE = re.compile(r"(?<!\w)(\+?\d[\d\s().\-]{8,}\d)(?!\w)")
_DATE_LIKE = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{2}\.\d{2}\.\d{4})")


def mask_phones(text: str) -> str:
    """Replace the middle of anything phone-like: ``+79991234567`` → ``+7999***4567``."""

    def hide(match: re.Match[str]) -> str:
        token = match.group(1)
        if _DATE_LIKE.match(token):
            return token  # 2026-11-21 23:58…, 21.11.2026 12… are dates, not phones
        digits = re.sub(r"\D", "", token)
        if len(digits) < 10 or len(digits) > 15:
            return token
        prefix = "+" if token.startswith("+") else ""
        return f"{prefix}{digits[:4]}***{digits[-4:]}"

    return _PHONE_LIKE.sub(hide, text)
