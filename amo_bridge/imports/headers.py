"""Finding the header in the first rows and deciding what each column holds.

Brokers' sheets often start with a title, and group columns under merged cells::

    | Клиент (merged A1:B1) | Полис (merged C1:E1)                   | ФИО? …
    | ФИО  | Телефон        | Номер | Дата начала | Дата окончания   |

Merged cells are filled with their value first; then every row of the first
:data:`~amo_bridge.imports.reading.HEAD_ROWS` is scored by how many of its cells name a known
field — alone, under the group label in the row above (``Автомобиль`` + ``Номер`` is the plate,
``Номер`` alone the policy number), or the upper label when the cell below it is empty (a
vertically merged header). The best row is the header; data starts below it. ``--map``
overrides win over aliases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl.utils import get_column_letter

from amo_bridge.imports import fields
from amo_bridge.imports.problems import WARNING, ImportFileError, Issue
from amo_bridge.imports.values import text

ALIAS = "alias"
MAPPED = "map"
IGNORED = "ignored"
UNKNOWN = "unknown"
DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Column:
    index: int  # 0-based
    header: str  # as written (a group label joined with " / ")
    field: str | None
    how: str

    @property
    def letter(self) -> str:
        return get_column_letter(self.index + 1)


@dataclass(frozen=True, slots=True)
class Layout:
    header_row: int  # the last header row, 1-based; data starts on the next row
    columns: tuple[Column, ...]
    issues: tuple[Issue, ...] = ()

    def by_field(self) -> dict[str, Column]:
        return {c.field: c for c in self.columns if c.field and c.how in (ALIAS, MAPPED)}


def parse_map(specs: Sequence[str]) -> dict[str, str]:
    """``["Моя колонка=phone", "Лишнее="]`` → header key → field (``""`` ignores the column)."""
    mapping: dict[str, str] = {}
    for spec in specs:
        header, sep, target = spec.partition("=")
        if not sep or not header.strip():
            raise ImportFileError("import.map.syntax", spec=spec)
        target = target.strip()
        if target in ("", "-"):
            mapping[fields.header_key(header)] = ""
            continue
        name = fields.field_by_label(target)
        if not name:
            raise ImportFileError("import.map.unknown_field", field=target,
                                  fields=", ".join(s.name for s in fields.FIELDS))
        mapping[fields.header_key(header)] = name
    return mapping


def _grid(head: Sequence[tuple[Any, ...]], merged: Sequence[tuple[int, int, int, int]]
          ) -> list[list[str]]:
    width = max((len(row) for row in head), default=0)
    grid = [[text(v) for v in row] + [""] * (width - len(row)) for row in head]
    for r1, c1, r2, c2 in merged:
        if r1 > len(grid):
            continue
        value = grid[r1 - 1][c1 - 1] if c1 <= width else ""
        for r in range(r1, min(r2, len(grid)) + 1):
            for c in range(c1, min(c2, width) + 1):
                grid[r - 1][c - 1] = value
    return grid


def _resolve(upper: str, lower: str, mapping: Mapping[str, str]) -> tuple[str, str | None, str]:
    """(header as shown, field or None, how) for one cell with the label above it."""
    candidates: list[str] = []
    if upper and lower and upper != lower:
        candidates.append(f"{upper} / {lower}")
    if lower:
        candidates.append(lower)
    elif upper:
        candidates.append(upper)
    for shown in candidates:
        key = fields.header_key(shown)
        if key in mapping:
            return shown, mapping[key] or None, MAPPED if mapping[key] else IGNORED
    for shown in candidates:
        found = fields.match_header(shown)
        if found is not None:
            return shown, found or None, ALIAS if found else IGNORED
    if not lower:
        # An empty header under a title or a group label: nothing to report.
        return "", None, UNKNOWN
    return candidates[-1], None, UNKNOWN


def _columns(grid: list[list[str]], row: int, mapping: Mapping[str, str]
             ) -> list[tuple[str, str | None, str]]:
    above = grid[row - 1] if row > 0 else [""] * len(grid[row])
    return [_resolve(above[c], grid[row][c], mapping) for c in range(len(grid[row]))]


def detect_layout(
    head: Sequence[tuple[Any, ...]],
    *,
    merged: Sequence[tuple[int, int, int, int]] = (),
    mapping: Mapping[str, str] | None = None,
) -> Layout:
    mapping = mapping or {}
    grid = _grid(head, merged)
    best_row, best_score = -1, 0
    for r in range(len(grid)):
        # Distinct fields: a group row repeats its merged label over every column it spans.
        score = len({name for _, name, _ in _columns(grid, r, mapping) if name})
        if score > best_score:
            best_row, best_score = r, score
    if best_row < 0 or best_score < 2:
        raise ImportFileError("import.file.no_header")
    resolved = _columns(grid, best_row, mapping)
    used_keys = set()
    columns: list[Column] = []
    issues: list[Issue] = []
    seen: dict[str, Column] = {}
    for index, (shown, name, how) in enumerate(resolved):
        used_keys.add(fields.header_key(shown))
        used_keys.update(fields.header_key(part) for part in shown.split(" / "))
        if not shown:
            continue
        if name and name in seen:
            first = seen[name]
            column = Column(index, shown, name, DUPLICATE)
            issues.append(Issue("import.column.duplicate", {"first": first.letter,
                                "first_header": first.header}, column=column.letter,
                                header=shown, severity=WARNING))
        else:
            column = Column(index, shown, name, how)
            if name:
                seen[name] = column
        columns.append(column)
    unused = [k for k in mapping if k not in used_keys]
    if unused:
        raise ImportFileError("import.map.no_header", header=unused[0],
                              headers=", ".join(f"«{c.header}»" for c in columns))
    layout = Layout(header_row=best_row + 1, columns=tuple(columns), issues=tuple(issues))
    _check_required(layout)
    return layout


def _check_required(layout: Layout) -> None:
    present = layout.by_field()
    missing = [name for name in fields.REQUIRED if name not in present]
    if not any(name in present for name in fields.CLIENT_FIELDS):
        missing.append("client_name|phone")
    if missing:
        found = ", ".join(f"«{c.header}»" for c in layout.columns if c.header) or "—"
        raise ImportFileError("import.file.missing_columns", missing_fields=",".join(missing),
                              found=found)
