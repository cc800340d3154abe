"""Admins' settings of renewals: assignee rules and users' availability (away, backup)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.accounts import products_for
from amo_bridge.models import ANY, AssigneeRule, AssigneeStrategy, User
from amo_bridge.renewals.errors import RenewalsError


def _user(session: Session, account_id: int, amocrm_id: int) -> User:
    user = session.scalar(select(User).where(User.account_id == account_id,
                                             User.amocrm_id == amocrm_id))
    if user is None:
        raise RenewalsError(422, "renewals.user.unknown", user=amocrm_id)
    return user


def set_rule(session: Session, account_id: int, *, kind: str, product: str, strategy: str,
             fixed: int | None = None, pool: Sequence[int] = (), fallback: int | None = None
             ) -> AssigneeRule:
    """Create or replace the rule of (kind, product); users must be known to the bridge."""
    if product != ANY and product not in products_for(session, account_id):
        raise RenewalsError(422, "renewals.product.unknown", product=product)
    if strategy == AssigneeStrategy.FIXED and fixed is None:
        raise RenewalsError(422, "renewals.rule.fixed_user")
    if strategy in (AssigneeStrategy.ROUND_ROBIN, AssigneeStrategy.LEAST_LOADED) and not pool:
        raise RenewalsError(422, "renewals.rule.pool")
    for amocrm_id in {*pool, *(u for u in (fixed, fallback) if u is not None)}:
        _user(session, account_id, amocrm_id)
    rule = session.scalar(select(AssigneeRule).where(
        AssigneeRule.account_id == account_id, AssigneeRule.policy_kind == kind,
        AssigneeRule.product_code == product).with_for_update())
    if rule is None:
        rule = AssigneeRule(account_id=account_id, policy_kind=kind, product_code=product,
                            cursor=0)
        session.add(rule)
    if list(rule.pool or []) != list(pool):
        rule.cursor = 0  # a new pool starts from its first member
    rule.strategy = strategy
    rule.fixed_amocrm_id = fixed if strategy == AssigneeStrategy.FIXED else None
    rule.pool = [int(u) for u in pool]
    rule.fallback_amocrm_id = fallback
    session.flush()
    return rule


def set_availability(session: Session, account_id: int, amocrm_id: int, *,
                     away_until: date | None, backup: int | None) -> User:
    user = _user(session, account_id, amocrm_id)
    if backup is not None:
        if backup == amocrm_id:
            raise RenewalsError(422, "renewals.user.self_backup")
        user.backup_user_id = _user(session, account_id, backup).id
    else:
        user.backup_user_id = None
    user.away_until = away_until
    session.flush()
    return user


def rule_json(rule: AssigneeRule) -> dict:
    return {"id": rule.id, "kind": rule.policy_kind, "product": rule.product_code,
            "strategy": rule.strategy, "fixed_user": rule.fixed_amocrm_id,
            "pool": list(rule.pool or []), "fallback_user": rule.fallback_amocrm_id,
            "cursor": rule.cursor}
