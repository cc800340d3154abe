"""The alias table: which spreadsheet headers mean which policy field.

:data:`FIELDS` is the one data structure to extend: a field, how its cells are read, its
canonical labels (used in reports and in the rejected-rows CSV, so that file imports back
without ``--map``) and the header spellings seen in brokers' files. Headers are compared after
:func:`header_key` (case, ё/е, punctuation, ``№`` → «номер»), so list each spelling once.

The finance export's column names (``amo_bridge.exports.columns``, issue 8) are added as aliases
when that module is present, so an export imports back (round trip).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    #: How cells are read: text, ident, name, phone, email, product, insurer, date, money,
    #: percent, year, user, kind, amocrm_id.
    kind: str
    label_ru: str
    label_en: str
    aliases: tuple[str, ...] = ()


def _f(name: str, kind: str, ru: str, en: str, *aliases: str) -> FieldSpec:
    return FieldSpec(name, kind, ru, en, aliases)


FIELDS: tuple[FieldSpec, ...] = (
    _f("client_name", "name", "ФИО", "Full name",
       "Ф.И.О.", "ФИО клиента", "Клиент", "Страхователь", "Имя клиента", "Наименование клиента",
       "Покупатель", "Контакт", "Client", "Client name", "Customer", "Policyholder", "Name"),
    _f("last_name", "name", "Фамилия", "Last name", "Surname"),
    _f("first_name", "name", "Имя", "First name", "Given name"),
    _f("middle_name", "name", "Отчество", "Middle name", "Patronymic"),
    _f("phone", "phone", "Телефон", "Phone",
       "Тел", "Телефон клиента", "Моб. телефон", "Мобильный", "Мобильный телефон", "Сотовый",
       "Контактный телефон", "Номер телефона", "Телефоны", "Mobile", "Phone number", "Tel"),
    _f("email", "email", "E-mail", "Email", "Эл. почта", "Электронная почта", "Почта", "Mail"),
    _f("product", "product", "Вид страхования", "Product",
       "Продукт", "Вид полиса", "Тип полиса", "Тип страхования", "Страховой продукт", "Вид",
       "Line", "Insurance type", "Line of business"),
    _f("insurer", "insurer", "Страховая компания", "Insurer",
       "СК", "Страховщик", "Компания", "Страховая", "Insurance company", "Carrier"),
    _f("series", "ident", "Серия", "Series", "Серия полиса", "Policy series"),
    _f("number", "ident", "Номер полиса", "Policy number",
       "№ полиса", "Полис", "Полис №", "Номер договора", "№ договора", "Договор", "Номер",
       "Серия и номер", "Серия и номер полиса", "Policy No", "Policy", "Number"),
    _f("starts_on", "date", "Дата начала", "Start date",
       "Начало", "Начало действия", "Дата начала действия", "Дата начала действия полиса",
       "Действует с", "Срок с", "С", "Период с", "Start", "Valid from", "Effective date"),
    _f("ends_on", "date", "Дата окончания", "End date",
       "Окончание", "Окончание действия", "Дата окончания действия",
       "Дата окончания действия полиса", "Действует по", "Действует до", "Срок по", "Срок до",
       "По", "До", "Дата пролонгации", "End", "Valid to", "Valid until", "Expiry date",
       "Expires"),
    _f("sold_on", "date", "Дата продажи", "Sale date",
       "Дата оформления", "Дата заключения", "Дата выдачи", "Дата сделки", "Sold on",
       "Issue date"),
    _f("premium", "money", "Премия", "Premium",
       "Страховая премия", "Стоимость", "Стоимость полиса", "Цена", "Сумма", "Сумма премии",
       "Премия руб", "Price", "Amount"),
    _f("commission_pct", "percent", "Комиссия %", "Commission %",
       "% комиссии", "КВ %", "% КВ", "Процент КВ", "Комиссия процент", "Ставка КВ",
       "Commission rate", "Commission pct"),
    _f("income", "money", "КВ", "Commission",
       "КВ руб", "Комиссия", "Комиссия руб", "Сумма КВ", "Доход", "Доход брокера",
       "Вознаграждение", "Наш доход", "Income", "Broker income", "Commission amount"),
    _f("seller_share", "money", "ЗП продавца", "Seller's share",
       "Доля продавца", "Зарплата продавца", "Seller share"),
    _f("issuer_share", "money", "ЗП оформителя", "Issuer's share",
       "Доля оформителя", "Зарплата оформителя", "Issuer share"),
    _f("manager", "user", "Менеджер", "Manager",
       "Ответственный", "Продавец", "Агент", "Сотрудник", "Seller", "Agent", "Responsible"),
    _f("issuer", "user", "Оформил", "Issued by",
       "Оформитель", "Кто оформил", "Issuer"),
    _f("sum_insured", "money", "Страховая сумма", "Sum insured",
       "Сумма страхования", "Insured amount"),
    _f("deductible", "money", "Франшиза", "Deductible"),
    _f("terms", "text", "Примечание", "Notes",
       "Комментарий", "Условия", "Примечания", "Заметки", "Note", "Comment", "Terms"),
    _f("make", "text", "Марка", "Make", "Марка ТС", "Марка автомобиля", "Brand"),
    _f("model", "text", "Модель", "Model", "Модель ТС", "Модель автомобиля"),
    _f("vehicle", "text", "Автомобиль", "Vehicle",
       "ТС", "Транспортное средство", "Авто", "Марка и модель", "Марка/модель", "Car"),
    _f("year", "year", "Год выпуска", "Year", "Год", "Год выпуска ТС", "Year of manufacture"),
    _f("plate", "text", "Госномер", "Plate",
       "Гос. номер", "Гос номер", "Госзнак", "Гос. рег. знак", "Номер ТС", "Номер авто",
       "Рег. знак", "Автомобиль номер", "License plate", "Registration number"),
    _f("vin", "ident", "VIN", "VIN", "VIN-номер", "VIN код", "Vin code"),
    _f("kind", "kind", "Наш/чужой", "Ours/foreign",
       "Тип (наш/чужой)", "Чей полис", "Принадлежность", "Kind", "Policy kind"),
    _f("contact_id", "amocrm_id", "ID контакта", "Contact ID",
       "Контакт ID", "amoCRM contact ID"),
    _f("deal_id", "amocrm_id", "ID сделки", "Deal ID",
       "Сделка ID", "Номер сделки", "amoCRM deal ID", "Lead ID"),
    _f("cancelled_on", "date", "Дата расторжения", "Cancelled on",
       "Расторгнут", "Cancellation date"),
    _f("refund", "money", "Возврат", "Refund", "Сумма возврата"),
    # The finance ledger export's own columns (a re-imported «Реестр», see ledger_format.py).
    _f("operation", "operation", "Операция", "Operation"),
    _f("booked_on", "date", "Дата операции", "Booked on"),
    _f("policy_key", "ident", "Ключ полиса", "Policy key"),
)

#: The finance export's column keys (``amo_bridge.exports.columns.LEDGER_COLUMNS``) → our
#: fields; ``""`` = read and ignored. A key not listed here that names one of our fields maps
#: to it directly.
EXPORT_KEYS: dict[str, str] = {
    "client": "client_name", "product": "product", "seller": "manager", "issuer": "issuer",
    "deal_url": "",
}

#: Headers that are read and deliberately ignored: our own rejected-rows CSV columns and
#: figures the bridge computes itself.
IGNORED: tuple[str, ...] = (
    "Ошибка", "Ошибки", "Причина", "Причина отказа", "Строка", "Строка файла",
    "Error", "Errors", "Reason", "Row", "Source row", "№ п/п", "#",
)

BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}

#: Policy fields the rows of a file must provide (a client is required as well:
#: one of :data:`CLIENT_FIELDS`).
REQUIRED = ("product", "ends_on")
CLIENT_FIELDS = ("client_name", "last_name", "phone")

_NOISE = re.compile(r"[\s.,:;!?\"'`«»“”()\[\]{}/\\|_*+=\-–—]+")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")


def header_key(text: object) -> str:
    """A header as compared: ``"Комиссия, %"`` → ``"комиссия %"``, ``"№ полиса"`` →
    ``"номер полиса"``."""
    value = str(text or "").casefold().replace("ё", "е").replace("№", " номер ")
    value = value.replace("%", " % ")
    return " ".join(part for part in _NOISE.split(value) if part)


def header_variants(text: object) -> list[str]:
    """Keys to try in order: as written, without parenthesised remarks, words sorted."""
    exact = header_key(text)
    bare = header_key(_PARENS.sub(" ", str(text or "")))
    variants = [exact, bare, " ".join(sorted(exact.split()))]
    return [v for i, v in enumerate(variants) if v and v not in variants[:i]]


def _extra_aliases() -> Mapping[str, Iterable[str]]:
    """The finance export's ledger headers (issue 8), both languages, by our field name."""
    try:
        from amo_bridge.exports.columns import LEDGER_COLUMNS
    except ImportError:  # the export is an optional part of a deployment's code
        return {}
    extra: dict[str, list[str]] = {}
    for column in LEDGER_COLUMNS:
        name = EXPORT_KEYS.get(column.key, column.key)
        if name == "" or name in BY_NAME:
            extra.setdefault(name, []).extend((column.ru, column.en))
    return extra


