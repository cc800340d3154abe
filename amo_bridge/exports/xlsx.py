"""Streaming xlsx sheets: XlsxWriter in constant-memory mode, typed cells, no formula injection.

- Constant memory: each row goes to a temporary file as soon as the next row starts, so memory
  stays flat whatever the row count. Rows must be written top to bottom, one sheet at a time.
- Typed cells: dates are Excel serial numbers with a date format, money is roubles with a money
  format, percentages are fractions with a percent format; text is always ``write_string``.
- Injection: text is never a formula. A value a spreadsheet would read as one (``=``, ``+``,
  ``-``, ``@``, tab or CR first — OWASP "CSV injection") is written as a string cell with
  Excel's *quote prefix*, so it stays text even when someone edits the cell later.
- The only formulas in a file are ours: ``SUBTOTAL`` in the totals row (it follows the
  autofilter) and ``HYPERLINK`` to the deal (plain ``write_url`` links stop at 65 530 a sheet),
  each with its value cached, so readers that do not calculate still see the numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from amo_bridge.exports.columns import DATE, INT, MONEY, PERCENT, TEXT, URL, Column

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_EPOCH = date(1899, 12, 30)
_SAFE_URL = re.compile(r"^https?://[^\s\"<>]+$")


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


_EPOCH_ORDINAL = EXCEL_EPOCH.toordinal()


def excel_serial(day: date) -> int:
    return day.toordinal() - _EPOCH_ORDINAL


@lru_cache(maxsize=1024)
def percent_fraction(pct: Decimal) -> float:
    """12.5 (%) → 0.125, exactly rounded once; commission rates repeat, so it is cached."""
    return float(Decimal(pct) / 100)


class LedgerWorksheet(Worksheet):
    """A worksheet that skips XlsxWriter's future-function rewriting for our own two formulas.

    XlsxWriter runs some thirty regular expressions over every formula to prefix functions
    added after Excel 2010 (``_xlfn.``); with a deal link on every ledger row that was 40 % of
    the export's time. HYPERLINK and SUBTOTAL are old functions: nothing to rewrite. (The
    ``worksheet_class`` hook is XlsxWriter's documented way to customise worksheets.)
    """

    def _prepare_formula(self, formula, expand_future_functions=False):
        if formula.startswith(("=HYPERLINK(", "=SUBTOTAL(")):
            return formula[1:]
        return super()._prepare_formula(formula, expand_future_functions)


class Book:
    """One workbook on disk, written in constant memory."""

    def __init__(self, path: Path | str, *, tmpdir: Path | str | None = None) -> None:
        options: dict[str, Any] = {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        }
        if tmpdir is not None:
            options["tmpdir"] = str(tmpdir)
        self.workbook = xlsxwriter.Workbook(str(path), options)
        add = self.workbook.add_format
        self.formats = {
            "header": add(
                {
                    "bold": True,
                    "text_wrap": True,
                    "valign": "top",
                    "bg_color": "#DDEBF7",
                    "border": 1,
                }
            ),
            TEXT: None,
            "quoted": add({"quote_prefix": True}),
            DATE: add({"num_format": "dd.mm.yyyy"}),
            MONEY: add({"num_format": "#,##0.00"}),
            PERCENT: add({"num_format": "0.00%"}),
            INT: add({"num_format": "0"}),
            URL: add({"font_color": "blue", "underline": 1}),
            "total_label": add({"bold": True, "top": 1}),
            "total_money": add({"bold": True, "top": 1, "num_format": "#,##0.00"}),
            "total_int": add({"bold": True, "top": 1, "num_format": "0"}),
            "total_pct": add({"bold": True, "top": 1, "num_format": "0.00%"}),
            "total_blank": add({"top": 1}),
            "warn": add({"bg_color": "#FFC7CE", "font_color": "#9C0006"}),
        }

    def sheet(self, name: str, columns: Sequence[Column], *, lang: str) -> Sheet:
        worksheet = self.workbook.add_worksheet(name[:31], worksheet_class=LedgerWorksheet)
        return Sheet(self, worksheet, tuple(columns), lang=lang)

    def close(self) -> None:
        self.workbook.close()


class Sheet:
    """A table: a frozen header row, typed data rows, an autofilter and a totals row."""

    def __init__(
        self, book: Book, worksheet: Any, columns: tuple[Column, ...], *, lang: str
    ) -> None:
        self.book = book
        self.ws = worksheet
        self.columns = columns
        self.lang = lang
        self.row = 0
        self.data_rows = 0
        self.sums = [0 for _ in columns]  # kopecks or counts, exact
        # Rows are written with integer coordinates only: skip the public methods' "A1"
        # notation parsing (a decorator call per cell) when this XlsxWriter has the plain ones.
        self._number = getattr(worksheet, "_write_number", worksheet.write_number)
        self._string = getattr(worksheet, "_write_string", worksheet.write_string)
        self._writers = [self._writer_for(c) for c in columns]
        self._summed = [i for i, c in enumerate(columns) if c.total]
        for index, column in enumerate(columns):
            self.ws.set_column(index, index, column.width)
        self.ws.set_row(0, 30)
        for index, column in enumerate(columns):
            self.ws.write_string(0, index, column.header(lang), book.formats["header"])
        self.ws.freeze_panes(1, 0)
        self.row = 1

    def _writer_for(self, column: Column) -> Callable[[int, int, Any, Any], None]:
        formats = self.book.formats
        number = self._number
        if column.type == DATE:
            fmt = formats[DATE]
            return lambda r, c, v, _f: number(r, c, excel_serial(v), fmt)
        if column.type == MONEY:
            fmt = formats[MONEY]
            return lambda r, c, v, f: number(r, c, v / 100, f or fmt)
        if column.type == PERCENT:
            fmt = formats[PERCENT]
            return lambda r, c, v, f: number(r, c, percent_fraction(v), f or fmt)
        if column.type == INT:
            fmt = formats[INT]
            return lambda r, c, v, f: number(r, c, v, f or fmt)
        if column.type == URL:
            return self._write_link
        return self._write_text

    def _write_text(self, r: int, c: int, value: Any, fmt: Any) -> None:
        text = str(value)
        if looks_like_formula(text):
            fmt = self.book.formats["quoted"]
        self._string(r, c, text, fmt)

    def _write_link(self, r: int, c: int, url: str, _fmt: Any) -> None:
        if _SAFE_URL.match(url):
            self.ws.write_formula(r, c, f'=HYPERLINK("{url}")', self.book.formats[URL], url)
        else:
            self._write_text(r, c, url, None)

    def write(self, values: Sequence[Any], *, highlight: bool = False, count: bool = True) -> None:
        """One row; ``None`` leaves a cell empty. Money in kopecks, percent as Decimal.

        ``count=False`` writes a row below the table that the totals do not include.
        """
        fmt = self.book.formats["warn"] if highlight else None
        r = self.row
        writers = self._writers
        for c, value in enumerate(values):
            if value is not None and value != "":
                writers[c](r, c, value, fmt)
        if count:
            sums = self.sums
            for c in self._summed:
                if values[c] is not None:
                    sums[c] += values[c]
        self.row += 1
        self.data_rows += 1 if count else 0

    def title(self, text: str) -> None:
        """A bold caption below the table, after an empty row (starts a block of rows)."""
        self.row += 1
        self.ws.write_string(self.row, 0, text, self.book.formats["total_label"])
        self.row += 1

    def finish(self, *, totals: bool = True, extra: dict[str, Any] | None = None) -> None:
        """Autofilter over header and data; then the totals row (SUBTOTAL follows the filter).

        ``extra`` gives totals-row values for columns that are not sums (a total % of plan).
        """
        last_col = len(self.columns) - 1
        self.ws.autofilter(0, 0, max(self.row - 1, 1), last_col)
        if not totals:
            return
        formats = self.book.formats
        r = self.row
        label = {"ru": "Итого", "en": "Total"}[self.lang if self.lang == "en" else "ru"]
        for c, column in enumerate(self.columns):
            if c == 0:
                self.ws.write_string(r, c, label, formats["total_label"])
                continue
            if extra and extra.get(column.key) is not None:
                kind = {MONEY: "total_money", INT: "total_int", PERCENT: "total_pct"}
                self._writers[c](
                    r, c, extra[column.key], formats[kind.get(column.type, "total_label")]
                )
                continue
            if not column.total:
                self.ws.write_blank(r, c, None, formats["total_blank"])
                continue
            fmt = formats["total_money" if column.type == MONEY else "total_int"]
            value = self.sums[c] / 100 if column.type == MONEY else self.sums[c]
            if r == 1:  # no data rows: a plain zero (a SUBTOTAL would refer to itself)
                self.ws.write_number(r, c, value, fmt)
                continue
            letter = xl_col_to_name(c)
            self.ws.write_formula(r, c, f"=SUBTOTAL(109,{letter}2:{letter}{r})", fmt, value)
        self.row += 1

    def note(self, text: str) -> None:
        """A line of plain text below the table (period, filters, when it was made)."""
        self.row += 1
        self.ws.write_string(self.row, 0, text)
        self.row += 1
