"""The columns of every Excel sheet, defined once — headers in Russian (default) and English.

The ledger sheet («Реестр») is the finance table of seed 002 and the round-trip format of
``amo-bridge import-policies``: the importer reads :data:`LEDGER_COLUMNS` (``key`` → both
headers) as aliases, so a ledger exported here imports back. How its cells are typed:

- dates are real Excel dates (``dd.mm.yyyy``);
- money is roubles as numbers with two decimals (kopecks / 100);
- ``commission_pct`` is a fraction with a percent format (0.125 shows as 12,5 %);
- ``operation`` is one of :data:`OPERATIONS` — a re-import takes «Продажа»/«Исправление» rows
  as policy lines, «Расторжение» rows as cancellations (date = ``booked_on``, refund =
  −``premium``), and skips «Сторно» rows;
- the last row, after the data, is the totals row: «Итого» in the first column.
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT, DATE, MONEY, PERCENT, INT, URL = "text", "date", "money", "percent", "int", "url"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    ru: str
    en: str
    type: str = TEXT
    width: float = 14
    total: bool = False  # the totals row sums this column

    def header(self, lang: str = "ru") -> str:
        return self.en if lang == "en" else self.ru


def headers(columns: tuple[Column, ...], lang: str = "ru") -> list[str]:
    return [c.header(lang) for c in columns]


LEDGER_COLUMNS: tuple[Column, ...] = (
    Column("operation", "Операция", "Operation", TEXT, 13),
    Column("booked_on", "Дата операции", "Booked on", DATE, 12),
    Column("sold_on", "Дата сделки", "Deal date", DATE, 12),
    Column("client", "Клиент", "Client", TEXT, 30),
    Column("product", "Продукт", "Product", TEXT, 12),
    Column("insurer", "Страховая компания", "Insurer", TEXT, 22),
    Column("number", "Номер полиса", "Policy number", TEXT, 20),
    Column("premium", "Премия", "Premium", MONEY, 14, total=True),
    Column("commission_pct", "Комиссия, %", "Commission, %", PERCENT, 11),
    Column("income", "Доход брокера", "Broker income", MONEY, 14, total=True),
    Column("starts_on", "Дата начала", "Start date", DATE, 12),
    Column("ends_on", "Дата окончания", "End date", DATE, 12),
    Column("seller", "Продавец", "Seller", TEXT, 20),
    Column("issuer", "Оформитель", "Issuer", TEXT, 20),
    Column("seller_share", "ЗП продавца", "Seller's share", MONEY, 13, total=True),
    Column("issuer_share", "ЗП оформителя", "Issuer's share", MONEY, 13, total=True),
    Column("deal_id", "ID сделки", "Deal ID", INT, 11),
    Column("deal_url", "Сделка в amoCRM", "Deal in amoCRM", URL, 40),
    Column("policy_key", "Ключ полиса", "Policy key", TEXT, 24),
)

#: Ledger line kinds as the sheet names them.
OPERATIONS: dict[str, dict[str, str]] = {
    "sale": {"ru": "Продажа", "en": "Sale"},
    "cancellation": {"ru": "Расторжение", "en": "Cancellation"},
    "reversal": {"ru": "Сторно", "en": "Reversal"},
    "correction": {"ru": "Исправление", "en": "Correction"},
}

TOTAL_LABEL = {"ru": "Итого", "en": "Total"}

PAYROLL_COLUMNS: tuple[Column, ...] = (
    Column("employee", "Сотрудник", "Employee", TEXT, 24),
    Column("month", "Месяц", "Month", DATE, 11),
    Column("seller_policies", "Продано полисов", "Policies sold", INT, 12, total=True),
    Column("seller_share", "ЗП продавца", "Seller's share", MONEY, 14, total=True),
    Column("issuer_policies", "Оформлено полисов", "Policies issued", INT, 12, total=True),
    Column("issuer_share", "ЗП оформителя", "Issuer's share", MONEY, 14, total=True),
    Column("total", "Итого ЗП", "Total pay", MONEY, 14, total=True),
)

PAYROLL_LINE_COLUMNS: tuple[Column, ...] = (
    Column("employee", "Сотрудник", "Employee", TEXT, 24),
    Column("month", "Месяц", "Month", DATE, 11),
    Column("role", "Роль", "Role", TEXT, 12),
    Column("operation", "Операция", "Operation", TEXT, 13),
    Column("booked_on", "Дата операции", "Booked on", DATE, 12),
    Column("client", "Клиент", "Client", TEXT, 28),
    Column("product", "Продукт", "Product", TEXT, 12),
    Column("insurer", "Страховая компания", "Insurer", TEXT, 20),
    Column("number", "Номер полиса", "Policy number", TEXT, 18),
    Column("premium", "Премия", "Premium", MONEY, 14),
    Column("income", "Доход брокера", "Broker income", MONEY, 14),
    Column("share", "Начислено", "Share", MONEY, 13, total=True),
    Column("deal_url", "Сделка в amoCRM", "Deal in amoCRM", URL, 40),
)

ROLES = {
    "seller": {"ru": "продавец", "en": "seller"},
    "issuer": {"ru": "оформитель", "en": "issuer"},
}

PLAN_COLUMNS: tuple[Column, ...] = (
    Column("manager", "Менеджер", "Manager", TEXT, 24),
    Column("month", "Месяц", "Month", DATE, 11),
    Column("policies", "Полисов", "Policies", INT, 10, total=True),
    Column("cancellations", "Расторжений", "Cancellations", INT, 12, total=True),
    Column("premium", "Премия", "Premium", MONEY, 14, total=True),
    Column("income", "Доход брокера", "Broker income", MONEY, 14, total=True),
    Column("plan_income", "План по доходу", "Income plan", MONEY, 14, total=True),
    Column("income_pct", "% плана по доходу", "% of income plan", PERCENT, 12),
    Column("plan_premium", "План по премии", "Premium plan", MONEY, 14, total=True),
    Column("premium_pct", "% плана по премии", "% of premium plan", PERCENT, 12),
)

RETENTION_COLUMNS: tuple[Column, ...] = (
    Column("product", "Продукт", "Product", TEXT, 14),
    Column("manager", "Менеджер", "Manager", TEXT, 24),
    Column("due", "К пролонгации", "Due", INT, 12, total=True),
    Column("renewed", "Пролонгировано", "Renewed", INT, 13, total=True),
    Column("lost", "Не пролонгировано", "Lost", INT, 13, total=True),
    Column("pending", "В работе", "Pending", INT, 10, total=True),
    Column("rate_pct", "% пролонгации", "Retention, %", PERCENT, 12),
    Column("target_pct", "Норматив, %", "Target, %", PERCENT, 11),
    Column("below_target", "Ниже норматива", "Below target", TEXT, 12),
)

SHEET_NAMES = {
    "ledger": {"ru": "Реестр", "en": "Ledger"},
    "payroll": {"ru": "Зарплата", "en": "Payroll"},
    "payroll_lines": {"ru": "Зарплата — строки", "en": "Payroll lines"},
    "plan": {"ru": "План-факт", "en": "Plan vs fact"},
    "retention": {"ru": "Пролонгации", "en": "Retention"},
}

YES = {"ru": "да", "en": "yes"}
