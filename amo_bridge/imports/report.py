"""What an import reports: the summary, every problem with its row and column, the rejected rows.

The text report (what the CLI prints, and what the fixtures' expected reports hold) has no
times or paths in it, so the same file always gives the same report. The rejected-rows CSV has
the reason first, the source row number, then the row's cells under canonical headers, so the
broker can fix the cells and import that CSV again without ``--map``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from amo_bridge.i18n import DEFAULT_LANG, t
from amo_bridge.imports import fields
from amo_bridge.imports.headers import ALIAS, DUPLICATE, IGNORED, MAPPED, Column
from amo_bridge.imports.problems import ERROR, WARNING, BadValue, Issue
from amo_bridge.imports.values import excel_serial, looks_like_formula, text

_DIGITS = re.compile(r"^\+?[\d\s()\-]*\d$")
#: Issues kept in the run's JSON report for the widget (the CSV has every rejected row).
JSON_ISSUE_LIMIT = 1000


@dataclass
class Summary:
    read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0  # totals rows, ledger reversals and superseded lines
    empty: int = 0
    contacts_matched: int = 0
    contacts_created: int = 0
    money_lines: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class ImportResult:
    filename: str
    kind: str
    dry_run: bool
    format: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int = 0
    columns: tuple[Column, ...] = ()
    summary: Summary = field(default_factory=Summary)
    issues: list[Issue] = field(default_factory=list)
    new_contact_ids: list[int] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == WARNING]

    def describe_format(self, lang: str = DEFAULT_LANG) -> str:
        if self.format == "xlsx":
            return t("import.report.format_xlsx", lang, sheet=self.sheet or "")
        names = {";": "«;»", ",": "«,»", "\t": "TAB"}
        return t("import.report.format_csv", lang, encoding=self.encoding or "",
                 delimiter=names.get(self.delimiter or "", self.delimiter or ""))

    def to_json(self, lang: str = DEFAULT_LANG) -> dict[str, Any]:
        issues = self.errors[:JSON_ISSUE_LIMIT] + self.warnings[:JSON_ISSUE_LIMIT]
        return {
            "filename": self.filename, "kind": self.kind, "dry_run": self.dry_run,
            "format": self.format, "encoding": self.encoding, "delimiter": self.delimiter,
            "sheet": self.sheet, "header_row": self.header_row,
            "columns": [{"column": c.letter, "header": c.header, "field": c.field,
                         "how": c.how} for c in self.columns],
            "issues": [i.to_json(lang) for i in issues],
            "errors_total": len(self.errors), "warnings_total": len(self.warnings),
        }


def _column_line(column: Column, lang: str) -> str:
    if column.how in (ALIAS, MAPPED):
        how = "import.report.column_map" if column.how == MAPPED else "import.report.column"
        return t(how, lang, column=column.letter, header=column.header,
                 field=fields.label(column.field or "", lang))
    if column.how == IGNORED:
        return t("import.report.column_ignored", lang, column=column.letter, header=column.header)
    if column.how == DUPLICATE:
        return t("import.report.column_duplicate", lang, column=column.letter,
                 header=column.header)
    return t("import.report.column_unknown", lang, column=column.letter, header=column.header)


def render_text(result: ImportResult, lang: str = DEFAULT_LANG) -> str:
    """The report as the broker reads it (CLI output and the fixtures' expected reports)."""
    s = result.summary
    lines = [t("import.report.title_dry" if result.dry_run else "import.report.title", lang,
               filename=result.filename),
             t("import.report.format", lang, format=result.describe_format(lang),
               row=result.header_row),
             t("import.report.kind", lang, kind=t(f"import.kind.{result.kind}", lang)),
             t("import.report.columns", lang)]
    lines += ["  " + _column_line(c, lang) for c in result.columns]
    lines.append(t("import.report.summary_dry" if result.dry_run else "import.report.summary",
                   lang, read=s.read, imported=s.imported, updated=s.updated,
                   unchanged=s.unchanged, rejected=s.rejected))
    if s.skipped:
        lines.append(t("import.report.skipped", lang, count=s.skipped))
    if s.empty:
        lines.append(t("import.report.empty", lang, count=s.empty))
    lines.append(t("import.report.contacts_dry" if result.dry_run else
                   "import.report.contacts", lang, matched=s.contacts_matched,
                   created=s.contacts_created))
    if result.errors:
        lines.append(t("import.report.rejected", lang))
        lines += ["  " + issue.render(lang) for issue in result.errors]
    if result.warnings:
        lines.append(t("import.report.warnings", lang))
        lines += ["  " + issue.render(lang) for issue in result.warnings]
    return "\n".join(lines) + "\n"


# --- the rejected-rows CSV ------------------------------------------------------------------


def csv_cell(value: Any, *, fraction: bool = False, is_date: bool = False,
             digits: bool = False) -> str:
    """A cell as the broker typed it, safe to open in Excel: anything that starts like a
    formula gets Excel's text apostrophe, and phones and numbers (``digits``) are written as
    ``="0012345"`` so Excel keeps them as text; the importer drops both marks on the way in."""
    if is_date and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            value = excel_serial(float(value))  # shown as the date it stands for
        except BadValue:
            pass
    if value is None:
        shown = ""
    elif isinstance(value, bool):
        shown = str(value)
    elif isinstance(value, datetime | date):
        shown = text(value)
    elif isinstance(value, int | float):
        number = Decimal(repr(value)) * (100 if fraction else 1)
        shown = f"{number:f}"
        if "." in shown:
            shown = shown.rstrip("0").rstrip(".")
        shown = shown.replace(".", ",") + ("%" if fraction else "")
    else:
        shown = str(value)
    if digits and _DIGITS.match(shown):
        # Excel would read it as a number: leading zeros and digits past 15 would be lost.
        return '="' + shown + '"'
    if shown.startswith(("=", "+", "-", "@", "\t", "\r")) or looks_like_formula(shown):
        shown = "'" + shown
    return shown


class RejectedWriter:
    """Streams rejected rows into a CSV (UTF-8 with BOM, ``;``: what Russian Excel opens)."""

    def __init__(self, stream: TextIO, columns: tuple[Column, ...], *, lang: str = DEFAULT_LANG,
                 fraction_columns: frozenset[int] = frozenset()) -> None:
        self.columns = [c for c in columns if c.header]
        self.fraction = fraction_columns
        kinds = {c.index: fields.BY_NAME[c.field].kind for c in self.columns if c.field}
        self.dates = {i for i, kind in kinds.items() if kind == "date"}
        self.digits = {i for i, kind in kinds.items() if kind in ("phone", "ident", "amocrm_id")}
        self.lang = lang
        self.count = 0
        stream.write("\ufeff")
        self._csv = csv.writer(stream, delimiter=";", lineterminator="\r\n")
        headers = [fields.label(c.field, lang) if c.field and c.how in (ALIAS, MAPPED)
                   else c.header for c in self.columns]
        # The reason names a column the way this CSV heads it, not as the source file did.
        self.headers = {c.letter: h for c, h in zip(self.columns, headers, strict=True)}
        self._csv.writerow([t("import.csv.reason", lang), t("import.csv.row", lang), *headers])

    def write(self, row: int, cells: tuple[Any, ...], issues: list[Issue]) -> None:
        reason = "; ".join(
            (f"{self.headers.get(i.column or '', i.header)}: {i.message(self.lang)}"
             if i.header else i.message(self.lang))
            for i in issues if i.severity == ERROR)
        values = [csv_cell(cells[c.index] if c.index < len(cells) else None,
                           fraction=c.index in self.fraction, is_date=c.index in self.dates,
                           digits=c.index in self.digits)
                  for c in self.columns]
        self._csv.writerow([reason, row, *values])
        self.count += 1
