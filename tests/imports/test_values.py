"""Cell values as brokers type them: dates, money, percentages, phones, ids, formulas."""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal

import pytest

from amo_bridge.imports import identities as ids
from amo_bridge.imports import values as v
from amo_bridge.imports.keys import fallback_key, insurer_slug, number_slug, numbered_key
from amo_bridge.imports.problems import BadValue
from amo_bridge.phones import parse_phone


@pytest.mark.parametrize(("raw", "expected"), [
    ("01.03.2024", date(2024, 3, 1)),
    ("1.3.2024", date(2024, 3, 1)),
    ("15.04.24", date(2024, 4, 15)),
    ("2024-07-01", date(2024, 7, 1)),
    ("2024-07-01T00:00:00", date(2024, 7, 1)),
    ("2024-07-01 10:30:00+03:00", date(2024, 7, 1)),
    ("31.12.2024 0:00:00", date(2024, 12, 31)),
    ("15 марта 2024 г.", date(2024, 3, 15)),
    ("1 мая 2024", date(2024, 5, 1)),
    ("45292", date(2024, 1, 1)),  # an Excel serial exported as text
    (45292, date(2024, 1, 1)),
    (45292.5, date(2024, 1, 1)),
    (datetime(2024, 2, 29, 13, 5), date(2024, 2, 29)),
    (date(2025, 1, 31), date(2025, 1, 31)),
    ("", None),
    (None, None),
])
def test_dates(raw, expected):
    assert v.parse_date(raw) == expected


@pytest.mark.parametrize(("raw", "key", "params"), [
    ("31.02.2024", "import.value.no_such_date", {"value": "31.02.2024", "days": 29}),
    ("29.02.2023", "import.value.no_such_date", {"value": "29.02.2023", "days": 28}),
    ("12/31/2024", "import.value.no_such_month", {"value": "12/31/2024", "month": 31}),
    ("01.01.2204", "import.value.date_year", {"value": "01.01.2204", "year": 2204}),
    ("завтра", "import.value.date", {"value": "завтра"}),
    ("=TODAY()", "import.value.formula", {"value": "=TODAY()"}),
])
def test_impossible_dates_say_why(raw, key, params):
    with pytest.raises(BadValue) as caught:
        v.parse_date(raw)
    assert (caught.value.key, caught.value.params) == (key, params)


def test_excel_1904_and_1900_epochs():
    assert v.excel_serial(1) == date(1900, 1, 1)
    assert v.excel_serial(59) == date(1900, 2, 28)  # then Lotus's phantom 29.02.1900 (60)
    assert v.excel_serial(61) == date(1900, 3, 1)
    assert v.parse_date(43830, epoch=date(1904, 1, 1)) == date(2024, 1, 1)


@pytest.mark.parametrize(("raw", "kopecks"), [
    ("12 345,67", 1234567), ("12\u00a0345,67", 1234567), ("12\u202f345,67 ₽", 1234567),
    ("1 234 567", 123456700), ("1.234,5", 123450), ("1,234.50", 123450),
    ("1,000,000.50", 100000050), ("1 000 000,5 руб.", 100000050), ("4321", 432100),
    ("0,125", 13), ("2 300,50", 230050), ("-500", -50000), ("12,5", 1250),
    (8123.45, 812345), (1851.8500000000001, 185185), (54000, 5400000), ("", None),
])
def test_money_in_kopecks(raw, kopecks):
    assert v.parse_money(raw) == kopecks


@pytest.mark.parametrize(("raw", "key"), [
    ("12,500", "import.value.ambiguous_amount"), ("1.500", "import.value.ambiguous_amount"),
    ("1,23,4", "import.value.number"), ("двенадцать", "import.value.number"),
    ("=A1*2", "import.value.formula"), ("12 500 руб 00 коп", "import.value.number"),
])
def test_money_refuses_to_guess(raw, key):
    with pytest.raises(BadValue) as caught:
        v.parse_money(raw)
    assert caught.value.key == key


