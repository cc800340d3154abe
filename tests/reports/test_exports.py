"""The Excel exports read back with openpyxl: cell by cell, typed, and injection-proof."""

from __future__ import annotations

import re
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest

from amo_bridge.clock import FrozenClock
from amo_bridge.exports import service
from amo_bridge.exports.columns import LEDGER_COLUMNS, PAYROLL_COLUMNS, headers
from amo_bridge.exports.workbooks import write_workbook
from amo_bridge.exports.xlsx import looks_like_formula
from amo_bridge.models import AuditLog, ExportRecord, ExportStatus
from amo_bridge.reports.common import ReportFilter
from amo_bridge.reports.period import Period
from tests.reports.dataset import rows
from tests.reports.test_reports import expected_ledger

MADE = datetime(2026, 12, 31, 9, tzinfo=UTC)


def _cell_value(column_type: str, value):
    """What a cell must hold for a ledger value, as openpyxl reads it."""
    if value is None:
        return None
    if column_type == "date":
        return datetime.combine(value, datetime.min.time())
    if column_type == "money":
        return pytest.approx(value / 100, abs=1e-9)
    if column_type == "percent":
        return pytest.approx(float(Decimal(value) / 100), abs=1e-12)
    return value


@pytest.fixture
def ledger_book(money_db, quarter, tmp_path):
    db, loaded = money_db
    path = tmp_path / "ledger.xlsx"
    with db.session() as session:
        written = write_workbook(
            session,
            account_id=loaded.account_id,
            kind="ledger",
            flt=quarter,
            lang="ru",
            path=path,
            made_at=MADE,
        )
    return path, written, loaded


def test_the_ledger_sheet_matches_the_ledger_cell_by_cell(ledger_book):
    path, written, loaded = ledger_book
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Реестр", "Зарплата", "План-факт", "Пролонгации"]
    sheet = book["Реестр"]
    table = list(sheet.iter_rows(values_only=True))
    assert list(table[0]) == headers(LEDGER_COLUMNS, "ru")
    expected = expected_ledger(loaded.users)
    assert len(expected) == 11
    for row_index, want in enumerate(expected, start=2):
        for col_index, column in enumerate(LEDGER_COLUMNS, start=1):
            cell = sheet.cell(row=row_index, column=col_index)
            value = want[column.key]
            if column.type == "url":
                assert cell.value == f'=HYPERLINK("{value}")'
                continue
            assert cell.value == _cell_value(column.type, value), (row_index, column.key)
            if column.type == "date":
                assert cell.is_date and cell.number_format == "dd.mm.yyyy"
            if column.type == "money":
                assert cell.number_format == "#,##0.00"
            if column.type == "percent":
                assert cell.number_format == "0.00%"
    # Frozen header, autofilter over header and data, a totals row that follows the filter.
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:S12"
    assert sheet["A13"].value == "Итого"
    assert sheet["H13"].value == "=SUBTOTAL(109,H2:H12)"
    values = openpyxl.load_workbook(path, data_only=True)["Реестр"]
    assert values["H13"].value == pytest.approx(126_866.81)
    assert values["J13"].value == pytest.approx(20_223.17)
    assert values["R2"].value == "https://broker.amocrm.ru/leads/detail/5005"
    assert written == 11 + 9 + 8 + 5  # ledger, payroll, plan vs fact and retention rows


def test_a_client_named_like_a_formula_comes_out_as_text(ledger_book):
    path, _, _ = ledger_book
    sheet = openpyxl.load_workbook(path)["Реестр"]
    cell = sheet["D5"]  # P3's client
    assert cell.value == '=HYPERLINK("http://x","y")'
    assert cell.data_type == "s" and cell.quotePrefix
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    d5 = re.search(r'<c r="D5"[^>]*>.*?</c>', xml).group(0)
    assert "<f>" not in d5 and 't="inlineStr"' in d5
    # The only formulas anywhere are our SUBTOTALs and deal links.
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                for formula in re.findall(r"<f>(.*?)</f>", archive.read(name).decode()):
                    assert formula.startswith(("SUBTOTAL(109,", 'HYPERLINK("https://'))


@pytest.mark.parametrize("text", ["=1+1", "+7 999", "-5", "@SUM(A1)", "\tx", "\rx"])
def test_formula_starts_are_recognised(text):
    assert looks_like_formula(text)
    assert not looks_like_formula("Иванов")


