"""Retention (пролонгация): policies due for renewal in a period vs renewed, against targets.

Due: our policies whose end date falls in the period, except those cancelled before they ended.
Renewed: the policy points at its renewal (``renewed_by_id``) or its renewal deal was won
(``Renewal.status = renewed``). Lost: the renewal deal was lost. Pending: neither yet.
The manager is the one the renewal was assigned to, or the seller while no renewal exists.
Targets come from the account's ``retention_targets`` section (seed 004: КАСКО, ОСАГО 75 %+,
ИФЛ 80 %+); a row whose rate is under its product's target is marked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from amo_bridge.accounts import get_section
from amo_bridge.models import Policy, PolicyKind, Renewal, RenewalStatus
from amo_bridge.reports.common import ReportFilter, as_int, ratio_pct, user_names


@dataclass(slots=True)
class RetentionRow:
    product_code: str
    manager: int | None  # None on product and overall totals
    manager_name: str
    due: int = 0
    renewed: int = 0
    lost: int = 0
    premium_due: int = 0
    target_pct: Decimal | None = None

    @property
    def pending(self) -> int:
        return self.due - self.renewed - self.lost

    @property
    def rate_pct(self) -> Decimal | None:
        return ratio_pct(self.renewed, self.due)

    @property
    def below_target(self) -> bool:
        rate = self.rate_pct
        return rate is not None and self.target_pct is not None and rate < self.target_pct

    def add(self, other: RetentionRow) -> None:
        self.due += other.due
        self.renewed += other.renewed
        self.lost += other.lost
        self.premium_due += other.premium_due


@dataclass(slots=True)
class RetentionReport:
    filter: ReportFilter
    rows: list[RetentionRow] = field(default_factory=list)
    products: list[RetentionRow] = field(default_factory=list)
    total: RetentionRow | None = None


def targets_for(session: Session, account_id: int) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for code, value in (get_section(session, account_id, "retention_targets") or {}).items():
        try:
            found[str(code)] = Decimal(str(value))
        except InvalidOperation:
            continue  # an unreadable target is no target; the settings API validates on save
    return found


def retention(
    session: Session,
    account_id: int,
    flt: ReportFilter,
    *,
    targets: Mapping[str, Decimal] | None = None,
) -> RetentionReport:
    targets = targets_for(session, account_id) if targets is None else targets
    renewal = Renewal
    manager = func.coalesce(renewal.assignee_amocrm_id, Policy.seller_amocrm_id)
    renewed = or_(Policy.renewed_by_id.is_not(None), renewal.status == RenewalStatus.RENEWED)
    lost = and_(Policy.renewed_by_id.is_(None), renewal.status == RenewalStatus.NOT_RENEWED)
    statement = (
        select(
            Policy.product_code,
            manager,
            func.count(Policy.id),
            func.sum(case((renewed, 1), else_=0)),
            func.sum(case((lost, 1), else_=0)),
            func.sum(Policy.premium),
        )
        .select_from(Policy)
        .outerjoin(
            renewal,
            and_(
                renewal.policy_id == Policy.id,
                renewal.term_end == Policy.ends_on,
                # Redundant with the line above, but lets the planner filter renewals early.
                renewal.account_id == account_id,
                renewal.term_end >= flt.period.start,
                renewal.term_end < flt.period.end,
            ),
        )
        .where(
            Policy.account_id == account_id,
            Policy.kind == PolicyKind.OURS,
            Policy.ends_on >= flt.period.start,
            Policy.ends_on < flt.period.end,
            or_(Policy.cancelled_on.is_(None), Policy.cancelled_on >= Policy.ends_on),
        )
        .group_by(Policy.product_code, manager)
    )
    if flt.manager is not None:
        statement = statement.where(manager == flt.manager)
    if flt.product:
        statement = statement.where(Policy.product_code == flt.product)
    if flt.insurer:
        statement = statement.where(Policy.insurer == flt.insurer)

    names = user_names(session, account_id)
    report = RetentionReport(filter=flt)
    products: dict[str, RetentionRow] = {}
    total = RetentionRow(product_code="", manager=None, manager_name="")
    for product, person, due, done, gone, premium in session.execute(statement):
        row = RetentionRow(
            product_code=product,
            manager=person,
            manager_name=names.get(person, f"#{person}") if person is not None else "",
            due=as_int(due),
            renewed=as_int(done),
            lost=as_int(gone),
            premium_due=as_int(premium),
            target_pct=targets.get(product),
        )
        report.rows.append(row)
        products.setdefault(
            product,
            RetentionRow(
                product_code=product, manager=None, manager_name="", target_pct=targets.get(product)
            ),
        ).add(row)
        total.add(row)
    report.rows.sort(key=lambda r: (r.product_code, r.manager_name, r.manager or 0))
    report.products = [products[code] for code in sorted(products)]
    report.total = total
    return report
