"""The deal card's policy panel: a deal's policy lines, entered by hand (source ``widget``).

Seed 002, part 1: in each deal the manager picks the product(s) sold, at what premium, with which
insurer, the broker's commission %, the term, and the two employees (the seller who found and
priced it, the issuer who issued and delivered it). Lines entered here take precedence over the
deal's mapped custom fields: :func:`amo_bridge.ledger.policies.policy_from_deal` skips a deal
that has any widget line, and the first edit in the panel *adopts* a mapped line (it becomes a
widget line) so whatever was booked for it stays in the ledger's history.

Money is the money engine's (:func:`amo_bridge.ledger.money.price_policy`): income and salary
shares are computed on save, a line of a won deal is booked in the month the deal was won, a
later change books a reversal and a correction. Domain functions write rows and return them; the
caller (the widget API) enqueues the price sync to amoCRM after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from amo_bridge.accounts import get_section, products_for
from amo_bridge.amocrm.entities import CustomFieldValue
from amo_bridge.clock import Clock, FrozenClock, local_today, system_clock
from amo_bridge.ledger.changes import DealWon, StageMoved, reacts_to
from amo_bridge.ledger.money import Figures, compute_figures, price_policy
from amo_bridge.ledger.policies import read_policy_fields
from amo_bridge.models import (
    Account,
    Deal,
    MoneyLine,
    Policy,
    PolicyKind,
    PolicySource,
    Renewal,
    User,
)

MOTOR_KEYS = ("make", "model", "year", "plate", "vin")
#: Fields a line carries, in the order the panel shows them (audit entries use these names).
FIELDS = ("product_code", "insurer", "number", "premium", "commission_pct", "starts_on",
          "ends_on", "seller_amocrm_id", "issuer_amocrm_id", "sum_insured", "deductible",
          "insured_object", "terms")
REMOVED_PREFIX = "removed:"


class LineError(ValueError):
    """A line the panel cannot save; ``key`` is an i18n message key."""

    def __init__(self, status: int, key: str, **values: Any) -> None:
        super().__init__(key)
        self.status, self.key, self.values = status, key, values


@dataclass(frozen=True, slots=True, kw_only=True)
class LineInput:
    product_code: str
    premium: int = 0
    insurer: str | None = None
    number: str | None = None
    commission_pct: Decimal | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    seller_amocrm_id: int | None = None
    issuer_amocrm_id: int | None = None
    sum_insured: int | None = None
    deductible: int | None = None
    insured_object: Mapping[str, str] = field(default_factory=dict)
    terms: str | None = None

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}


@dataclass(frozen=True, slots=True)
class Removal:
    policy_id: int
    #: ``deleted`` (never booked: the row is gone) or ``reversed`` (its booking was reversed
    #: today and the row kept, detached, so the money lines keep their policy).
    outcome: str
    lines: tuple[MoneyLine, ...] = ()


# --- reading ----------------------------------------------------------------------------------


def deal_for_panel(session: Session, account_id: int, lead_id: int) -> Deal:
    """The mirrored deal of an amoCRM lead; a stub the mirror fills later when it is new.

    A card can be opened before its webhook was processed; the panel must work anyway.
    """
    deal = session.scalar(select(Deal).where(Deal.account_id == account_id,
                                             Deal.amocrm_id == lead_id))
    if deal is None:
        deal = Deal(account_id=account_id, amocrm_id=lead_id, name="")
        session.add(deal)
        session.flush()
    return deal


def find_deal(session: Session, account_id: int, lead_id: int) -> Deal | None:
    return session.scalar(select(Deal).where(Deal.account_id == account_id,
                                             Deal.amocrm_id == lead_id))


def deal_lines(session: Session, deal: Deal) -> list[Policy]:
    """The deal's own policy lines (mapped or entered), oldest first."""
    return list(session.scalars(
        select(Policy).where(Policy.deal_id == deal.id, Policy.kind == PolicyKind.OURS)
        .order_by(Policy.id)))


def is_managed(lines: Sequence[Policy]) -> bool:
    """The panel owns the deal's lines (and its price) once any line is a widget line."""
    return any(p.source == PolicySource.WIDGET for p in lines)


def totals(lines: Sequence[Policy]) -> dict[str, int]:
    live = [p for p in lines if p.cancelled_on is None]
    return {name: sum(getattr(p, name) or 0 for p in live)
            for name in ("premium", "income", "seller_share", "issuer_share")}