def test_payroll_export_in_english_with_lines(money_db, quarter, tmp_path):
    db, loaded = money_db
    path = tmp_path / "payroll.xlsx"
    with db.session() as session:
        write_workbook(
            session,
            account_id=loaded.account_id,
            kind="payroll",
            flt=quarter,
            lang="en",
            path=path,
            made_at=MADE,
        )
    book = openpyxl.load_workbook(path, data_only=True)
    assert book.sheetnames == ["Payroll", "Payroll lines"]
    table = list(book["Payroll"].iter_rows(values_only=True))
    assert list(table[0]) == headers(PAYROLL_COLUMNS, "en")
    expected = [e for e in rows("expected_payroll.csv") if e["month"] != "total"]
    for got, want in zip(table[1:10], expected, strict=True):
        assert got[0] == loaded.users[int(want["employee"])]
        assert got[1] == datetime.fromisoformat(want["month"] + "-01")
        assert round(got[3] * 100) == int(want["seller_share"])
        assert round(got[6] * 100) == int(want["total"])
    assert table[10][0] == "Total" and round(table[10][6] * 100) == 755_210
    lines = list(book["Payroll lines"].iter_rows(values_only=True))
    shares = [
        row[11]
        for row in lines[1:]
        if row[0] not in (None, "Total") and not str(row[0]).startswith("Period")
    ]
    assert round(sum(shares) * 100) == 755_210


def test_plan_and_retention_exports(money_db, tmp_path):
    db, loaded = money_db
    with db.session() as session:
        write_workbook(
            session,
            account_id=loaded.account_id,
            kind="retention",
            flt=ReportFilter(period=Period.parse("2026-11")),
            lang="ru",
            path=tmp_path / "r.xlsx",
            made_at=MADE,
        )
        write_workbook(
            session,
            account_id=loaded.account_id,
            kind="plan",
            flt=ReportFilter(period=Period.parse("2026-10..2026-12")),
            lang="ru",
            path=tmp_path / "p.xlsx",
            made_at=MADE,
        )
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx", data_only=True)["Пролонгации"]
    table = list(sheet.iter_rows(values_only=True))
    osago_anna = next(r for r in table if r[0] == "ОСАГО" and r[1] == "Анна Смирнова")
    assert osago_anna[2:9] == (3, 2, 1, 0, pytest.approx(0.6667), pytest.approx(0.75), "да")
    assert sheet.cell(row=table.index(osago_anna) + 1, column=1).fill.fgColor.rgb.endswith(
        "FFC7CE"
    )  # below target: marked
    assert ("Итого", None, 8, 4, 2, 2, pytest.approx(0.5)) == table[6][:7]
    plan = list(
        openpyxl.load_workbook(tmp_path / "p.xlsx", data_only=True)["План-факт"].iter_rows(
            values_only=True
        )
    )
    assert plan[1][:8] == (
        "Анна Смирнова",
        datetime(2026, 10, 1),
        1,
        0,
        pytest.approx(12_345.67),
        pytest.approx(1_543.21),
        pytest.approx(2_000.0),
        pytest.approx(0.7716),
    )
    total = next(r for r in plan if r[0] == "Итого")
    assert round(total[5] * 100) == 2_022_317 and total[7] == pytest.approx(0.6741)


def test_requests_are_audited_refusals_included_and_files_expire(money_db, quarter, tmp_path):
    db, loaded = money_db
    clock = FrozenClock(MADE)
    with db.session() as session:
        refused = service.request_export(
            session,
            account_id=loaded.account_id,
            kind="ledger",
            flt=quarter,
            lang="ru",
            requester=service.Requester("widget", 101, frozenset({"manager"})),
            clock=clock,
        )
        allowed = service.request_export(
            session,
            account_id=loaded.account_id,
            kind="plan",
            flt=quarter,
            lang="ru",
            requester=service.Requester("widget", 901, frozenset({"manager", "finance"})),
            clock=clock,
        )
        assert (refused.status, allowed.status) == (ExportStatus.REFUSED, ExportStatus.QUEUED)
        assert service.start_export(session, refused.id, clock=clock) is None
        assert service.start_export(session, allowed.id, clock=clock) is not None
        assert service.start_export(session, allowed.id, clock=clock) is None  # running
        done = service.complete_export(session, allowed.id, exports_dir=tmp_path, clock=clock)
        path = service.export_file(done, tmp_path)
        assert path.is_file() and done.rows == 8
        assert done.file_name == "План-факт_2026-10—2026-12.xlsx"
        actions = [a.action for a in session.query(AuditLog).order_by(AuditLog.id)]
        assert actions == ["export.refused", "export.requested", "export.finished"]
        clock.advance(timedelta(hours=25))
        assert service.purge_exports(session, exports_dir=tmp_path, clock=clock) == 1
        assert not path.exists()
        assert session.get(ExportRecord, allowed.id).status == ExportStatus.EXPIRED


def test_an_empty_period_still_makes_a_valid_workbook(money_db, tmp_path):
    db, loaded = money_db
    path = tmp_path / "empty.xlsx"
    with db.session() as session:
        rows_written = write_workbook(
            session,
            account_id=loaded.account_id,
            kind="ledger",
            flt=ReportFilter(period=Period.parse("2030-01")),
            lang="ru",
            path=path,
            made_at=MADE,
        )
    assert rows_written == 0
    sheet = openpyxl.load_workbook(path)["Реестр"]
    assert [c.value for c in sheet[2]][:1] == ["Итого"]
    assert sheet["H2"].value == 0  # not a formula that sums itself
