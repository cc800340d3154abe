"""Who gets a renewal: the account's assignee rules, separately for ours and foreign policies.

A rule (``assignee_rule``) is chosen by policy kind and product (an exact product beats ``*``);
without one, ours go to the seller and foreign to whoever entered them. Strategies:

- ``seller``: the policy's seller (foreign: who entered it), else the client's responsible;
- ``fixed``: one user;
- ``round_robin``: the pool in turn; the cursor advances under a row lock
  (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write transaction serialises it anyway);
- ``least_loaded``: the pool member with the fewest open renewals (ties: pool order).

A user who is inactive in amoCRM or away (``away_until`` ≥ today) is replaced by their backup,
then by the rule's fallback (and the fallback's backup). Pool members are replaced the same way,
and least-loaded counts the load of whoever would actually get the work. If nobody in that
chain is available, the first available admin gets it, so no renewal is left unassigned.
With ``dry_run`` nothing is written: the preview advances a copy of the cursor.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amo_bridge.models import ANY, AssigneeRule, AssigneeStrategy, PolicyKind, Renewal, User
from amo_bridge.renewals.due import OPEN, DuePolicy

#: Renewals whose term ended longer ago than this no longer count as anyone's load.
LOAD_WINDOW = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class Assignment:
    user_amocrm_id: int | None
    #: How the choice was made, for the preview and the CLI: the strategy (``seller``,
    #: ``fixed``, ``round_robin``, ``least_loaded (2 open before)``) or the replacement
    #: (``backup of 8011002 (away until 2026-12-10)``, ``fallback for …``, ``backup of fallback
    #: …``, ``admin: …``, ``nobody available …``). The widget translates it by its first word:
    #: keep these shapes stable.
    reason: str
    rule_id: int | None = None


class Assigner:
    def __init__(self, session: Session, account_id: int, *, today: date,
                 dry_run: bool = False) -> None:
        self.session = session
        self.account_id = account_id
        self.today = today
        self.dry_run = dry_run
        self.users = {u.amocrm_id: u for u in session.scalars(
            select(User).where(User.account_id == account_id))}
        self._by_row_id = {u.id: u for u in self.users.values()}
        query = select(AssigneeRule).where(AssigneeRule.account_id == account_id)
        if not dry_run and session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()  # round-robin cursors: one scan at a time
        self.rules = {(r.policy_kind, r.product_code): r for r in session.scalars(query)}
        self._cursors = {r.id: r.cursor for r in self.rules.values()}
        self._load: Counter[int] | None = None
        self._pending: Counter[int] = Counter()  # assigned in this run before loads were read

    # --- availability -------------------------------------------------------------------

    def unavailable(self, amocrm_id: int | None) -> str | None:
        """Why this user cannot take work today, or None (unknown users count as available)."""
        user = self.users.get(amocrm_id) if amocrm_id is not None else None
        if user is None:
            return None if amocrm_id is not None else "nobody"
        if not user.is_active:
            return "inactive"
        if user.away_until is not None and user.away_until >= self.today:
            return f"away until {user.away_until.isoformat()}"
        return None

    def _backup(self, amocrm_id: int | None) -> int | None:
        user = self.users.get(amocrm_id) if amocrm_id is not None else None
        backup = self._by_row_id.get(user.backup_user_id) if user and user.backup_user_id else None
        return backup.amocrm_id if backup else None

    def effective(self, amocrm_id: int | None, fallback: int | None) -> tuple[int | None, str]:
        """The user itself, else their backup, else the fallback, else the fallback's backup."""
        why = self.unavailable(amocrm_id)
        if why is None:
            return amocrm_id, ""
        chain = [(self._backup(amocrm_id), f"backup of {amocrm_id} ({why})"),
                 (fallback, f"fallback for {amocrm_id} ({why})"),
                 (self._backup(fallback), f"backup of fallback {fallback}")]
        for candidate, reason in chain:
            if candidate is not None and self.unavailable(candidate) is None:
                return candidate, reason
        admins = sorted(u.amocrm_id for u in self.users.values()
                        if u.is_admin and self.unavailable(u.amocrm_id) is None)
        if admins:
            return admins[0], f"admin: nobody available for {amocrm_id} ({why})"
        return amocrm_id, f"nobody available ({why})"

    # --- rules ------------------------------------------------------------------------

    def rule_for(self, kind: str, product: str) -> AssigneeRule | None:
        return self.rules.get((kind, product)) or self.rules.get((kind, ANY))

    def assign(self, policy: DuePolicy) -> Assignment:
        rule = self.rule_for(policy.kind, policy.product_code)
        strategy = rule.strategy if rule else AssigneeStrategy.SELLER
        fallback = rule.fallback_amocrm_id if rule else None
        if strategy == AssigneeStrategy.FIXED:
            picked = rule.fixed_amocrm_id
        elif strategy == AssigneeStrategy.ROUND_ROBIN and rule.pool:
            picked = self._next_in_turn(rule)
        elif strategy == AssigneeStrategy.LEAST_LOADED and rule.pool:
            return self._least_loaded(rule)
        else:
            strategy = AssigneeStrategy.SELLER
            picked = self._seller(policy)
        user, note = self.effective(picked, fallback)
        self._count(user)
        return Assignment(user, note or str(strategy), rule.id if rule else None)

    def _seller(self, policy: DuePolicy) -> int | None:
        if policy.kind == PolicyKind.FOREIGN:
            first = policy.entered_by_amocrm_id or policy.seller_amocrm_id
        else:
            first = policy.seller_amocrm_id
        return first or policy.contact_responsible_amocrm_id

    def _next_in_turn(self, rule: AssigneeRule) -> int:
        position = self._cursors[rule.id]
        picked = int(rule.pool[position % len(rule.pool)])
        self._cursors[rule.id] = (position + 1) % len(rule.pool)
        if not self.dry_run:
            rule.cursor = self._cursors[rule.id]
        return picked

    def _least_loaded(self, rule: AssigneeRule) -> Assignment:
        load = self._loads()
        candidates: list[tuple[int, int, int, str]] = []
        for order, member in enumerate(int(m) for m in rule.pool):
            user, note = self.effective(member, rule.fallback_amocrm_id)
            if user is not None:
                candidates.append((load[user], order, user, note))
        if not candidates:
            return Assignment(None, "nobody available", rule.id)
        _, _, user, note = min(candidates)
        self._count(user)
        return Assignment(user, note or f"least_loaded ({load[user] - 1} open before)", rule.id)

    def _loads(self) -> Counter[int]:
        if self._load is None:
            rows = self.session.execute(
                select(Renewal.assignee_amocrm_id, func.count())
                .where(Renewal.account_id == self.account_id, Renewal.status.in_(OPEN),
                       Renewal.term_end >= self.today - LOAD_WINDOW,
                       Renewal.assignee_amocrm_id.is_not(None))
                .group_by(Renewal.assignee_amocrm_id))
            self._load = Counter({int(user): int(count) for user, count in rows})
            self._load.update(self._pending)
        return self._load

    def _count(self, user: int | None) -> None:
        if user is not None:
            (self._load if self._load is not None else self._pending)[user] += 1
