"""XLSX rows through calamine (python-calamine, a Rust reader): ten times openpyxl's speed.

openpyxl's read-only parser is pure Python: reading a 100 000-row base alone took longer than
the whole import may. calamine reads the same sheet in about a second, but it loads the sheet's
cells into memory at once (about 1.7 bytes per byte of the sheet's XML), so a sheet whose XML is
over :data:`IN_MEMORY_LIMIT` is left to openpyxl's streaming reader (``reading.py``), which keeps
memory flat whatever the size.

The importer must see what it saw from openpyxl, so the differences are settled here or
downstream:

- numbers come as ``float`` (openpyxl gives ``int`` for whole ones): ``values.text`` prints a
  whole float as its digits, and every reader converts both alike;
- empty cells come as ``""`` (openpyxl: ``None``): the importer treats both as empty, as it does
  for CSV;
- a cell holding an Excel error (``#N/A`` of a failed lookup, ``#DIV/0!``) comes as ``""``:
  those cells are found by one scan of the sheet's XML and put back as the text openpyxl shows,
  so such a row is still refused with the value named instead of silently losing the value;
- rows start at row 1, but cells start at the sheet's first used column: rows are padded so
  that index 0 is column A, as the header detection and the column letters expect.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

#: Sheets whose uncompressed XML is larger are streamed by openpyxl instead (about 150 000 rows
#: of a typical base; calamine would hold ~200 MB of cells for them).
IN_MEMORY_LIMIT = 120 * 1024 * 1024

_ERROR_CELL = re.compile(
    rb"<(?:\w+:)?c\s([^>]*?\bt=\"e\"[^>]*?)(?<!/)>(.*?)</(?:\w+:)?c>", re.S)
_REF = re.compile(rb"\br=\"([A-Z]+)(\d+)\"")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_TAIL = 4096  # bytes kept between chunks: an error cell split by a chunk boundary is whole again


@dataclass
class CalamineSheet:
    rows: Iterator[tuple[Any, ...]]  # from row 1 on
    merged: tuple[tuple[int, int, int, int], ...]  # 1-based, as ``reading.Sheet.merged``
    close: Callable[[], None]


def open_rows(source: bytes | Path | str, sheet: str, *, xml: Callable[[], IO[bytes]]
              ) -> CalamineSheet | None:
    """The sheet's rows through calamine, or None when calamine cannot read this file (the
    caller streams it with openpyxl). ``xml`` opens the sheet's XML (for error cells)."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - a declared dependency; openpyxl still works
        return None
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(source)) if isinstance(source, bytes) \
            else CalamineWorkbook.from_path(str(source))
    except Exception:  # noqa: BLE001 - any refusal: openpyxl opened it, let it read it
        return None
    try:
        found = book.get_sheet_by_name(sheet)
        merged = tuple((r1 + 1, c1 + 1, r2 + 1, c2 + 1)
                       for (r1, c1), (r2, c2) in found.merged_cell_ranges or ())
        start = found.start
        errors = _error_cells(xml)
    except Exception:  # noqa: BLE001 - as above
        book.close()
        return None
    return CalamineSheet(rows=_rows(found.iter_rows(), start[1] if start else 0, errors),
                         merged=merged, close=book.close)


def _rows(rows: Iterator[list[Any]], first_column: int, errors: dict[int, dict[int, str]]
          ) -> Iterator[tuple[Any, ...]]:
    pad = ("",) * first_column
    for number, cells in enumerate(rows, start=1):
        row = pad + tuple(cells) if first_column else tuple(cells)
        if errors and number in errors:
            patched = list(row)
            for column, value in errors[number].items():
                patched.extend([""] * (column + 1 - len(patched)))
                patched[column] = value
            row = tuple(patched)
        yield row


def _column_index(letters: bytes) -> int:
    number = 0
    for char in letters:
        number = number * 26 + (char - 64)
    return number - 1


def _error_cells(xml: Callable[[], IO[bytes]]) -> dict[int, dict[int, str]]:
    """Row number → {0-based column: error text} of the cells that hold an Excel error."""
    found: dict[int, dict[int, str]] = {}
    tail = b""
    with xml() as stream:
        while chunk := stream.read(1 << 20):
            data = tail + chunk
            last = 0
            if b't="e"' in data:
                for match in _ERROR_CELL.finditer(data):
                    ref = _REF.search(match.group(1))
                    value = _VALUE.search(match.group(2))
                    if ref is not None and value is not None:
                        row = found.setdefault(int(ref.group(2)), {})
                        row[_column_index(ref.group(1))] = value.group(1).decode()
                    last = match.end()
            tail = data[max(last, len(data) - _TAIL):]
    return found
