from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from amo_bridge.amocrm.entities import Contact, Event, Lead
from amo_bridge.amocrm.fields import (
    catalog_from,
    date_from_amo,
    date_to_amo,
    field_value,
    read_choice,
    read_date,
    read_number,
    read_phones,
    read_text,
)

FIELDS = [
    {"id": 1, "name": "Дата окончания полиса", "type": "date", "code": None},
    {"id": 2, "name": "Страховая премия", "type": "numeric"},
    {"id": 3, "name": "Продукт", "type": "select", "enums": [
        {"id": 31, "value": "ОСАГО", "code": "osago"}, {"id": 32, "value": "КАСКО"}]},
    {"id": 4, "name": "Телефон", "type": "multitext", "code": "PHONE", "enums": [
        {"id": 41, "value": "WORK"}, {"id": 42, "value": "MOB"}]},
    {"id": 5, "name": "Отчёт", "type": "text", "unknown_key": True},
]


def test_find_by_id_code_and_name() -> None:
    catalog = catalog_from(FIELDS)
    assert catalog.find(1).name == "Дата окончания полиса"
    assert catalog.find("4").code == "PHONE"
    assert catalog.find("phone").id == 4
    assert catalog.find("  ДАТА окончания   полиса ").id == 1
    assert catalog.find("отчет").id == 5  # ё-insensitive
    assert catalog.find("nope") is None
    assert catalog.find(99) is None
    assert catalog.enum("Продукт", "osago").id == 31
    assert catalog.enum("Продукт", "каско").id == 32
    with pytest.raises(KeyError):
        catalog.require("missing")


def test_date_fields_are_midnight_in_the_account_timezone() -> None:
    day = date(2025, 6, 15)
    stamp = date_to_amo(day, "Europe/Moscow")
    assert datetime.fromtimestamp(stamp, UTC) == datetime(2025, 6, 14, 21, 0, tzinfo=UTC)
    assert date_from_amo(stamp, "Europe/Moscow") == day
    # Read with the wrong zone (UTC), Moscow's midnight shows the previous day.
    assert date_from_amo(stamp, "UTC") == date(2025, 6, 14)
    assert date_from_amo(str(stamp), "Europe/Moscow") == day
    assert date_from_amo("2025-06-15", "Europe/Moscow") == day
    assert date_from_amo(None, "Europe/Moscow") is None


def test_read_values_from_a_lead() -> None:
    lead = Lead.from_api({
        "id": 1, "name": "Полис", "price": "5000", "new_vendor_key": {"x": 1},
        "custom_fields_values": [
            {"field_id": 1, "field_name": "Дата окончания полиса", "field_type": "date",
             "values": [{"value": date_to_amo(date(2026, 1, 31), "Europe/Moscow")}]},
            {"field_id": 2, "field_name": "Страховая премия", "values": [{"value": "12 500,50"}]},
            {"field_id": 3, "field_name": "Продукт", "field_type": "select",
             "values": [{"value": "ОСАГО", "enum_id": 31, "enum_code": "osago"}]},
            {"field_id": 5, "field_name": "Отчёт", "values": ["bare value"]},
        ],
        "_embedded": {"tags": [{"id": 1, "name": "vip"}],
                      "contacts": [{"id": 9, "is_main": True}],
                      "catalog_elements": [{"id": 4, "metadata": {"quantity": 2,
                                                                  "catalog_id": 8}}]},
    })
    assert lead.price == 5000 and lead.tags[0].name == "vip" and lead.contacts[0].is_main
    assert lead.catalog_elements[0].quantity == 2.0
    assert read_date(lead.custom_fields, 1, tz="Europe/Moscow") == date(2026, 1, 31)
    assert read_number(lead.custom_fields, "страховая премия") == Decimal("12500.50")
    choice = read_choice(lead.custom_fields, 3)
    assert (choice.value, choice.enum_id, choice.enum_code) == ("ОСАГО", 31, "osago")
    assert read_text(lead.custom_fields, "отчет") == "bare value"
    assert read_text(lead.custom_fields, 404) is None


def test_null_custom_fields_and_junk_are_tolerated() -> None:
    lead = Lead.from_api({"id": "7", "custom_fields_values": None, "price": None,
                          "_embedded": None})
    assert lead.id == 7 and lead.custom_fields == () and lead.price is None
    contact = Contact.from_api({"id": 3, "custom_fields_values": [
        {"field_id": 4, "field_code": "PHONE", "values": [
            {"value": "+7 900 000-00-01", "enum_code": "MOB"}, {"value": " "}]}]})
    phones = read_phones(contact.custom_fields)
    assert [(p.value, p.enum_code) for p in phones] == [("+7 900 000-00-01", "MOB")]
    event = Event.from_api({"id": "01abc", "type": "lead_deleted", "value_after": [],
                            "value_before": None, "entity_id": 5})
    assert event.id == "01abc" and event.lead_status() is None


def test_field_value_builders() -> None:
    catalog = catalog_from(FIELDS)
    assert field_value(catalog.require(1), date(2025, 6, 15), tz="Europe/Moscow") == {
        "field_id": 1, "values": [{"value": date_to_amo(date(2025, 6, 15), "Europe/Moscow")}]}
    with pytest.raises(ValueError):
        field_value(catalog.require(1), date(2025, 6, 15))
    assert field_value(catalog.require(3), "osago") == {"field_id": 3,
                                                        "values": [{"enum_id": 31}]}
    with pytest.raises(ValueError):
        field_value(catalog.require(3), "ипотека")
    assert field_value(catalog.require(4), ["+79000000001", ("+79000000002", "MOB")]) == {
        "field_id": 4, "values": [{"value": "+79000000001", "enum_code": "WORK"},
                                  {"value": "+79000000002", "enum_code": "MOB"}]}
    assert field_value(catalog.require(2), Decimal("10.5"))["values"] == [{"value": "10.5"}]
    assert field_value(catalog.require(5), None) == {"field_id": 5, "values": None}
