"""A won deal's mapped custom fields become one policy line.

The account's ``field_mapping.policy`` section names, per ledger field, the amoCRM fields to read
(by name, code or id). Several policies per deal come from the widget's policy panel; lines
entered there take precedence, so a deal that has any widget line gets no mapped line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.amocrm import fields as amo_fields
from amo_bridge.amocrm.entities import CustomFieldValue
from amo_bridge.clock import Clock, system_clock
from amo_bridge.ledger.changes import Change, PolicyRecorded
from amo_bridge.ledger.money import price_policy
from amo_bridge.models import Account, Deal, Policy, PolicyKind, PolicySource
from amo_bridge.products import ProductDictionary, UnknownProduct

MOTOR_FIELDS = ("make", "model", "year", "plate", "vin")
TRACKED = ("product_code", "insurer", "number", "premium", "commission_pct", "starts_on",
           "ends_on", "sum_insured", "deductible", "seller_amocrm_id", "issuer_amocrm_id",
           "sold_on", "contact_id", "insured_object")


@dataclass(frozen=True, slots=True)
class PolicySkipped:
    deal_id: int
    reason: str


def deal_key(deal: Deal) -> str:
    return f"deal:{deal.amocrm_id}"


def _first(values: Sequence[CustomFieldValue], names: Sequence[str], read):
    for name in names:
        key: int | str = int(name) if str(name).isdigit() else str(name)
        value = read(values, key)
        if value not in (None, ""):
            return value
    return None


def _kopecks(number: Decimal | None) -> int | None:
    if number is None:
        return None
    return int((number * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def read_policy_fields(
    values: Sequence[CustomFieldValue], mapping: Mapping[str, Sequence[str]], timezone: str
) -> dict[str, Any]:
    def text(field: str) -> str | None:
        value = _first(values, mapping.get(field, ()), amo_fields.read_text)
        return str(value).strip() if value is not None else None

    def number(field: str) -> Decimal | None:
        return _first(values, mapping.get(field, ()), amo_fields.read_number)

    def day(field: str) -> date | None:
        return _first(values, mapping.get(field, ()),
                      lambda v, k: amo_fields.read_date(v, k, tz=timezone))

    percent = number("commission_pct")
    return {
        "product": text("product"),
        "insurer": text("insurer"),
        "number": text("number"),
        "starts_on": day("starts_on"),
        "ends_on": day("ends_on"),
        "premium": _kopecks(number("premium")),
        "commission_pct": percent.quantize(Decimal("0.0001")) if percent is not None else None,
        "sum_insured": _kopecks(number("sum_insured")),
        "deductible": _kopecks(number("deductible")),
        "insured_object": {k: v for k in MOTOR_FIELDS if (v := text(k))},
    }


def policy_from_deal(
    session: Session,
    account: Account,
    deal: Deal,
    *,
    mapping: Mapping[str, Sequence[str]],
    products: ProductDictionary | None,
    clock: Clock = system_clock,
) -> Change | PolicySkipped | None:
    """Create or update the mapped policy line of a won deal; None when nothing changed.

    A deal that is no longer won (moved back, deleted) un-books its mapped line: the money
    engine writes the reversal; the line itself stays (history is never rewritten).
    """
    if deal.won_at is None or deal.is_deleted:
        return _unbook(session, account, deal, clock=clock)
    has_widget_lines = session.scalar(
        select(Policy.id).where(Policy.deal_id == deal.id, Policy.source == PolicySource.WIDGET)
        .limit(1)
    )
    if has_widget_lines:
        return None
    values = tuple(CustomFieldValue.from_api(raw) for raw in deal.custom_fields or ())
    found = read_policy_fields(values, mapping, account.timezone)
    if not found["product"]:
        return PolicySkipped(deal.id, "the deal has no insurance product (Вид страхования)")
    try:
        product = products.resolve(found["product"])
    except UnknownProduct as exc:
        return PolicySkipped(deal.id, f"unknown product {exc.value!r}")

    wanted: dict[str, Any] = {
        "product_code": product.code,
        "insurer": found["insurer"],
        "number": found["number"],
        "premium": found["premium"] if found["premium"] is not None else deal.price,
        "commission_pct": found["commission_pct"],
        "starts_on": found["starts_on"],
        "ends_on": found["ends_on"],
        "sum_insured": found["sum_insured"],
        "deductible": found["deductible"],
        "insured_object": found["insured_object"],
        "seller_amocrm_id": deal.seller_amocrm_id,
        "issuer_amocrm_id": deal.issuer_amocrm_id,
        "sold_on": deal.won_at.astimezone(_zone(account.timezone)).date(),
        "contact_id": deal.contact_id,
    }
    policy = session.scalar(
        select(Policy).where(Policy.account_id == account.id, Policy.external_key == deal_key(deal))
    )
    created = policy is None
    if policy is None:
        policy = Policy(account_id=account.id, external_key=deal_key(deal), kind=PolicyKind.OURS,
                        source=PolicySource.DEAL, deal_id=deal.id)
        session.add(policy)
    if wanted["commission_pct"] is None and policy.commission_pct is not None:
        # Blank in amoCRM: the money engine filled it from the rate table; not a change.
        del wanted["commission_pct"]
    changed = tuple(f for f in TRACKED if f in wanted and getattr(policy, f, None) != wanted[f])
    if not created and not changed:
        return None
    for field, value in wanted.items():
        setattr(policy, field, value)
    price_policy(session, policy, clock=clock)
    session.flush()
    return PolicyRecorded(account_id=account.id, policy_id=policy.id, created=created,
                          changed_fields=changed)


def _unbook(session: Session, account: Account, deal: Deal, *, clock: Clock) -> Change | None:
    policy = session.scalar(
        select(Policy).where(Policy.account_id == account.id, Policy.external_key == deal_key(deal))
    )
    if policy is None or policy.sold_on is None:
        return None
    policy.sold_on = None
    price_policy(session, policy, clock=clock)
    session.flush()
    return PolicyRecorded(account_id=account.id, policy_id=policy.id, created=False,
                          changed_fields=("sold_on",))


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
