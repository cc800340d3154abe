"""Client history (seed 002, part 4): every policy of a client, ours and foreign, what ends next,
and the client's other deals — open, won, lost with the reason.

Shown in the contact card to whoever opens it, so it carries what the client bought (product,
insurer, dates, premium, terms, insured object, who sold and who issued) and never the broker's
income, commission or salary shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from amo_bridge.accounts import products_for
from amo_bridge.models import Contact, Deal, Policy
from amo_bridge.reports.common import user_names


@dataclass(frozen=True, slots=True)
class Person:
    amocrm_id: int | None
    name: str


@dataclass(slots=True)
class ClientPolicy:
    id: int
    kind: str
    status: str  # active, upcoming, ended, cancelled, renewed
    product_code: str
    product_name: str
    insurer: str | None
    number: str | None
    premium: int
    starts_on: date | None
    ends_on: date | None
    sold_on: date | None
    sum_insured: int | None
    deductible: int | None
    terms: str | None
    insured_object: dict[str, Any]
    seller: Person
    issuer: Person
    deal_amocrm_id: int | None
    cancelled_on: date | None
    refund: int | None
    renewed_by_id: int | None


@dataclass(slots=True)
class ClientDeal:
    amocrm_id: int
    name: str
    state: str  # open, won, lost
    pipeline_id: int | None
    status_id: int | None
    price: int
    responsible: Person
    created_at: datetime | None
    won_at: datetime | None
    lost_at: datetime | None
    loss_reason: str | None
    policies: int = 0


@dataclass(slots=True)
class ClientHistory:
    contact_id: int
    contact_amocrm_id: int | None
    name: str
    policies: list[ClientPolicy] = field(default_factory=list)
    ends_next: ClientPolicy | None = None
    deals: list[ClientDeal] = field(default_factory=list)


def _status(policy: Policy, today: date) -> str:
    if policy.cancelled_on is not None and (
        policy.ends_on is None or policy.cancelled_on < policy.ends_on
    ):
        return "cancelled"
    if policy.renewed_by_id is not None:
        return "renewed"
    if policy.ends_on is not None and policy.ends_on < today:
        return "ended"
    if policy.starts_on is not None and policy.starts_on > today:
        return "upcoming"
    return "active"


def client_history(
    session: Session, account_id: int, *, contact_id: int, today: date, lang: str = "ru"
) -> ClientHistory | None:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.account_id != account_id:
        return None
    names = user_names(session, account_id)
    products = products_for(session, account_id)

    def person(amocrm_id: int | None) -> Person:
        return Person(amocrm_id, names.get(amocrm_id, "") if amocrm_id is not None else "")

    deals = session.scalars(
        select(Deal)
        .where(
            Deal.account_id == account_id,
            Deal.is_deleted.is_(False),
            or_(Deal.contact_id == contact.id, Deal.company_id == contact.id),
        )
        .order_by(Deal.amocrm_created_at.desc().nulls_last(), Deal.id.desc())
    ).all()
    deal_ids = [d.id for d in deals]
    deal_by_id = {d.id: d for d in deals}
    condition = Policy.contact_id == contact.id
    if deal_ids:
        condition = or_(condition, Policy.deal_id.in_(deal_ids))
    policies = session.scalars(
        select(Policy)
        .where(Policy.account_id == account_id, condition)
        .order_by(Policy.ends_on.desc().nulls_last(), Policy.id.desc())
    ).all()

    history = ClientHistory(
        contact_id=contact.id, contact_amocrm_id=contact.amocrm_id, name=contact.name
    )
    policy_counts: dict[int, int] = {}
    for policy in policies:
        product = policy.product_code
        name = products.get(product).name(lang) if product in products else product
        deal = deal_by_id.get(policy.deal_id) if policy.deal_id else None
        if deal is None and policy.deal_id:
            deal = session.get(Deal, policy.deal_id)
        if policy.deal_id:
            policy_counts[policy.deal_id] = policy_counts.get(policy.deal_id, 0) + 1
        history.policies.append(
            ClientPolicy(
                id=policy.id,
                kind=policy.kind,
                status=_status(policy, today),
                product_code=product,
                product_name=name,
                insurer=policy.insurer,
                number=policy.number,
                premium=policy.premium,
                starts_on=policy.starts_on,
                ends_on=policy.ends_on,
                sold_on=policy.sold_on,
                sum_insured=policy.sum_insured,
                deductible=policy.deductible,
                terms=policy.terms,
                insured_object=dict(policy.insured_object or {}),
                seller=person(policy.seller_amocrm_id),
                issuer=person(policy.issuer_amocrm_id),
                deal_amocrm_id=deal.amocrm_id if deal else None,
                cancelled_on=policy.cancelled_on,
                refund=policy.refund,
                renewed_by_id=policy.renewed_by_id,
            )
        )
    upcoming = [
        p
        for p in history.policies
        if p.status in ("active", "upcoming") and p.ends_on and p.ends_on >= today
    ]
    history.ends_next = min(upcoming, key=lambda p: (p.ends_on, p.id), default=None)
    for deal in deals:
        state = "won" if deal.won_at else "lost" if deal.lost_at else "open"
        history.deals.append(
            ClientDeal(
                amocrm_id=deal.amocrm_id,
                name=deal.name,
                state=state,
                pipeline_id=deal.pipeline_id,
                status_id=deal.status_id,
                price=deal.price,
                responsible=person(deal.responsible_amocrm_id),
                created_at=deal.amocrm_created_at,
                won_at=deal.won_at,
                lost_at=deal.lost_at,
                loss_reason=deal.loss_reason,
                policies=policy_counts.get(deal.id, 0),
            )
        )
    return history


def contact_by_amocrm_id(session: Session, account_id: int, amocrm_id: int) -> Contact | None:
    return session.scalar(
        select(Contact).where(Contact.account_id == account_id, Contact.amocrm_id == amocrm_id)
    )
