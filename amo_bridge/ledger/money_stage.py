"""Moving a deal to a configured "cancelled" stage cancels the deal's policies.

The account's ``cancellation`` settings section names the stages (amoCRM status ids) and the
lead fields that hold the cancellation date and the refund. The date defaults to the day of the
move in the account's timezone; a missing refund follows ``refund_default`` (``none`` or
``full``). One refund for a deal with several policies is split in proportion to their premiums.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.accounts import get_section
from amo_bridge.amocrm import fields as amo_fields
from amo_bridge.amocrm.entities import parse_custom_fields
from amo_bridge.clock import FrozenClock
from amo_bridge.ledger.changes import StageMoved, reacts_to
from amo_bridge.ledger.money_rules import round_kopecks
from amo_bridge.models import Account, Deal, Policy, PolicyKind

log = logging.getLogger(__name__)


def is_cancel_stage(config: Mapping[str, Any], status_id: int | None) -> bool:
    wanted = {int(s) for s in config.get("status_ids", ()) if str(s).strip().lstrip("-").isdigit()}
    return status_id is not None and status_id in wanted


def split_refund(total: int, premiums: Sequence[int]) -> list[int]:
    """Split ``total`` kopecks over policies in proportion to premiums; exact to the kopeck.

    Largest remainder: each share is floored, the leftover kopecks go to the largest
    remainders (ties to the earlier policy). A share never exceeds its premium.
    """
    whole = sum(premiums)
    total = max(0, min(total, whole))
    if whole == 0:
        return [0 for _ in premiums]
    floors = [total * p // whole for p in premiums]
    order = sorted(range(len(premiums)), key=lambda i: (-(total * premiums[i] % whole), i))
    for i in order[: total - sum(floors)]:
        floors[i] += 1
    return floors


def _first(values, names: Sequence[str], read) -> Any:
    for name in names:
        value = read(values, int(name) if str(name).isdigit() else str(name))
        if value not in (None, ""):
            return value
    return None


@reacts_to(StageMoved, name="money.cancel_on_stage")
def cancel_on_cancelled_stage(session: Session, change: StageMoved) -> None:
    """Cancel every live policy of a deal moved to a cancelled stage (idempotent)."""
    from amo_bridge.ledger.money import AlreadyCancelled, MoneyError, cancel_policy

    config = get_section(session, change.account_id, "cancellation")
    if not is_cancel_stage(config, change.to_status_id):
        return None
    account = session.get(Account, change.account_id)
    deal = session.get(Deal, change.deal_id)
    if account is None or deal is None:
        return None
    zone = ZoneInfo(account.timezone)
    values = parse_custom_fields(deal.custom_fields or [])
    on: date = (
        _first(
            values, config.get("date_field", ()), lambda v, k: amo_fields.read_date(v, k, tz=zone)
        )
        or change.changed_at.astimezone(zone).date()
    )
    amount: Decimal | None = _first(values, config.get("refund_field", ()), amo_fields.read_number)
    policies = session.scalars(
        select(Policy)
        .where(Policy.deal_id == deal.id, Policy.kind == PolicyKind.OURS)
        .order_by(Policy.id)
    ).all()
    live = [p for p in policies if p.cancelled_on is None or p.cancelled_on == on]
    if amount is not None:
        refunds = split_refund(round_kopecks(amount * 100), [p.premium for p in live])
    elif config.get("refund_default", "none") == "full":
        refunds = [p.premium for p in live]
    else:
        refunds = [0 for _ in live]
    # The move's own time stamps the lines: a replayed move writes the very same thing.
    clock = FrozenClock(change.changed_at)
    for policy, refund in zip(live, refunds, strict=True):
        try:
            cancel_policy(
                session,
                policy,
                on=on,
                refund=refund,
                clock=clock,
                note=f"amoCRM stage {change.to_status_id} (event {change.event_id})",
            )
        except AlreadyCancelled:
            log.info(
                "policy %s already cancelled differently; stage move %s left it as is",
                policy.id,
                change.event_id,
            )
        except MoneyError as exc:
            # Bad data in the deal (a date before the sale…): no retry can help; admins see it.
            log.warning(
                "policy %s not cancelled on stage move %s: %s", policy.id, change.event_id, exc
            )
    return None
