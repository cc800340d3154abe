"""Plan vs fact: per manager per month — policies, premium, income, plan, % of plan, team totals.

Fact is the sum of the money lines booked in the month, credited to the seller (DESIGN.md:
a sale belongs to the day its deal was won; refunds and corrections to the month they happen).
Plans are monthly, per manager, optionally per product: without a product filter a manager's
plan is the ``*`` plan, or the sum of the per-product plans when there is no ``*`` plan.
An insurer filter shows no plan (plans are not set per insurer).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amo_bridge.models import ANY, MoneyLine, Plan
from amo_bridge.reports.common import (
    ReportFilter,
    as_int,
    line_conditions,
    ratio_pct,
    user_names,
)


@dataclass(slots=True)
class PlanFactRow:
    manager: int | None
    manager_name: str
    month: date
    policies: int = 0
    cancellations: int = 0
    premium: int = 0
    income: int = 0
    plan_income: int | None = None
    plan_premium: int | None = None

    @property
    def income_pct(self) -> Decimal | None:
        return ratio_pct(self.income, self.plan_income)

    @property
    def premium_pct(self) -> Decimal | None:
        return ratio_pct(self.premium, self.plan_premium)

    def add(self, other: PlanFactRow) -> None:
        self.policies += other.policies
        self.cancellations += other.cancellations
        self.premium += other.premium
        self.income += other.income
        if other.plan_income is not None:
            self.plan_income = (self.plan_income or 0) + other.plan_income
        if other.plan_premium is not None:
            self.plan_premium = (self.plan_premium or 0) + other.plan_premium


@dataclass(slots=True)
class PlanFactReport:
    filter: ReportFilter
    rows: list[PlanFactRow] = field(default_factory=list)
    #: The team per month (``manager`` is None) and over the whole period (``total``).
    months: list[PlanFactRow] = field(default_factory=list)
    total: PlanFactRow | None = None


def fact_by_manager_month(session: Session, account_id: int, flt: ReportFilter):
    """One SQL aggregation over the money lines: (seller, month) → counts and sums."""
    line = MoneyLine
    statement = (
        select(
            line.seller_amocrm_id,
            line.month,
            func.sum(line.policies),
            func.sum(line.cancellations),
            func.sum(line.premium),
            func.sum(line.income),
        )
        .where(*line_conditions(account_id, flt))
        .group_by(line.seller_amocrm_id, line.month)
    )
    if flt.manager is not None:
        statement = statement.where(line.seller_amocrm_id == flt.manager)
    return session.execute(statement).all()


def plans_by_manager_month(
    session: Session, account_id: int, flt: ReportFilter
) -> dict[tuple[int, date], tuple[int | None, int | None]]:
    if flt.insurer:
        return {}
    statement = select(Plan).where(
        Plan.account_id == account_id,
        Plan.month >= flt.period.start.replace(day=1),
        Plan.month < flt.period.end,
    )
    if flt.manager is not None:
        statement = statement.where(Plan.user_amocrm_id == flt.manager)
    if flt.product:
        statement = statement.where(Plan.product_code == flt.product)
    general: dict[tuple[int, date], Plan] = {}
    per_product: dict[tuple[int, date], list[Plan]] = defaultdict(list)
    for plan in session.scalars(statement):
        key = (plan.user_amocrm_id, plan.month)
        if plan.product_code == ANY:
            general[key] = plan
        else:
            per_product[key].append(plan)
    found: dict[tuple[int, date], tuple[int | None, int | None]] = {}
    for key in set(general) | set(per_product):
        if key in general:
            found[key] = (general[key].income_target, general[key].premium_target)
            continue
        plans = per_product[key]
        found[key] = (
            _sum_or_none(p.income_target for p in plans),
            _sum_or_none(p.premium_target for p in plans),
        )
    return found


def _sum_or_none(values) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def plan_vs_fact(session: Session, account_id: int, flt: ReportFilter) -> PlanFactReport:
    names = user_names(session, account_id)
    rows: dict[tuple[int | None, date], PlanFactRow] = {}

    def row(manager: int | None, month: date) -> PlanFactRow:
        key = (manager, month)
        if key not in rows:
            name = names.get(manager, f"#{manager}") if manager is not None else ""
            rows[key] = PlanFactRow(manager=manager, manager_name=name, month=month)
        return rows[key]

    for manager, month, policies, cancellations, premium, income in fact_by_manager_month(
        session, account_id, flt
    ):
        target = row(manager, month)
        target.policies, target.cancellations = as_int(policies), as_int(cancellations)
        target.premium, target.income = as_int(premium), as_int(income)
    for (manager, month), (income_target, premium_target) in plans_by_manager_month(
        session, account_id, flt
    ).items():
        target = row(manager, month)
        target.plan_income, target.plan_premium = income_target, premium_target

    ordered = sorted(rows.values(), key=lambda r: (r.month, r.manager_name, r.manager or 0))
    report = PlanFactReport(filter=flt, rows=ordered)
    by_month: dict[date, PlanFactRow] = {}
    total = PlanFactRow(manager=None, manager_name="", month=flt.period.start)
    for item in ordered:
        by_month.setdefault(
            item.month, PlanFactRow(manager=None, manager_name="", month=item.month)
        ).add(item)
        total.add(item)
    report.months = [by_month[m] for m in sorted(by_month)]
    report.total = total
    return report
