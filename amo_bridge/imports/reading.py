"""Opening a broker's file: XLSX through calamine (openpyxl's read-only mode for what calamine
does not tell, and for sheets too big to hold in memory), CSV through the csv module.

The format is told by the file's first bytes, not its name (brokers rename files). CSV text is
UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text") or cp1251; the delimiter
is whichever of ``;``, tab and ``,`` splits the first lines into the most consistent columns —
a decimal comma in a ``;`` file makes ``,`` inconsistent, so it loses.

Rows come out as tuples of raw values in file order; a row's position is its number as the
spreadsheet shows it (row 1 is the first line). An XLSX sheet is held in memory by calamine up
to ``calamine_rows.IN_MEMORY_LIMIT``; a bigger one is streamed in constant memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path
from typing import IO, Any

from amo_bridge.imports import calamine_rows, prefetch
from amo_bridge.imports.problems import ImportFileError
from amo_bridge.imports.values import EXCEL_EPOCH

#: Rows read up front to find the header (titles and notes above it included).
HEAD_ROWS = 30
DELIMITERS = (";", "\t", ",")
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")

Source = bytes | Path | str


@dataclass
class Sheet:
    format: str  # "xlsx" or "csv"
    head: list[tuple[Any, ...]]  # rows 1..len(head)
    rest: Iterator[tuple[Any, ...]]  # the rows after them, in order
    name: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    #: (first row, first column, last row, last column), 1-based, of merged cells.
    merged: tuple[tuple[int, int, int, int], ...] = ()
    #: 0-based columns whose numbers are shown in Excel's percent format (0.15 means 15 %).
    fraction_columns: frozenset[int] = frozenset()
    total_rows: int | None = None
    epoch: date = EXCEL_EPOCH
    reader: str = "csv"  # "calamine" or "openpyxl" for XLSX
    _closer: Any = field(default=None, repr=False)

    def close(self) -> None:
        if self._closer is not None:
            self._closer()
            self._closer = None


def _prefix(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source[:8]
    with open(source, "rb") as handle:
        return handle.read(8)


def open_sheet(source: Source, *, sheet: str | None = None) -> Sheet:
    """Open an XLSX (its first sheet, or ``sheet``) or a CSV file."""
    try:
        magic = _prefix(source)
    except OSError as exc:
        raise ImportFileError("import.file.unreadable", reason=exc.strerror or str(exc)) from None
    if not magic.strip():
        raise ImportFileError("import.file.empty")
    if magic.startswith(OLE_MAGIC):
        raise ImportFileError("import.file.xls")
    if magic.startswith(ZIP_MAGIC):
        return _open_xlsx(source, sheet)
    if sheet:
        raise ImportFileError("import.file.sheet_in_csv", sheet=sheet)
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    return _open_csv(raw)


# --- XLSX -----------------------------------------------------------------------------------


def _open_xlsx(source: Source, wanted: str | None) -> Sheet:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    handle: IO[bytes] | str = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        # data_only: a formula cell gives the value Excel last showed, as the broker saw it.
        book = load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise ImportFileError("import.file.unreadable", reason=str(exc)[:200]) from None
    try:
        names = book.sheetnames
        if wanted:
            exact = [n for n in names if n == wanted] or \
                [n for n in names if n.casefold().strip() == wanted.casefold().strip()]
            if not exact:
                raise ImportFileError("import.file.no_sheet", sheet=wanted,
                                      sheets=", ".join(f"«{n}»" for n in names))
            ws = book[exact[0]]
        else:
            ws = book.worksheets[0]
        if not hasattr(ws, "iter_rows"):
            raise ImportFileError("import.file.not_a_sheet", sheet=ws.title)
        total = ws.max_row
        # Some programs write a wrong used range; read what is really there.
        ws.reset_dimensions()
        head_cells = list(ws.iter_rows(max_row=HEAD_ROWS))
        fraction = _percent_columns(head_cells)
        epoch = book.epoch.date() if hasattr(book.epoch, "date") else EXCEL_EPOCH
        fast = _calamine(source, ws)
        if fast is not None:
            # openpyxl told the sheet, its number formats and epoch; calamine reads the cells.
            book.close()
            head = list(islice(fast.rows, HEAD_ROWS))
            return Sheet(format="xlsx", head=head, rest=fast.rows, name=ws.title,
                         merged=fast.merged, fraction_columns=fraction, total_rows=total,
                         epoch=epoch, reader="calamine", _closer=fast.close)
        head = [tuple(getattr(c, "value", None) for c in row) for row in head_cells]
        if total is not None and total > prefetch.MIN_ROWS:
            rest: Iterator[tuple[Any, ...]] = prefetch.prefetched_rows(
                source, ws.title, HEAD_ROWS + 1)
        else:
            rest = ws.iter_rows(min_row=HEAD_ROWS + 1, values_only=True)
        return Sheet(format="xlsx", head=head, rest=rest, name=ws.title,
                     merged=_merged_cells(ws), fraction_columns=fraction,
                     total_rows=total, epoch=epoch, reader="openpyxl", _closer=book.close)
    except BaseException:
        book.close()
        raise


def _calamine(source: Source, ws: Any) -> calamine_rows.CalamineSheet | None:
    """The sheet through calamine when it fits in memory (see calamine_rows), else None."""
    get_source = getattr(ws, "_get_source", None)  # openpyxl's read-only worksheet
    archive = getattr(ws.parent, "_archive", None)
    path = getattr(ws, "_worksheet_path", None)
    if get_source is None or archive is None or path is None:
        return None
    if archive.getinfo(path).file_size > calamine_rows.IN_MEMORY_LIMIT:
        return None
    return calamine_rows.open_rows(source, ws.title, xml=get_source)


def _percent_columns(rows: list[tuple[Any, ...]]) -> frozenset[int]:
    found: dict[int, list[bool]] = {}
    for row in rows:
        for index, cell in enumerate(row):
            if isinstance(getattr(cell, "value", None), int | float):
                found.setdefault(index, []).append("%" in (cell.number_format or ""))
    return frozenset(i for i, marks in found.items() if sum(marks) * 2 > len(marks))


def _column_number(letters: bytes) -> int:
    number = 0
    for char in letters:
        number = number * 26 + (char - 64)
    return number


def _merged_cells(ws: Any) -> tuple[tuple[int, int, int, int], ...]:
    """Merged ranges, which openpyxl's read-only mode does not expose.

    They sit after the cell data in the sheet's XML, so the stream is scanned once for
    ``<mergeCell ref="A1:C1"/>`` (it is decompressed anyway; nothing is kept but the ranges).
    """
    get_source = getattr(ws, "_get_source", None)  # openpyxl's read-only worksheet
    if get_source is None:
        return ()
    ranges: list[tuple[int, int, int, int]] = []
    tail = b""
    with get_source() as stream:
        while chunk := stream.read(1 << 20):
            data = tail + chunk
            last = 0
            for match in _MERGE.finditer(data):
                c1, r1, c2, r2 = match.groups()
                first = (int(r1), _column_number(c1))
                ranges.append((*first, int(r2 or r1), _column_number(c2 or c1)))
                last = match.end()
            tail = data[max(last, len(data) - 200):]
    return tuple(dict.fromkeys(ranges))


# --- CSV ------------------------------------------------------------------------------------


def decode(raw: bytes) -> tuple[str, str]:
    """The text and the encoding's name: BOMs first, then strict UTF-8, then cp1251."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # cp1251 decodes nearly any byte string; a file in another encoding then shows no
        # recognisable header, and the error says which encodings are understood.
        return raw.decode("cp1251"), "cp1251"
    except UnicodeDecodeError:
        raise ImportFileError("import.file.encoding") from None


def sniff_delimiter(text: str) -> str:
    sample = [line for line in text.splitlines()[:60] if line.strip()]
    best, best_score = DELIMITERS[0], (-1, -1, -1)
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(sample, delimiter=delimiter)]
        if not widths:
            continue
        common = max(set(widths), key=lambda w: (widths.count(w), w))
        score = (int(common > 1), widths.count(common), common)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _open_csv(raw: bytes) -> Sheet:
    text, encoding = decode(raw)
    if not text.strip():
        raise ImportFileError("import.file.empty")
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = (tuple(row) for row in reader)
    head = []
    for row in rows:
        head.append(row)
        if len(head) == HEAD_ROWS:
            break
    return Sheet(format="csv", head=head, rest=rows, encoding=encoding, delimiter=delimiter,
                 total_rows=text.count("\n") + (0 if text.endswith("\n") else 1))