@pytest.mark.parametrize(("raw", "fraction", "expected"), [
    ("15", False, "15"), ("15%", False, "15"), ("12,5 %", False, "12.5"),
    ("0,5", False, "0.5"), (0.15, True, "15"), (0.125, True, "12.5"), (15, False, "15"),
])
def test_percentages(raw, fraction, expected):
    assert v.parse_percent(raw, fraction=fraction) == Decimal(expected)


def test_percent_out_of_range():
    with pytest.raises(BadValue):
        v.parse_percent("150")


def test_text_cleans_what_excel_and_people_add():
    assert v.text("  Иванов\u00a0\u00a0Иван \ufeff") == "Иванов Иван"
    assert v.text("'0012345") == "0012345"
    assert v.text('="0012345"') == "0012345"
    assert v.text(79991234567.0) == "79991234567"
    assert v.text(datetime(2024, 3, 1)) == "01.03.2024"


@pytest.mark.parametrize("raw", ["=1+2", "@SUM(A1)", "-2+3+cmd|' /C calc'!A0",
                                 "+HYPERLINK(\"x\")", "=HYPERLINK(\"http://evil\";\"x\")"])
def test_formula_looking_values(raw):
    assert v.looks_like_formula(raw)
    with pytest.raises(BadValue):
        v.plain(raw)


@pytest.mark.parametrize("raw", ["+7 (999) 123-45-67", "-", "—", "Иванов-Петров", "-5"])
def test_not_formulas(raw):
    assert not v.looks_like_formula(raw)


def test_ids_are_text_and_exponents_are_refused():
    assert v.ident(1234567890.0) == "1234567890"
    with pytest.raises(BadValue) as caught:
        v.ident("7,99912E+10")
    assert caught.value.key == "import.value.exponent"
    assert ids.parse_amocrm_id("  12345 ") == 12345


def test_phones_several_in_a_cell():
    assert ids.parse_phones("8 (999) 123-45-67, 8 495 123 45 67") == ("+79991234567",
                                                                      "+74951234567")
    assert ids.parse_phones(79161112233) == ("+79161112233",)
    assert ids.parse_phones("+7 999 123-45-67 или 89991234567") == ("+79991234567",)
    for bad in ("123-45-67", "8 999 123"):
        with pytest.raises(BadValue):
            ids.parse_phones(bad)


def test_the_mobile_fast_path_agrees_with_libphonenumber():
    rnd = random.Random(6)
    for _ in range(1000):
        digits = "9" + "".join(rnd.choice("0123456789") for _ in range(9))
        for typed in (f"8{digits}", f"+7 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}",
                      f"8 ({digits[:3]}) {digits[3:]}", digits):
            assert ids.parse_phones(typed) == (parse_phone(typed).e164,)


def test_kinds_and_operations():
    assert ids.parse_kind("Чужой") == "foreign" and ids.parse_kind("наш") == "ours"
    assert ids.parse_operation("Исправление") == "correction"
    with pytest.raises(BadValue):
        ids.parse_kind("maybe")


def test_policy_keys_ignore_how_the_number_was_typed():
    assert numbered_key("СПАО «Ингосстрах»", "XXX 12345678") == \
        numbered_key("Ингосстрах", "ХХХ 0012345678")
    assert insurer_slug("ООО СК «Согласие»") == insurer_slug("Согласие")
    assert number_slug("0012") == "12" and number_slug("000") == "0"
    assert numbered_key("Ингосстрах", "1") != numbered_key("Согласие", "1")
    key = fallback_key(product="kasko", phone=None, name="Иванова  Елена", ends_on=date(2025, 6,
                       14), vehicle="А123ВС77")
    assert key == "nonum:kasko:еленаиванова:2025-06-14:A123BC77"
    assert len(numbered_key("x" * 300, "1" * 300)) == 255
