"""What every report shares: the filter, user names, exact percentages."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.models import MoneyLine, User
from amo_bridge.reports.period import Period

PCT_QUANTUM = Decimal("0.01")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportFilter:
    """Period, plus optional manager (amoCRM user id), product code and insurer (exact name).

    The API pins ``manager`` to the caller for a plain manager: managers see only their own
    figures.
    """

    period: Period
    manager: int | None = None
    product: str | None = None
    insurer: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.as_dict(),
            "manager": self.manager,
            "product": self.product,
            "insurer": self.insurer,
        }


def ratio_pct(part: int, whole: int | None) -> Decimal | None:
    """``part / whole`` in percent, two decimals, half away from zero; None without a base."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(PCT_QUANTUM, rounding=ROUND_HALF_UP)


def user_names(session: Session, account_id: int) -> dict[int, str]:
    rows = session.execute(
        select(User.amocrm_id, User.name, User.profile_name).where(User.account_id == account_id)
    ).all()
    return {amocrm_id: (name or profile or f"#{amocrm_id}") for amocrm_id, name, profile in rows}


def as_int(value: Any) -> int:
    """SUM() is NUMERIC on PostgreSQL (Decimal) and INTEGER on SQLite: money stays int."""
    return int(value or 0)


def line_conditions(account_id: int, flt: ReportFilter) -> list[Any]:
    """WHERE conditions on money lines for a filter's period, product and insurer.

    The month column narrows by index; a period of days adds the exact day bounds.
    """
    line = MoneyLine
    conditions = [
        line.account_id == account_id,
        line.month >= flt.period.start.replace(day=1),
        line.month < flt.period.end,
    ]
    if not flt.period.whole_months:
        conditions += [line.booked_on >= flt.period.start, line.booked_on < flt.period.end]
    if flt.product:
        conditions.append(line.product_code == flt.product)
    if flt.insurer:
        conditions.append(line.insurer == flt.insurer)
    return conditions
