"""Report periods: whole months (``2026-11``), years (``2026``) or ranges (``2026-01..2026-03``,
``2026-01-15..2026-02-14``). A period is a half-open date range ``[start, end)``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


class PeriodError(ValueError):
    pass


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Period:
    start: date  # inclusive
    end: date  # exclusive

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise PeriodError(f"the period ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = date(year, month, 1)
        return cls(start, next_month(start))

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026-11``, ``2026``, ``2026-01..2026-03`` (months, inclusive) or dates."""
        raw = (text or "").strip()
        if ".." in raw:
            first, last = (part.strip() for part in raw.split("..", 1))
            return cls(_bound(first, end=False), _bound(last, end=True))
        return cls(_bound(raw, end=False), _bound(raw, end=True))

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def months(self) -> Iterator[date]:
        """The first day of every month the period touches."""
        current = month_start(self.start)
        while current < self.end:
            yield current
            current = next_month(current)

    @property
    def whole_months(self) -> bool:
        return self.start.day == 1 and self.end.day == 1

    def label(self) -> str:
        if self.whole_months and next_month(self.start) == self.end:
            return self.start.strftime("%Y-%m")
        year_end = date(self.start.year + 1, 1, 1)
        if self.whole_months and self.start.month == 1 and self.end == year_end:
            return str(self.start.year)
        if self.whole_months:
            return f"{self.start:%Y-%m}..{self.last_day:%Y-%m}"
        return f"{self.start.isoformat()}..{self.last_day.isoformat()}"

    def as_dict(self) -> dict[str, str]:
        return {
            "from": self.start.isoformat(),
            "to": self.last_day.isoformat(),
            "label": self.label(),
        }


def _bound(part: str, *, end: bool) -> date:
    """A period boundary: the start of ``part``, or (``end``) the day after it ends."""
    if match := _MONTH.match(part):
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise PeriodError(f"no month {month} in {part!r}")
        first = date(year, month, 1)
        return next_month(first) if end else first
    if match := _YEAR.match(part):
        year = int(match[1])
        return date(year + 1, 1, 1) if end else date(year, 1, 1)
    try:
        day = date.fromisoformat(part)
    except ValueError:
        raise PeriodError(
            f"not a period: {part!r} (use 2026-11, 2026, 2026-01..2026-03 or dates)"
        ) from None
    return day + timedelta(days=1) if end else day
