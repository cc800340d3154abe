"""Payroll: per employee per month, the seller's and issuer's shares, with the lines behind them.

The shares were computed and stored on each money line when it was booked (salary rules valid
on the policy's start date); payroll only adds them up by the line's month — the month the deal
was won, or the month of a refund or correction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from amo_bridge.models import Contact, Deal, MoneyLine, Policy
from amo_bridge.reports.common import ReportFilter, as_int, line_conditions, user_names

SELLER, ISSUER = "seller", "issuer"


@dataclass(frozen=True, slots=True)
class PayrollLine:
    """One money line as one employee's payroll sees it."""

    employee: int
    role: str
    line_id: int
    policy_id: int
    kind: str
    booked_on: date
    share: int
    premium: int
    income: int
    product_code: str
    insurer: str | None
    number: str | None
    client: str | None
    deal_amocrm_id: int | None


@dataclass(slots=True)
class PayrollRow:
    employee: int | None
    employee_name: str
    month: date
    seller_policies: int = 0
    seller_share: int = 0
    issuer_policies: int = 0
    issuer_share: int = 0
    lines: list[PayrollLine] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.seller_share + self.issuer_share


@dataclass(slots=True)
class PayrollReport:
    filter: ReportFilter
    rows: list[PayrollRow]
    total: PayrollRow


def payroll(
    session: Session, account_id: int, flt: ReportFilter, *, with_lines: bool = False
) -> PayrollReport:
    # One scan of the lines grouped by (seller, issuer, month) — at most people² × months
    # groups — then each group is credited to its seller and to its issuer.
    line = MoneyLine
    statement = (
        select(
            line.seller_amocrm_id,
            line.issuer_amocrm_id,
            line.month,
            func.sum(line.policies),
            func.sum(line.seller_share),
            func.sum(line.issuer_share),
        )
        .where(*line_conditions(account_id, flt))
        .group_by(line.seller_amocrm_id, line.issuer_amocrm_id, line.month)
    )
    if flt.manager is not None:
        statement = statement.where(
            or_(line.seller_amocrm_id == flt.manager, line.issuer_amocrm_id == flt.manager)
        )
    names = user_names(session, account_id)
    rows: dict[tuple[int, date], PayrollRow] = {}

    def row_of(employee: int, month: date) -> PayrollRow:
        row = rows.get((employee, month))
        if row is None:
            row = rows[(employee, month)] = PayrollRow(
                employee=employee, employee_name=names.get(employee, f"#{employee}"), month=month
            )
        return row

    for seller, issuer, month, policies, seller_share, issuer_share in session.execute(statement):
        if seller is not None and flt.manager in (None, seller):
            row = row_of(seller, month)
            row.seller_policies += as_int(policies)
            row.seller_share += as_int(seller_share)
        if issuer is not None and flt.manager in (None, issuer):
            row = row_of(issuer, month)
            row.issuer_policies += as_int(policies)
            row.issuer_share += as_int(issuer_share)
    if with_lines:
        for item in payroll_lines(session, account_id, flt):
            row = rows.get((item.employee, item.booked_on.replace(day=1)))
            if row is not None:
                row.lines.append(item)
    ordered = sorted(rows.values(), key=lambda r: (r.month, r.employee_name, r.employee or 0))
    total = PayrollRow(employee=None, employee_name="", month=flt.period.start)
    for row in ordered:
        total.seller_policies += row.seller_policies
        total.seller_share += row.seller_share
        total.issuer_policies += row.issuer_policies
        total.issuer_share += row.issuer_share
    return PayrollReport(filter=flt, rows=ordered, total=total)


def payroll_lines(
    session: Session, account_id: int, flt: ReportFilter, *, chunk: int = 2000
) -> Iterator[PayrollLine]:
    """Every (line, role) pair behind the payroll, in month, employee, booking order; streamed."""
    line = MoneyLine
    statement = (
        select(
            line.id,
            line.policy_id,
            line.kind,
            line.booked_on,
            line.seller_amocrm_id,
            line.issuer_amocrm_id,
            line.seller_share,
            line.issuer_share,
            line.premium,
            line.income,
            line.product_code,
            line.insurer,
            Policy.number,
            Contact.name,
            Deal.amocrm_id,
        )
        .join(Policy, Policy.id == line.policy_id)
        .outerjoin(Contact, Contact.id == Policy.contact_id)
        .outerjoin(Deal, Deal.id == Policy.deal_id)
        .where(*line_conditions(account_id, flt))
        .order_by(line.month, line.booked_on, line.id)
        .execution_options(yield_per=chunk)
    )
    if flt.manager is not None:
        statement = statement.where(
            or_(line.seller_amocrm_id == flt.manager, line.issuer_amocrm_id == flt.manager)
        )
    for (
        line_id,
        policy_id,
        kind,
        booked_on,
        seller,
        issuer,
        seller_share,
        issuer_share,
        premium,
        income,
        product,
        insurer,
        number,
        client,
        deal,
    ) in session.execute(statement):
        for role, person, share in ((SELLER, seller, seller_share), (ISSUER, issuer, issuer_share)):
            if person is None or (flt.manager is not None and person != flt.manager):
                continue
            yield PayrollLine(
                employee=person,
                role=role,
                line_id=line_id,
                policy_id=policy_id,
                kind=kind,
                booked_on=booked_on,
                share=share,
                premium=premium,
                income=income,
                product_code=product,
                insurer=insurer,
                number=number,
                client=client,
                deal_amocrm_id=deal,
            )
