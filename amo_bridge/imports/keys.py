"""The identity of an imported policy: ``Policy.external_key``.

- With a number: ``number:<insurer>:<number>``. The insurer is folded and stripped of its legal
  form («СПАО «Ингосстрах»» = «Ингосстрах»); the number is upper-cased with Cyrillic letters
  that look Latin read as Latin (ОСАГО series «ХХХ» typed either way), separators dropped, and
  leading zeros of each run of digits dropped (Excel eats them from numbers).
- Without a number (a foreign policy the manager heard about): ``nonum:<product>:<client>:
  <end date>[:<vehicle>]`` — the client is the first phone, else the folded full name; the
  vehicle (VIN, else plate) tells two cars of one client apart. Correcting one of these parts
  in a later file therefore makes a new policy; add the number when it becomes known and the
  old line stays (documented in README).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from functools import lru_cache

from amo_bridge.products import fold

_LEGAL = re.compile(
    r"\b(?:ооо|оао|пао|зао|ао|спао|сао|сак|аск|нко|ск|страховая компания|"
    r"страховое публичное акционерное общество|страховое акционерное общество|"
    r"публичное акционерное общество|акционерное общество|страховое общество|"
    r"insurance company|insurance|company|ltd|llc|jsc)\b"
)
_LOOKALIKE = str.maketrans("АВЕКМНОРСТУХ", "ABEKMHOPCTYX")
_NOT_ALNUM = re.compile(r"[^0-9A-ZА-ЯЁ]")
MAX_KEY = 255


@lru_cache(maxsize=4096)  # a base names a handful of insurers in every row
def insurer_slug(insurer: str | None) -> str:
    value = (insurer or "").casefold().replace("ё", "е")
    value = _LEGAL.sub(" ", value)
    return fold(value) or "-"


_DIGITS = re.compile(r"\d+")


def number_slug(number: str) -> str:
    value = _NOT_ALNUM.sub("", number.upper().replace("Ё", "Е")).translate(_LOOKALIKE)
    # Excel drops leading zeros from anything it takes for a number: «ХХХ» + 12345678 is
    # «ХХХ 0012345678» typed in two cells, one of them a number.
    return _DIGITS.sub(lambda m: m.group().lstrip("0") or "0", value)


def _fit(key: str) -> str:
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{key[: MAX_KEY - 17]}~{digest}"


def numbered_key(insurer: str | None, number: str) -> str:
    return _fit(f"number:{insurer_slug(insurer)}:{number_slug(number)}")


def fallback_key(*, product: str, phone: str | None, name: str, ends_on: date,
                 vehicle: str | None = None) -> str:
    client = phone or fold(" ".join(sorted(name.split())))[:80] or "-"
    parts = ["nonum", product, client, ends_on.isoformat()]
    if vehicle:
        parts.append(number_slug(vehicle))
    return _fit(":".join(parts))
