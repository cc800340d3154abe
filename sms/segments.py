"""SMS segment counting (3GPP TS 23.038 alphabets, TS 23.040 concatenation).

- GSM-7: 160 septets in one SMS, 153 per part when concatenated; characters of the extension
  table (``^{}\\[~]|€`` and form feed) take two septets, and an escape pair is never split
  across parts.
- UCS-2: any character outside GSM-7 (every Cyrillic letter) switches the whole message to
  UCS-2: 70 UTF-16 code units in one SMS, 67 per part; a surrogate pair is never split.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")

_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: str  # GSM-7 or UCS-2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int  # SMS parts the provider bills
    per_part: int  # capacity of one part at this length (160/153 or 70/67)

    @property
    def is_unicode(self) -> bool:
        return self.encoding == UCS2


def is_gsm7(text: str) -> bool:
    return all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in text)


def _weights(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if ch in _GSM_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_segments(text: str) -> Segments:
    """How many SMS parts ``text`` takes, packing parts greedily as handsets and SMSCs do."""
    encoding = GSM7 if is_gsm7(text) else UCS2
    single, multi = _LIMITS[encoding]
    weights = _weights(text, encoding)
    units = sum(weights)
    if units <= single:
        return Segments(encoding, units, 1 if units else 0, single)
    parts, filled = 1, 0
    for weight in weights:
        # An escape pair (GSM-7) or a surrogate pair (UCS-2) never straddles two parts.
        if filled + weight > multi:
            parts += 1
            filled = 0
        filled += weight
    return Segments(encoding, units, parts, multi)
