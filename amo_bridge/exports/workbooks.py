"""The Excel exports: what each kind contains, written sheet after sheet in constant memory.

- ``ledger``: the finance pack — «Реестр» (every money line of the period), then «Зарплата»,
  «План-факт» and «Пролонгации»;
- ``payroll``: «Зарплата» and the lines behind every figure («Зарплата — строки»);
- ``plan``: «План-факт»;
- ``retention``: «Пролонгации» (due in the period vs renewed, against targets).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from amo_bridge.exports.columns import (
    LEDGER_COLUMNS,
    OPERATIONS,
    PAYROLL_COLUMNS,
    PAYROLL_LINE_COLUMNS,
    PLAN_COLUMNS,
    RETENTION_COLUMNS,
    ROLES,
    SHEET_NAMES,
    YES,
)
from amo_bridge.exports.ledger import deal_url, ledger_rows, product_names
from amo_bridge.exports.xlsx import Book, Sheet
from amo_bridge.models import Account, ExportKind
from amo_bridge.reports.common import ReportFilter, ratio_pct, user_names
from amo_bridge.reports.payroll import payroll, payroll_lines
from amo_bridge.reports.plan_fact import plan_vs_fact
from amo_bridge.reports.retention import retention

SHEETS_OF: dict[str, tuple[str, ...]] = {
    ExportKind.LEDGER: ("ledger", "payroll", "plan", "retention"),
    ExportKind.PAYROLL: ("payroll", "payroll_lines"),
    ExportKind.PLAN: ("plan",),
    ExportKind.RETENTION: ("retention",),
}


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "ru"


def write_workbook(
    session: Session,
    *,
    account_id: int,
    kind: str,
    flt: ReportFilter,
    lang: str,
    path: Path,
    made_at: datetime,
) -> int:
    """Write the export of ``kind`` to ``path``; returns the data rows written (all sheets)."""
    lang = _lang(lang)
    book = Book(path, tmpdir=path.parent)
    writers: dict[str, Callable[[Session, Book, int, ReportFilter, str], Sheet]] = {
        "ledger": _ledger_sheet,
        "payroll": _payroll_sheet,
        "payroll_lines": _payroll_lines_sheet,
        "plan": _plan_sheet,
        "retention": _retention_sheet,
    }
    rows = 0
    try:
        for name in SHEETS_OF[ExportKind(kind)]:
            sheet = writers[name](session, book, account_id, flt, lang)
            rows += sheet.data_rows
            sheet.note(_caption(flt, lang, made_at))
    finally:
        book.close()
    return rows


def _caption(flt: ReportFilter, lang: str, made_at: datetime) -> str:
    parts = [f"{'Period' if lang == 'en' else 'Период'}: {flt.period.label()}"]
    for key, ru, en in (
        ("manager", "менеджер", "manager"),
        ("product", "продукт", "product"),
        ("insurer", "СК", "insurer"),
    ):
        value = getattr(flt, key)
        if value is not None and value != "":
            parts.append(f"{en if lang == 'en' else ru}: {value}")
    made = made_at.strftime("%d.%m.%Y %H:%M UTC")
    parts.append(f"{'made' if lang == 'en' else 'сформировано'} {made} amo-bridge")
    return "; ".join(parts)


def _ledger_sheet(
    session: Session, book: Book, account_id: int, flt: ReportFilter, lang: str
) -> Sheet:
    sheet = book.sheet(SHEET_NAMES["ledger"][lang], LEDGER_COLUMNS, lang=lang)
    for values in ledger_rows(session, account_id, flt, lang=lang):
        sheet.write(values)
    sheet.finish()
    return sheet


def _payroll_sheet(
    session: Session, book: Book, account_id: int, flt: ReportFilter, lang: str
) -> Sheet:
    sheet = book.sheet(SHEET_NAMES["payroll"][lang], PAYROLL_COLUMNS, lang=lang)
    for row in payroll(session, account_id, flt).rows:
        sheet.write(
            (
                row.employee_name,
                row.month,
                row.seller_policies,
                row.seller_share,
                row.issuer_policies,
                row.issuer_share,
                row.total,
            )
        )
    sheet.finish()
    return sheet


def _payroll_lines_sheet(
    session: Session, book: Book, account_id: int, flt: ReportFilter, lang: str
) -> Sheet:
    names = user_names(session, account_id)
    products = product_names(session, account_id, lang)
    account = session.get(Account, account_id)
    base_url = account.base_url if account else ""
    sheet = book.sheet(SHEET_NAMES["payroll_lines"][lang], PAYROLL_LINE_COLUMNS, lang=lang)
    # Streamed in booking order (constant memory); the autofilter sorts by employee.
    for line in payroll_lines(session, account_id, flt):
        sheet.write(
            (
                names.get(line.employee, f"#{line.employee}"),
                line.booked_on.replace(day=1),
                ROLES[line.role][lang],
                OPERATIONS[line.kind][lang],
                line.booked_on,
                line.client,
                products.get(line.product_code, line.product_code),
                line.insurer,
                line.number,
                line.premium,
                line.income,
                line.share,
                deal_url(base_url, line.deal_amocrm_id),
            )
        )
    sheet.finish()
    return sheet


def _plan_sheet(
    session: Session, book: Book, account_id: int, flt: ReportFilter, lang: str
) -> Sheet:
    report = plan_vs_fact(session, account_id, flt)
    sheet = book.sheet(SHEET_NAMES["plan"][lang], PLAN_COLUMNS, lang=lang)
    for row in report.rows:
        sheet.write(
            (
                row.manager_name or "—",
                row.month,
                row.policies,
                row.cancellations,
                row.premium,
                row.income,
                row.plan_income,
                row.income_pct,
                row.plan_premium,
                row.premium_pct,
            )
        )
    total = report.total
    sheet.finish(
        extra={
            "income_pct": total.income_pct if total else None,
            "premium_pct": total.premium_pct if total else None,
        }
    )
    return sheet


def _retention_sheet(
    session: Session, book: Book, account_id: int, flt: ReportFilter, lang: str
) -> Sheet:
    report = retention(session, account_id, flt)
    products = product_names(session, account_id, lang)
    sheet = book.sheet(SHEET_NAMES["retention"][lang], RETENTION_COLUMNS, lang=lang)

    def values(row, manager: str):
        return (
            products.get(row.product_code, row.product_code),
            manager,
            row.due,
            row.renewed,
            row.lost,
            row.pending,
            row.rate_pct,
            row.target_pct,
            YES[lang] if row.below_target else None,
        )

    for row in report.rows:
        sheet.write(values(row, row.manager_name or "—"), highlight=row.below_target)
    total = report.total
    sheet.finish(extra={"rate_pct": ratio_pct(total.renewed, total.due) if total else None})
    sheet.title("By product" if lang == "en" else "По продуктам")
    everyone = "all managers" if lang == "en" else "все менеджеры"
    for row in report.products:
        sheet.write(values(row, everyone), highlight=row.below_target, count=False)
    return sheet
