"""Cell values as people type them into spreadsheets, read into exact values.

Each reader takes what openpyxl or the csv module gave (``str``, ``int``, ``float``,
``datetime``, None) and returns the value or raises :class:`BadValue` with a message key that
says, in the broker's words, what is wrong and how to fix it. Phones, policy numbers and ids
are text: a number that came out of Excel as ``79991234567.0`` is turned back into its digits,
and one that Excel already printed as ``7,99912E+10`` is refused, since its digits are lost.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from amo_bridge.imports.problems import BadValue

EXPONENT = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
# A leading =, @ or a +/- that goes on into a function call, a sheet reference or a DDE pipe:
# what spreadsheet programs execute (OWASP "CSV injection"). Phones like "+7 (999) …" pass.
_FORMULA_START = frozenset("=@+-")
_EXACT = 2.0**53  # floats hold every whole number below this exactly
_FORMULA = re.compile(r"^(?:[=@]|[+\-].*(?:[A-Za-zА-Яа-яЁё_]\w*\s*\(|[!|]))", re.S)


def text(value: object) -> str:
    """Trimmed text with runs of (also non-breaking) spaces collapsed; numbers without ``.0``."""
    if value.__class__ is str:  # the common case first: this runs for every cell
        raw = value  # type: ignore[assignment]
    elif value is None:
        return ""
    elif isinstance(value, bool):
        raw = str(value)
    elif isinstance(value, int):
        raw = str(value)
    elif isinstance(value, float):
        # A whole number is its digits, as far as a float holds them exactly: calamine reads
        # every number as a float where openpyxl gave an int, and a phone or a policy number
        # must not turn into «79161112233.0».
        raw = str(int(value)) if value.is_integer() and abs(value) < _EXACT else repr(value)
    elif isinstance(value, datetime):
        raw = value.strftime("%d.%m.%Y") if value.time() == datetime.min.time() \
            else value.strftime("%d.%m.%Y %H:%M")
    elif isinstance(value, date):
        raw = value.strftime("%d.%m.%Y")
    else:
        raw = str(value)
    if "\ufeff" in raw:
        raw = raw.replace("\ufeff", "")
    # str.split() splits on every Unicode space, the non-breaking ones included.
    raw = " ".join(raw.split())
    # Excel's ways of keeping digits as text: '0012345 and ="0012345" (the latter is also what
    # our rejected-rows CSV writes). Neither mark is part of the value.
    if raw[:2] == '="' and raw.endswith('"') and len(raw) > 2:
        return raw[2:-1].replace('""', '"').strip()
    return raw[1:].lstrip() if raw[:1] == "'" else raw


def looks_like_formula(value: str) -> bool:
    return bool(value) and value[0] in _FORMULA_START and bool(_FORMULA.match(value))


def plain(value: object) -> str:
    """Text that must not be a formula (names, insurers, notes…)."""
    result = text(value)
    if looks_like_formula(result):
        raise BadValue("import.value.formula", value=short(result))
    return result


def ident(value: object) -> str:
    """A policy number, series, VIN or id: text, never a number in exponent form."""
    result = plain(value)
    if EXPONENT.match(result):
        raise BadValue("import.value.exponent", value=result)
    return result


def short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- dates ----------------------------------------------------------------------------------

_DMY = re.compile(r"^(\d{1,2})[./\-](\d{1,2})[./\-](\d{4}|\d{2})(?:\s*г\.?)?"
                  r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_YMD = re.compile(r"^(\d{4})[./\-](\d{1,2})[./\-](\d{1,2})"
                  r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+\-]\d{2}:?\d{2})?)?$")
_WORDS = re.compile(r"^(\d{1,2})\s+([A-Za-zА-Яа-яЁё]+)\.?,?\s+(\d{4})(?:\s*г(?:ода?)?\.?)?$")
_SERIAL = re.compile(r"^\d{5}(?:[.,]\d+)?$")
_MONTHS = ("янв", "фев", "мар", "апр", "ма", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")
_MONTHS_EN = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
              "dec")
EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 with Lotus's phantom 29.02.1900
#: Policy dates outside these years are typos (2204 for 2024), not history.
YEARS = (1980, 2100)


def excel_serial(serial: float, *, epoch: date = EXCEL_EPOCH) -> date:
    if not 1 <= serial < 2958466:
        raise BadValue("import.value.date", value=text(serial))
    if epoch == EXCEL_EPOCH and serial < 61:
        serial += 1  # before 1900-03-01 the 1900 system counts a day that never was
    return epoch + timedelta(days=int(serial))


def _real_date(value: str, year: int, month: int, day: int) -> date:
    if not 1 <= month <= 12:
        raise BadValue("import.value.no_such_month", value=value, month=month)
    if year < 100:
        year += 2000  # ДД.ММ.ГГ: policies are all from this century
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise BadValue("import.value.no_such_date", value=value, days=last)
    return _plausible(value, date(year, month, day))


def _plausible(value: object, result: date) -> date:
    if not YEARS[0] <= result.year < YEARS[1]:
        raise BadValue("import.value.date_year", value=text(value), year=result.year)
    return result


def parse_date(value: object, *, epoch: date = EXCEL_EPOCH) -> date | None:
    """Excel dates and serials, ``ДД.ММ.ГГГГ``, ``ДД.ММ.ГГ``, ISO, «15 марта 2024 г.»."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _plausible(value, value.date())
    if isinstance(value, date):
        return _plausible(value, value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _plausible(value, excel_serial(float(value), epoch=epoch))
    raw = text(value)
    if not raw:
        return None
    if looks_like_formula(raw):
        raise BadValue("import.value.formula", value=short(raw))
    if match := _DMY.match(raw):
        day, month, year = match.groups()
        return _real_date(raw, int(year), int(month), int(day))
    if match := _YMD.match(raw):
        year, month, day = match.groups()
        return _real_date(raw, int(year), int(month), int(day))
    if match := _WORDS.match(raw):
        day, word, year = match.groups()
        stem = word.casefold().replace("ё", "е")
        for names in (_MONTHS, _MONTHS_EN):
            for number, prefix in enumerate(names, start=1):
                if stem.startswith(prefix):
                    return _real_date(raw, int(year), number, int(day))
    if _SERIAL.match(raw):
        return _plausible(raw, excel_serial(float(raw.replace(",", ".")), epoch=epoch))
    raise BadValue("import.value.date", value=short(raw))


# --- numbers --------------------------------------------------------------------------------

_CURRENCY = re.compile(r"(?i)(?:руб(?:лей|ля|ль)?\.?|р\.|₽|rub\.?|rur)")
_NUMBER = re.compile(r"^[+-]?[\d.,]+$")


def _decimal(raw: str, original: str, *, money: bool) -> Decimal:
    """``1 234 567,89``, ``1.234,5``, ``1,234.5``, ``1234.5`` — but not ``12,500`` (unclear)."""
    compact = raw.replace(" ", "").replace("'", "").replace("’", "")
    if not compact or not _NUMBER.match(compact) or not any(c.isdigit() for c in compact):
        raise BadValue("import.value.number", value=short(original))
    commas, dots = compact.count(","), compact.count(".")
    if commas and dots:
        decimal_mark = "," if compact.rfind(",") > compact.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        compact = compact.replace(thousands, "").replace(decimal_mark, ".")
    elif commas > 1 or dots > 1:
        mark = "," if commas else "."
        groups = compact.lstrip("+-").split(mark)
        if any(len(g) != 3 for g in groups[1:]):
            raise BadValue("import.value.number", value=short(original))
        compact = compact.replace(mark, "")
    elif commas or dots:
        mark = "," if commas else "."
        whole, fraction = compact.split(mark)
        # One separator and three digits after it: a thousands group or three decimals?
        # Money never has three decimals, so it is ambiguous; ask rather than guess.
        if money and len(fraction) == 3 and whole.lstrip("+-") not in ("", "0"):
            raise BadValue("import.value.ambiguous_amount", value=original)
        compact = f"{whole}.{fraction}"
    try:
        return Decimal(compact)
    except InvalidOperation:
        raise BadValue("import.value.number", value=short(original)) from None


def _number(value: object, *, money: bool) -> tuple[Decimal, str]:
    if isinstance(value, bool):
        raise BadValue("import.value.number", value=str(value))
    if isinstance(value, int):
        return Decimal(value), str(value)
    if isinstance(value, float):
        return Decimal(repr(value)), text(value)
    raw = text(value)
    if looks_like_formula(raw):
        raise BadValue("import.value.formula", value=short(raw))
    return _decimal(_CURRENCY.sub("", raw).strip(), raw, money=money), raw


def parse_money(value: object) -> int | None:
    """Rubles as written → integer kopecks (half away from zero); None for an empty cell."""
    if value is None or (isinstance(value, str) and not text(value)):
        return None
    amount, _raw = _number(value, money=True)
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


PERCENT_QUANTUM = Decimal("0.0001")


def parse_percent(value: object, *, fraction: bool = False) -> Decimal | None:
    """``15``, ``15%``, ``12,5 %`` → ``Decimal('15')``; a cell in Excel's percent format holds
    0.15 for 15 % (``fraction=True``)."""
    if value is None or (isinstance(value, str) and not text(value)):
        return None
    if isinstance(value, str):
        raw = text(value)
        number, _ = _number(raw.replace("%", "").strip(), money=False)
    else:
        number, raw = _number(value, money=False)
        if fraction:
            number *= 100
    if not 0 <= number <= 100:
        raise BadValue("import.value.percent", value=raw)
    return number.quantize(PERCENT_QUANTUM, rounding=ROUND_HALF_UP)


def parse_year(value: object, *, this_year: int) -> int | None:
    raw = text(value).removesuffix("г.").removesuffix("г").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1950 <= int(raw) <= this_year + 1:
        raise BadValue("import.value.year", value=short(raw))
    return int(raw)
