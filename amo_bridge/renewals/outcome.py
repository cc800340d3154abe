"""The outcome of a renewal deal, and the client binding after a sale.

- Won: the renewal is ``renewed``; the policy line the mirror made from the won deal becomes the
  new policy and the old one points at it (``renewed_by_id``). The line may appear later (fields
  filled after the win): :func:`link_new_policy` runs again on every recorded policy.
- Lost: the renewal is ``not_renewed`` with amoCRM's loss reason. These feed the retention
  report.
- Binding (seed 000: after a sale the client is bound to the agent): a won deal's contact gets
  the deal's seller as its responsible user in amoCRM, when the account's setting is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.models import Contact, Deal, Policy, Renewal, RenewalStatus, User
from amo_bridge.renewals.stamps import touch

#: States a deal outcome may overwrite (a won deal reopened and lost again is lost).
DECIDABLE = (RenewalStatus.RESERVED, RenewalStatus.CREATING, RenewalStatus.CREATED,
             RenewalStatus.RENEWED, RenewalStatus.NOT_RENEWED, RenewalStatus.FAILED)


def renewal_of_deal(session: Session, deal: Deal) -> Renewal | None:
    return session.scalar(select(Renewal).where(Renewal.account_id == deal.account_id,
                                                Renewal.amocrm_lead_id == deal.amocrm_id))


def record_won(session: Session, deal: Deal, *, at: datetime) -> Renewal | None:
    """Mark the deal's renewal renewed and link the new policy; None if no renewal deal."""
    renewal = renewal_of_deal(session, deal)
    if renewal is None or renewal.status not in DECIDABLE:
        return None
    renewal.status, renewal.decided_at = RenewalStatus.RENEWED, at
    touch(renewal, at)
    renewal.outcome_reason = None
    _link(session, renewal, deal)
    return renewal


def record_lost(session: Session, deal: Deal, *, at: datetime, reason: str | None
                ) -> Renewal | None:
    renewal = renewal_of_deal(session, deal)
    if renewal is None or renewal.status not in DECIDABLE:
        return None
    renewal.status, renewal.decided_at = RenewalStatus.NOT_RENEWED, at
    touch(renewal, at)
    renewal.outcome_reason = (reason or deal.loss_reason or "")[:255] or None
    if renewal.new_policy_id is not None:  # it was won before: the link goes
        old = session.get(Policy, renewal.policy_id)
        if old is not None and old.renewed_by_id == renewal.new_policy_id:
            old.renewed_by_id = None
        renewal.new_policy_id = None
    return renewal


def link_new_policy(session: Session, policy: Policy) -> Renewal | None:
    """A policy line recorded for a won renewal deal: link it (idempotent)."""
    if policy.deal_id is None:
        return None
    deal = session.get(Deal, policy.deal_id)
    if deal is None:
        return None
    renewal = renewal_of_deal(session, deal)
    if renewal is None or renewal.status != RenewalStatus.RENEWED or renewal.new_policy_id:
        return None
    _link(session, renewal, deal)
    return renewal


def _link(session: Session, renewal: Renewal, deal: Deal) -> None:
    old = session.get(Policy, renewal.policy_id)
    lines = session.scalars(select(Policy).where(Policy.deal_id == deal.id,
                                                 Policy.id != renewal.policy_id)
                            .order_by(Policy.id)).all()
    if old is None or not lines:
        return
    # Several lines (a widget panel): the same product first, then the first line.
    new = next((p for p in lines if p.product_code == old.product_code), lines[0])
    renewal.new_policy_id = new.id
    if old.renewed_by_id is None:
        old.renewed_by_id = new.id


@dataclass(frozen=True, slots=True)
class Binding:
    contact_amocrm_id: int
    seller_amocrm_id: int


def binding_for(session: Session, deal: Deal) -> Binding | None:
    """The write that binds a won deal's client to its seller, or None when nothing to do."""
    if deal.won_at is None or deal.is_deleted or not deal.seller_amocrm_id:
        return None
    contact = session.get(Contact, deal.contact_id) if deal.contact_id else None
    if contact is None or not contact.amocrm_id or contact.is_deleted:
        return None
    if contact.responsible_amocrm_id == deal.seller_amocrm_id:
        return None
    seller = session.scalar(select(User).where(User.account_id == deal.account_id,
                                               User.amocrm_id == deal.seller_amocrm_id))
    if seller is not None and not seller.is_active:
        return None  # never hand a client to a deactivated user
    return Binding(int(contact.amocrm_id), int(deal.seller_amocrm_id))