@lru_cache(maxsize=1)
def alias_index() -> dict[str, str]:
    """header key → field name (canonical labels, aliases, then the export's headers)."""
    index: dict[str, str] = {}

    def add(alias: str, name: str) -> None:
        for key in header_variants(alias)[:1] + [" ".join(sorted(header_key(alias).split()))]:
            other = index.get(key)
            if other is not None and other != name:
                raise ValueError(f"header alias {alias!r} names both {other} and {name}")
            index[key] = name

    for spec in FIELDS:
        for alias in (spec.label_ru, spec.label_en, *spec.aliases):
            add(alias, spec.name)
    for alias in IGNORED:
        add(alias, "")
    for name, aliases in _extra_aliases().items():
        for alias in aliases:
            if header_key(alias) not in index:
                add(alias, name)
    return index


def match_header(text: object) -> str | None:
    """The field a header names; ``""`` for a deliberately ignored header; None if unknown."""
    index = alias_index()
    for key in header_variants(text):
        if key in index:
            return index[key]
    return None


def field_by_label(value: str) -> str | None:
    """``--map`` targets: a field name (``phone``) or any of its labels or aliases."""
    value = value.strip()
    if value in BY_NAME:
        return value
    found = match_header(value)
    return found or None


def label(name: str, lang: str = "ru") -> str:
    spec = BY_NAME[name]
    return spec.label_en if lang == "en" else spec.label_ru