def price_roubles(lines: Sequence[Policy]) -> int:
    """amoCRM's budget is whole roubles: the total premium, rounded half up."""
    kopecks = totals(lines)["premium"]
    return int((Decimal(kopecks) / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def sold_on_for(deal: Deal, zone: str) -> date | None:
    """A sale belongs to the day its deal was won, in the account's timezone (DESIGN.md)."""
    if deal.won_at is None or deal.is_deleted:
        return None
    return deal.won_at.astimezone(ZoneInfo(zone)).date()


# --- writing ----------------------------------------------------------------------------------


def _check(session: Session, account_id: int, data: LineInput) -> None:
    if data.product_code not in products_for(session, account_id):
        raise LineError(422, "policy_lines.product", product=data.product_code)
    if data.premium < 0:
        raise LineError(422, "policy_lines.premium")
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        raise LineError(422, "policy_lines.dates")
    unknown_keys = set(data.insured_object) - set(MOTOR_KEYS)
    if unknown_keys:
        raise LineError(422, "policy_lines.object", keys=", ".join(sorted(unknown_keys)))
    known = set(session.scalars(select(User.amocrm_id).where(User.account_id == account_id)))
    for user in (data.seller_amocrm_id, data.issuer_amocrm_id):
        if user is not None and user not in known:
            raise LineError(422, "policy_lines.user", user=user)


def _apply(policy: Policy, data: LineInput, deal: Deal) -> tuple[str, ...]:
    wanted = data.values()
    wanted["insurer"] = (data.insurer or "").strip() or None
    wanted["number"] = (data.number or "").strip() or None
    wanted["terms"] = (data.terms or "").strip() or None
    wanted["insured_object"] = {k: str(v).strip() for k, v in data.insured_object.items()
                                if str(v).strip()}
    # The two employees default to the deal's (the mirror's rules), then its responsible.
    if wanted["seller_amocrm_id"] is None:
        wanted["seller_amocrm_id"] = deal.seller_amocrm_id or deal.responsible_amocrm_id
    if wanted["issuer_amocrm_id"] is None:
        wanted["issuer_amocrm_id"] = deal.issuer_amocrm_id or deal.responsible_amocrm_id
    changed = tuple(name for name, value in wanted.items() if getattr(policy, name) != value)
    for name in changed:
        setattr(policy, name, wanted[name])
    return changed


def _adopt(session: Session, deal: Deal) -> None:
    """Mapped lines of the deal become the panel's: the mirror stops overwriting them."""
    for policy in deal_lines(session, deal):
        if policy.source == PolicySource.DEAL:
            policy.source = PolicySource.WIDGET


def _line(session: Session, deal: Deal, policy_id: int) -> Policy:
    policy = session.get(Policy, policy_id)
    if (policy is None or policy.deal_id != deal.id or policy.kind != PolicyKind.OURS):
        raise LineError(404, "policy_lines.not_found", id=policy_id)
    return policy


def add_line(session: Session, account: Account, deal: Deal, data: LineInput, *,
             by: int | None, clock: Clock = system_clock) -> Policy:
    """A new line on the deal, priced (and booked when the deal is won)."""
    _check(session, account.id, data)
    _adopt(session, deal)
    policy = Policy(account_id=account.id, kind=PolicyKind.OURS, source=PolicySource.WIDGET,
                    external_key=f"widget:{deal.amocrm_id}:{uuid.uuid4().hex[:12]}",
                    deal_id=deal.id, contact_id=deal.contact_id, entered_by_amocrm_id=by,
                    sold_on=sold_on_for(deal, account.timezone), premium=0, insured_object={})
    session.add(policy)
    _apply(policy, data, deal)
    price_policy(session, policy, clock=clock)
    return policy


def edit_line(session: Session, account: Account, deal: Deal, policy_id: int, data: LineInput,
              *, clock: Clock = system_clock) -> tuple[Policy, tuple[str, ...]]:
    """Replace a line's fields; returns it with the names that changed (for the audit)."""
    _check(session, account.id, data)
    policy = _line(session, deal, policy_id)
    _adopt(session, deal)
    changed = _apply(policy, data, deal)
    policy.sold_on = sold_on_for(deal, account.timezone)
    policy.contact_id = policy.contact_id or deal.contact_id
    price_policy(session, policy, clock=clock)
    return policy, changed


def remove_line(session: Session, account: Account, deal: Deal, policy_id: int, *,
                clock: Clock = system_clock) -> Removal:
    """Remove a line entered by mistake.

    Never booked and never renewed: the row is deleted. Otherwise history is never rewritten:
    the booking is reversed today and the row stays as a detached tombstone (no deal, no
    client, ``cancelled_on`` today) so that reports, renewals and the history skip it.

    The last line of a won deal whose custom fields name a product is refused: with no panel
    line left, the mirror would book the mapped fields again on the deal's next change.
    """
    policy = _line(session, deal, policy_id)
    others = [p for p in deal_lines(session, deal) if p.id != policy.id]
    if not others and deal.won_at is not None:
        mapped = mapped_preview(session, account, deal)
        if mapped.get("product"):
            raise LineError(409, "policy_lines.last_mapped", product=mapped["product"])
    _adopt(session, deal)
    booked = session.scalar(select(exists().where(MoneyLine.policy_id == policy.id)))
    renewed = session.scalar(select(exists().where(Renewal.policy_id == policy.id)))
    if not booked and not renewed:
        session.delete(policy)
        session.flush()
        return Removal(policy_id, "deleted")
    policy.sold_on = None
    written = price_policy(session, policy, clock=clock)
    policy.deal_id = None
    policy.contact_id = None
    policy.cancelled_on = local_today(clock, account.timezone)
    policy.external_key = f"{REMOVED_PREFIX}{policy.id}:{policy.external_key}"[:255]
    session.flush()
    return Removal(policy_id, "reversed", tuple(written))


def mapped_preview(session: Session, account: Account, deal: Deal) -> dict[str, Any]:
    """What the deal's custom fields map to (the line the mirror books when no panel line)."""
    mapping = (get_section(session, account.id, "field_mapping") or {}).get("policy", {})
    values = tuple(CustomFieldValue.from_api(raw) for raw in deal.custom_fields or ())
    found = read_policy_fields(values, mapping, account.timezone)
    return {k: v for k, v in found.items() if v not in (None, "", {})}


def preview_line(session: Session, account: Account, deal: Deal, data: LineInput) -> Figures:
    """What saving ``data`` would compute — income, the commission from the rate table when
    blank, salary shares — without writing anything."""
    policy = Policy(account_id=account.id, kind=PolicyKind.OURS, product_code=data.product_code,
                    premium=max(0, data.premium), sold_on=sold_on_for(deal, account.timezone),
                    insured_object={})
    for name, value in data.values().items():
        if name not in ("product_code", "premium"):
            setattr(policy, name, value)
    if policy.seller_amocrm_id is None:
        policy.seller_amocrm_id = deal.seller_amocrm_id or deal.responsible_amocrm_id
    if policy.issuer_amocrm_id is None:
        policy.issuer_amocrm_id = deal.issuer_amocrm_id or deal.responsible_amocrm_id
    with session.no_autoflush:
        return compute_figures(session, policy)


# --- the mirror's side: a deal won (or moved back out of won) --------------------------------


def sync_sold_on(session: Session, deal: Deal, *, clock: Clock) -> list[Policy]:
    """Stamp the won day on the deal's widget lines (or clear it) and price them again."""
    account = session.get(Account, deal.account_id)
    sold = sold_on_for(deal, account.timezone)
    touched = []
    for policy in deal_lines(session, deal):
        if policy.source != PolicySource.WIDGET:
            continue
        if policy.seller_amocrm_id is None:
            policy.seller_amocrm_id = deal.seller_amocrm_id or deal.responsible_amocrm_id
        if policy.issuer_amocrm_id is None:
            policy.issuer_amocrm_id = deal.issuer_amocrm_id or deal.responsible_amocrm_id
        if policy.sold_on != sold:
            policy.sold_on = sold
            policy.contact_id = policy.contact_id or deal.contact_id
            price_policy(session, policy, clock=clock)
            touched.append(policy)
    return touched


@reacts_to(StageMoved, DealWon, name="policy_lines.sold_on")
def on_deal_moved(session: Session, change: StageMoved | DealWon) -> None:
    """The mirror skips deals whose lines the panel owns; this books them when won."""
    deal = session.get(Deal, change.deal_id)
    if deal is None:
        return None
    moment = getattr(change, "changed_at", None) or getattr(change, "won_at", None)
    # The move's own time stamps the lines: a replayed change writes the very same thing.
    sync_sold_on(session, deal, clock=FrozenClock(moment) if moment else system_clock)
    return None
