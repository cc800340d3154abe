"""Which policies are due for a renewal: one indexed query, never a table scan.

Due: ``ends_on - days_before(kind, product) <= today``, not cancelled, not renewed, the end no
more than ``late_days`` in the past, and no reservation for that term (nor an open one for an
earlier term whose end date moved and is not followed yet). The query is a range walk over
``ix_policy_renewable`` (account, end date; live policies only) bounded by the longest schedule;
the per kind/product bound is a filter on that small range.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, and_, false, func, literal, or_, select
from sqlalchemy.orm import Session

from amo_bridge.models import Contact, Policy, PolicyKind, Renewal, RenewalStatus
from amo_bridge.renewals.config import RenewalConfig

#: A renewal in one of these states is in progress: its policy is not due again.
OPEN = (RenewalStatus.RESERVED, RenewalStatus.CREATING, RenewalStatus.CREATED)
KINDS = (PolicyKind.OURS.value, PolicyKind.FOREIGN.value)
#: Stands for "a product not in the dictionary" when asking for a schedule.
UNLISTED = "\x00unlisted"


@dataclass(frozen=True, slots=True)
class DuePolicy:
    policy_id: int
    kind: str
    product_code: str
    ends_on: date
    seller_amocrm_id: int | None
    entered_by_amocrm_id: int | None
    contact_id: int | None
    contact_responsible_amocrm_id: int | None
    due_on: date


def schedule_clause(config: RenewalConfig, codes: Iterable[str], today: date, *,
                    kinds: Sequence[str] = KINDS):
    """``ends_on <= today + days(kind, product)`` for every enabled kind and product."""
    codes = sorted(set(codes))
    buckets: dict[tuple[str, int], list[str]] = defaultdict(list)
    clauses = []
    for kind in kinds:
        for code in codes:
            schedule = config.schedule(kind, code)
            if schedule.enabled:
                buckets[(kind, schedule.days_before)].append(code)
        unlisted = config.schedule(kind, UNLISTED)
        if unlisted.enabled:
            # Products missing from the dictionary (a renamed code) still get renewals.
            clauses.append(and_(Policy.kind == kind, Policy.product_code.not_in(codes or [""]),
                                Policy.ends_on <= today + timedelta(days=unlisted.days_before)))
    for (kind, days), products in sorted(buckets.items()):
        clauses.append(and_(Policy.kind == kind, Policy.product_code.in_(products),
                            Policy.ends_on <= today + timedelta(days=days)))
    return or_(*clauses) if clauses else false()


def unreserved():
    """No reservation for this term, and none in progress for an earlier term.

    Each is a probe of the unique index (account, policy, term end) per candidate policy, so the
    cost follows the due window, never the renewal history (which grows every year).
    ``OFFSET 0`` keeps PostgreSQL from turning the NOT EXISTS into a hash anti-join, which
    reads the whole renewal table (a documented optimisation fence; SQLite ignores it).
    """
    this_term = (select(literal(1)).where(
        Renewal.account_id == Policy.account_id, Renewal.policy_id == Policy.id,
        Renewal.term_end == Policy.ends_on).offset(0))
    in_progress = (select(literal(1)).where(
        Renewal.account_id == Policy.account_id, Renewal.policy_id == Policy.id,
        Renewal.status.in_(OPEN)).offset(0))
    return and_(~this_term.exists(), ~in_progress.exists())


def due_query(account_id: int, config: RenewalConfig, codes: Iterable[str], today: date, *,
              kinds: Sequence[str] = KINDS, horizon: int | None = None) -> Select:
    """The scan's statement; ``horizon`` (days) widens it to policies due later (preview)."""
    extra = timedelta(days=horizon or 0)
    return (
        select(Policy.id, Policy.kind, Policy.product_code, Policy.ends_on,
               Policy.seller_amocrm_id, Policy.entered_by_amocrm_id, Policy.contact_id,
               Contact.responsible_amocrm_id)
        .outerjoin(Contact, Contact.id == Policy.contact_id)
        .where(
            Policy.account_id == account_id,
            # The partial index's predicate, spelled the same way so the planner matches it.
            Policy.cancelled_on.is_(None), Policy.renewed_by_id.is_(None),
            # "Ours" means sold: a line on a deal that is still open (or was lost, or un-won)
            # is not a policy the client holds, so it has nothing to renew.
            or_(Policy.kind != "ours", Policy.sold_on.is_not(None)),
            Policy.ends_on >= today - timedelta(days=config.late_days),
            Policy.ends_on <= today + timedelta(days=config.max_days_before()) + extra,
            schedule_clause(config, codes, today + extra, kinds=kinds),
            unreserved(),
        )
        .order_by(Policy.ends_on, Policy.id)
    )


def select_due(session: Session, account_id: int, config: RenewalConfig, codes: Iterable[str],
               today: date, *, kinds: Sequence[str] = KINDS, limit: int | None = None,
               horizon: int | None = None) -> list[DuePolicy]:
    codes = list(codes)
    statement = due_query(account_id, config, codes, today, kinds=kinds, horizon=horizon)
    if limit is not None:
        statement = statement.limit(limit)
    found = []
    for row in session.execute(statement):
        schedule = config.schedule(row.kind, row.product_code if row.product_code in codes
                                   else UNLISTED)
        found.append(DuePolicy(
            policy_id=row.id, kind=row.kind, product_code=row.product_code, ends_on=row.ends_on,
            seller_amocrm_id=row.seller_amocrm_id, entered_by_amocrm_id=row.entered_by_amocrm_id,
            contact_id=row.contact_id, contact_responsible_amocrm_id=row.responsible_amocrm_id,
            due_on=max(row.ends_on - timedelta(days=schedule.days_before), today)))
    return found


def previous_renewals(session: Session, policy_ids: Sequence[int]) -> dict[int, int]:
    """How many renewals each policy already had (earlier terms): the marker's suffix."""
    counts: dict[int, int] = {}
    for start in range(0, len(policy_ids), 500):
        chunk = policy_ids[start:start + 500]
        for policy_id, count in session.execute(
                select(Renewal.policy_id, func.count()).where(Renewal.policy_id.in_(chunk))
                .group_by(Renewal.policy_id)):
            counts[policy_id] = count
    return counts


def marker_for(policy_id: int, previous: int) -> str:
    """The lead's lookup marker: «ПР-123», then «ПР-123-2» for the policy's next term."""
    return f"ПР-{policy_id}" if previous == 0 else f"ПР-{policy_id}-{previous + 1}"
