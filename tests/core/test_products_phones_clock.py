from datetime import UTC, date, datetime, timedelta

import pytest

from amo_bridge.clock import FrozenClock, local_today
from amo_bridge.phones import InvalidPhone, format_phone, parse_phone
from amo_bridge.products import ProductDictionary, UnknownProduct, default_products, load_defaults


@pytest.mark.parametrize(
    ("raw", "code"),
    [("ОСАГО", "osago"), ("е-осаго", "osago"), ("КАСКО", "kasko"), ("каско ", "kasko"),
     ("Имущество", "ifl"), ("ИФЛ", "ifl"), ("Ипотека", "mortgage"), ("ДМС", "dms"),
     ("НС", "ns"), ("ВЗР", "travel"), ("travel", "travel")],
)
def test_products_resolve_by_alias(raw, code):
    assert default_products().resolve(raw).code == code


def test_unknown_product_names_the_value():
    with pytest.raises(UnknownProduct) as info:
        default_products().resolve("Страхование кота")
    assert info.value.value == "Страхование кота"


def test_products_round_trip_through_config():
    products = default_products()
    again = ProductDictionary.from_config(products.to_config())
    assert [p.code for p in again] == [p.code for p in products]


def test_conflicting_aliases_are_refused():
    with pytest.raises(ValueError, match="names both"):
        ProductDictionary.from_config(
            [{"code": "a", "name_ru": "А", "aliases": ["x"]},
             {"code": "b", "name_ru": "Б", "aliases": ["X"]}]
        )


def test_defaults_follow_the_seeds():
    defaults = load_defaults()
    assert defaults["renewals"]["days_before"] == 45
    assert defaults["reminders"]["days_before"]["kasko"] == [45, 5]
    assert defaults["reminders"]["days_before"]["mortgage"] == [45, 30, 5]
    assert defaults["retention_targets"] == {"kasko": "75", "osago": "75", "ifl": "80"}


@pytest.mark.parametrize(
    "raw", ["8 (999) 123-45-67", "+7 999 123 45 67", "9991234567", "79991234567"]
)
def test_russian_phone_habits_normalise(raw):
    phone = parse_phone(raw)
    assert phone.e164 == "+79991234567" and phone.is_mobile
    assert format_phone(phone.e164) == "+7 999 123-45-67"


@pytest.mark.parametrize("raw", ["", "12345", "+7 000 000 00 00", "телефон"])
def test_invalid_phones_raise_with_a_reason(raw):
    with pytest.raises(InvalidPhone) as info:
        parse_phone(raw)
    assert info.value.reason


def test_frozen_clock_moves_only_when_told():
    clock = FrozenClock(datetime(2026, 12, 31, 22, 30, tzinfo=UTC))
    assert local_today(clock, "Europe/Moscow") == date(2027, 1, 1)
    assert local_today(clock, "UTC") == date(2026, 12, 31)
    clock.advance(days=1)
    assert clock.now() == datetime(2027, 1, 1, 22, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        FrozenClock(datetime(2026, 1, 1))  # noqa: DTZ001
    assert clock.advance(timedelta(hours=1)).hour == 23
