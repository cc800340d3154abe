"""Re-importing the finance ledger export («Реестр», issue 8): one row per money booking.

A policy appears there as several lines — a sale, perhaps a reversal and a correction, perhaps
a cancellation — oldest first. What the ledger holds now is the *last* sale or correction and
the cancellation that no later reversal undid (a reversal of a cancellation has a positive
premium; of a sale, a negative one). So a ledger file is read twice: the first pass (keys,
operations, dates, amounts only) finds, per policy, the line that stands and the cancellation
that stands; the second imports the standing line with its cancellation and skips the rest.
Skipped lines are counted as such, never as rejected; so are totals rows and one-cell rows (section
titles, notes, the export's caption) in any file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from amo_bridge.imports import identities as ids
from amo_bridge.imports import values as v
from amo_bridge.imports.problems import BadValue
from amo_bridge.imports.rows import RowParser

SALE, CORRECTION, CANCELLATION, REVERSAL = "sale", "correction", "cancellation", "reversal"
TOTALS = frozenset({"итого", "всего", "total", "totals", "итог"})


def is_service_row(cells: tuple[Any, ...]) -> bool:
    """A totals row («Итого» in its first filled cell) or a row with one filled cell only — a
    section title («Март 2024»), a note, the export's caption — which no policy can be."""
    filled = [value for value in cells if value is not None and value != ""]
    if len(filled) == 1:
        return bool(v.text(filled[0]))
    return bool(filled) and v.text(filled[0]).casefold().rstrip(":") in TOTALS


@dataclass
class LedgerPlan:
    #: key → the row of its standing sale or correction line.
    standing: dict[str, int] = field(default_factory=dict)
    #: key → (row, cancelled on, refund in kopecks) of its standing cancellation.
    cancelled: dict[str, tuple[int, date, int]] = field(default_factory=dict)

    def decide(self, row: int, operation: str | None, key: str | None) -> str:
        """``apply``, ``cancel_only`` or ``skip`` for one line of the file."""
        if key is None:
            return "apply"  # not identifiable here: the row parser reports why
        if operation in (None, SALE, CORRECTION):
            return "apply" if self.standing.get(key, row) == row else "skip"
        if operation == CANCELLATION:
            standing = self.cancelled.get(key)
            if key in self.standing or standing is None or standing[0] != row:
                return "skip"  # travels with its sale line, or was undone later
            return "cancel_only"
        return "skip"  # reversals are history, not state


def operation_of(parser: RowParser, cells: tuple[Any, ...]) -> str | None:
    try:
        return ids.parse_operation(parser.cell("operation", cells))
    except BadValue:
        return None


def plan_ledger(parser: RowParser, rows: Iterable[tuple[int, tuple[Any, ...]]]) -> LedgerPlan:
    plan = LedgerPlan()
    for number, cells in rows:
        operation = operation_of(parser, cells)
        key = parser.quick_key(cells)
        if key is None:
            continue
        if operation in (None, SALE, CORRECTION):
            plan.standing[key] = number
        elif operation == CANCELLATION:
            cancellation = _cancellation(parser, cells)
            if cancellation is not None:
                plan.cancelled[key] = (number, *cancellation)
        elif operation == REVERSAL:
            premium = _money(parser.cell("premium", cells))
            if premium is not None and premium > 0:
                plan.cancelled.pop(key, None)  # the cancellation was reversed
    return plan


def _money(value: object) -> int | None:
    try:
        return v.parse_money(value)
    except BadValue:
        return None


def _cancellation(parser: RowParser, cells: tuple[Any, ...]) -> tuple[date, int] | None:
    try:
        on = v.parse_date(parser.cell("booked_on", cells))
    except BadValue:
        return None
    premium = _money(parser.cell("premium", cells))
    if on is None or premium is None:
        return None
    return on, -premium
