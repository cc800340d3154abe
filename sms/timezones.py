"""The client's timezone: the contact's own, else its city, else the account's.

Russian mobile numbers are not geographic, so the number says nothing about where the client
lives; the city (a mapped contact field) does. The table covers regional centres and large
cities; an unknown city falls back to the account's timezone.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from amo_bridge.products import fold

_CITY_ZONES = {
    "Europe/Kaliningrad": ["Калининград"],
    "Europe/Moscow": [
        "Москва", "Санкт-Петербург", "Петербург", "СПб", "Казань", "Нижний Новгород",
        "Ростов-на-Дону", "Краснодар", "Воронеж", "Сочи", "Ярославль", "Тула", "Тверь",
        "Рязань", "Липецк", "Курск", "Белгород", "Брянск", "Калуга", "Владимир", "Иваново",
        "Кострома", "Смоленск", "Орёл", "Тамбов", "Пенза", "Чебоксары", "Йошкар-Ола",
        "Киров", "Вологда", "Архангельск", "Мурманск", "Петрозаводск", "Великий Новгород",
        "Псков", "Сыктывкар", "Ставрополь", "Махачкала", "Грозный", "Нальчик", "Владикавказ",
        "Симферополь", "Севастополь", "Волгоград",
    ],
    "Europe/Samara": ["Самара", "Тольятти", "Ижевск", "Ульяновск"],
    "Europe/Saratov": ["Саратов"],
    "Europe/Astrakhan": ["Астрахань"],
    "Asia/Yekaterinburg": [
        "Екатеринбург", "Челябинск", "Пермь", "Уфа", "Тюмень", "Оренбург", "Курган",
        "Магнитогорск", "Сургут", "Ханты-Мансийск", "Салехард",
    ],
    "Asia/Omsk": ["Омск"],
    "Asia/Novosibirsk": ["Новосибирск"],
    "Asia/Barnaul": ["Барнаул"],
    "Asia/Tomsk": ["Томск"],
    "Asia/Novokuznetsk": ["Кемерово", "Новокузнецк"],
    "Asia/Krasnoyarsk": ["Красноярск", "Абакан", "Кызыл"],
    "Asia/Irkutsk": ["Иркутск", "Улан-Удэ", "Братск"],
    "Asia/Chita": ["Чита"],
    "Asia/Yakutsk": ["Якутск", "Благовещенск"],
    "Asia/Vladivostok": ["Владивосток", "Хабаровск", "Находка"],
    "Asia/Sakhalin": ["Южно-Сахалинск"],
    "Asia/Magadan": ["Магадан"],
    "Asia/Kamchatka": ["Петропавловск-Камчатский"],
}
CITY_ZONES = {fold(city): zone for zone, cities in _CITY_ZONES.items() for city in cities}


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def client_zone(*, contact_timezone: str | None, city: str | None,
                account_timezone: str) -> ZoneInfo:
    zone = _zone(contact_timezone)
    if zone is None and city:
        name = city.split(",")[0].removeprefix("г.").strip()
        zone = _zone(CITY_ZONES.get(fold(name)))
    return zone or _zone(account_timezone) or ZoneInfo("Europe/Moscow")
