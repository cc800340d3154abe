"""XLSX through calamine reads what openpyxl read: the same report, row for row.

calamine (a Rust reader) is what makes a 100 000-row base import in seconds; openpyxl's
streaming reader stays for sheets too big to hold in memory. Both readers must give the importer
the same rows: merged header cells, date cells and Excel serials, phones and numbers typed as
numbers, Excel error cells, a table that starts below a title and right of column A.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
import xlsxwriter

from amo_bridge.imports import calamine_rows, render_text
from amo_bridge.imports.reading import open_sheet
from tests.imports.conftest import FIXTURES


def _odd_workbook(path) -> None:
    """A table at B3 under a title, with the cells brokers' files really hold."""
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("База")
    day = book.add_format({"num_format": "dd.mm.yyyy"})
    pct = book.add_format({"num_format": "0%"})
    ws.merge_range(0, 1, 0, 8, "Полисы клиентов — выгрузка")
    ws.write_row(2, 1, ("ФИО", "Телефон", "Продукт", "СК", "Номер полиса", "Дата начала",
                        "Дата окончания", "Премия", "КВ %", "Примечание"))
    rows = [
        ("Иванов Иван", 79161112233, "ОСАГО", "Ингосстрах", "ХХХ 0000000001",
         datetime(2024, 3, 1), datetime(2025, 2, 28), 8123.45, 0.15, "пролонгация"),
        ("Петров Пётр", "8 916 123-45-67", "КАСКО", "ВСК", 1234567890123456,
         45352, 45716, 54000, 0.12, time(12, 30)),
        ("Сидоров Олег", "#N/A", "ОСАГО", "ВСК", "ХХХ 0000000002",
         datetime(2024, 3, 1), datetime(2025, 2, 28), "#DIV/0!", 0.1, True),
        None,  # an empty row inside the table
        ("Кузнецова Анна", "8 903 000-00-01", "Имущество", "Согласие", 777,
         "01.04.2024", "31.03.2025", "12 500,50", "15%", None),
        ("Белов Артём", "8 903 000-00-02", "ОСАГО", "Согласие", "ХХХ 0000000003",
         datetime(2024, 5, 1), "31.02.2025", 5000, 0.1, 0),
    ]
    for r, row in enumerate(rows, start=3):
        if row is None:
            continue
        for c, value in enumerate(row, start=1):
            if isinstance(value, str) and value.startswith("#"):
                ws.write_formula(r, c, "=NA()", None, value)  # an error Excel last showed
            elif isinstance(value, datetime):
                ws.write_datetime(r, c, value, day)
            elif isinstance(value, time):
                ws.write_datetime(r, c, value, book.add_format({"num_format": "hh:mm"}))
            elif c == 9 and isinstance(value, float):
                ws.write_number(r, c, value, pct)
            elif value is not None:
                ws.write(r, c, value)
    book.close()


def _dry_run(ledger, path, monkeypatch, *, reader: str):
    if reader == "openpyxl":
        monkeypatch.setattr(calamine_rows, "IN_MEMORY_LIMIT", -1)  # as for a huge sheet
    else:
        monkeypatch.setattr(calamine_rows, "IN_MEMORY_LIMIT", 120 * 1024 * 1024)
    sheet = open_sheet(path)
    assert sheet.reader == reader
    sheet.close()
    result, rejected = ledger.run(path, dry_run=True)
    return render_text(result, "ru"), render_text(result, "en"), rejected


@pytest.mark.parametrize("name", ["merged_serial.xlsx", "odd.xlsx"])
def test_calamine_and_openpyxl_give_the_same_report(ledger, tmp_path, monkeypatch, name):
    path = FIXTURES / name
    if name == "odd.xlsx":
        path = tmp_path / name
        _odd_workbook(path)
    fast = _dry_run(ledger, path, monkeypatch, reader="calamine")
    slow = _dry_run(ledger, path, monkeypatch, reader="openpyxl")
    assert fast == slow
    assert "Итого" not in fast[2]  # sanity: the reports are real ones
    if name == "odd.xlsx":
        report, rejected = fast[0], fast[2]
        # Error cells are refused with their value, as openpyxl showed them, not read as empty.
        assert "«#DIV/0!» — не число" in report and ";#N/A;" in rejected
        assert "строка 6" in report  # rows numbered as Excel shows them (title, blank, header)
        assert "31.02.2025" in report


def test_calamine_rows_start_at_column_a_and_row_1(tmp_path):
    path = tmp_path / "odd.xlsx"
    _odd_workbook(path)
    sheet = open_sheet(path)
    rows = [*sheet.head, *sheet.rest]
    sheet.close()
    assert sheet.reader == "calamine"
    assert rows[0][1] == "Полисы клиентов — выгрузка" and rows[0][0] in ("", None)
    assert rows[2][1:3] == ("ФИО", "Телефон")
    assert rows[3][2] == 79161112233  # a number; the importer reads it as the digits
    assert rows[3][6] == date(2024, 3, 1)
    assert rows[5][2] == "#N/A" and rows[5][8] == "#DIV/0!"
    assert (1, 2, 1, 9) in sheet.merged
    assert sheet.fraction_columns == frozenset({9})


def test_bytes_and_paths_read_alike():
    raw = (FIXTURES / "merged_serial.xlsx").read_bytes()
    from_bytes = open_sheet(raw)
    from_path = open_sheet(FIXTURES / "merged_serial.xlsx")
    try:
        assert from_bytes.reader == from_path.reader == "calamine"
        assert [*from_bytes.head, *from_bytes.rest] == [*from_path.head, *from_path.rest]
        assert from_bytes.merged == from_path.merged
    finally:
        from_bytes.close()
        from_path.close()
