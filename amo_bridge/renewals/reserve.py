"""The scan's database half: reserve every due policy under its unique key, or preview them.

A reservation (``renewal`` row: account, policy, term end) is written and committed *before* any
call to amoCRM; the insert skips keys that already exist (``ON CONFLICT DO NOTHING``), so two
scans racing, a scan run twice or a re-run after a crash reserve each term exactly once. Only the
rows this call inserted are returned — the caller creates exactly those (and any left over).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from amo_bridge.accounts import products_for
from amo_bridge.clock import Clock, local_today
from amo_bridge.models import Account, Renewal, RenewalStatus
from amo_bridge.renewals.assignees import Assigner
from amo_bridge.renewals.config import RenewalConfig, load_config
from amo_bridge.renewals.due import KINDS, DuePolicy, marker_for, previous_renewals, select_due

CHUNK = 500  # rows per INSERT: SQLite allows 32 766 bound values per statement


@dataclass
class Reserved:
    renewal_ids: list[int] = field(default_factory=list)
    due: int = 0
    #: Due policies another scan reserved first (this one skipped them).
    raced: int = 0


@dataclass(frozen=True, slots=True)
class Planned:
    """A due (or soon due) policy and who would get its renewal."""

    policy: DuePolicy
    assignee_amocrm_id: int | None
    reason: str


def reserve_due(session: Session, account: Account, *, clock: Clock,
                limit: int | None = None) -> Reserved:
    """Reserve renewals for every due policy of ``account`` (flushes, does not commit)."""
    config = load_config(session, account.id)
    today = local_today(clock, account.timezone)
    due = select_due(session, account.id, config, _codes(session, account), today, limit=limit)
    result = Reserved(due=len(due))
    if not due:
        return result
    assigner = Assigner(session, account.id, today=today)
    previous = previous_renewals(session, [p.policy_id for p in due])
    now = clock.now()
    rows = []
    for policy in due:
        assignment = assigner.assign(policy)
        rows.append({
            "account_id": account.id, "policy_id": policy.policy_id, "term_end": policy.ends_on,
            "status": RenewalStatus.RESERVED.value,
            "marker": marker_for(policy.policy_id, previous.get(policy.policy_id, 0)),
            "assignee_amocrm_id": assignment.user_amocrm_id, "attempts": 0,
            "created_at": now, "updated_at": now,
        })
    session.flush()  # the round-robin cursors
    for start in range(0, len(rows), CHUNK):
        result.renewal_ids += _insert(session, rows[start:start + CHUNK])
    result.raced = len(rows) - len(result.renewal_ids)
    return result


def _insert(session: Session, rows: Sequence[dict]) -> list[int]:
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (module.insert(Renewal).values(list(rows)).on_conflict_do_nothing()
                 .returning(Renewal.id))
    return list(session.scalars(statement))


def plan(session: Session, account: Account, *, clock: Clock, count: int | None = None,
         kind: str | None = None, product: str | None = None, horizon: int = 0,
         config: RenewalConfig | None = None) -> list[Planned]:
    """Who would get the renewals due now (``horizon=0``) or next; writes nothing.

    The preview ("who gets the next N") looks ``horizon`` days ahead, orders by the day each
    renewal falls due and runs the assignee rules on a copy of their cursors and loads.
    """
    config = config or load_config(session, account.id)
    today = local_today(clock, account.timezone)
    codes = _codes(session, account)
    kinds = (kind,) if kind else KINDS
    window = None if count is None else count * 4 + 100
    found = select_due(session, account.id, config, codes, today, kinds=kinds, limit=window,
                       horizon=horizon)
    if product:
        found = [p for p in found if p.product_code == product]
    found.sort(key=lambda p: (p.due_on, p.ends_on, p.policy_id))
    if count is not None:
        found = found[:count]
    assigner = Assigner(session, account.id, today=today, dry_run=True)
    planned = []
    for policy in found:
        assignment = assigner.assign(policy)
        planned.append(Planned(policy, assignment.user_amocrm_id, assignment.reason))
    return planned


def _codes(session: Session, account: Account) -> list[str]:
    return [p.code for p in products_for(session, account.id)]
