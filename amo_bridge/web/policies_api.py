"""The deal card's policy panel: list, add, edit, remove a deal's policy lines, and preview the
income as the manager types. ``lead_id`` in every path is the amoCRM lead id (the card's id).

After every change the deal's price in amoCRM is brought to the total premium by a job
(``jobs.policy_lines.sync_deal_price``), enqueued after the commit: the remote call never runs
inside a request or a database transaction. Every change is written to the audit log.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import select

from amo_bridge.accounts import products_for
from amo_bridge.ledger.money import MoneyError
from amo_bridge.ledger.policy_lines import (
    LineError,
    add_line,
    deal_for_panel,
    deal_lines,
    edit_line,
    find_deal,
    is_managed,
    mapped_preview,
    preview_line,
    price_roubles,
    remove_line,
    totals,
)
from amo_bridge.models import Account, Deal, MoneyLine, Policy
from amo_bridge.reports.common import user_names
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.money_common import (
    ApiProblem,
    audit,
    identity,
    iso,
    lang,
    load_body,
    load_query,
    runtime,
    sees_everyone,
)
from amo_bridge.web.money_schemas import LangQuery, pct_text
from amo_bridge.web.widget_schemas import PolicyLineSchema, PolicyPreviewSchema, line_input
from jobs.queue import enqueue_after_commit

bp = Blueprint("policies_api", __name__)
PRICE_JOB = "jobs.policy_lines.sync_deal_price"


def _raise(exc: LineError | MoneyError) -> None:
    if isinstance(exc, LineError):
        raise ApiProblem(exc.status, exc.key, **exc.values) from None
    raise ApiProblem(409, "money.invalid", reason=str(exc)) from None


def _line_json(policy: Policy, *, names: dict[int, str], products, booked: set[int],
               shares: bool) -> dict[str, Any]:
    code = policy.product_code
    body: dict[str, Any] = {
        "id": policy.id, "source": policy.source, "product": code,
        "product_name": products.get(code).name(lang()) if code in products else code,
        "insurer": policy.insurer, "number": policy.number, "premium": policy.premium,
        "commission_pct": pct_text(policy.commission_pct), "income": policy.income,
        "starts_on": iso(policy.starts_on), "ends_on": iso(policy.ends_on),
        "sold_on": iso(policy.sold_on), "sum_insured": policy.sum_insured,
        "deductible": policy.deductible, "insured_object": dict(policy.insured_object or {}),
        "terms": policy.terms, "cancelled_on": iso(policy.cancelled_on), "refund": policy.refund,
        "booked": policy.id in booked,
        "seller": {"id": policy.seller_amocrm_id,
                   "name": names.get(policy.seller_amocrm_id or 0, "")},
        "issuer": {"id": policy.issuer_amocrm_id,
                   "name": names.get(policy.issuer_amocrm_id or 0, "")},
    }
    if shares:
        body.update(seller_share=policy.seller_share, issuer_share=policy.issuer_share)
    return body


def _sees_shares(policy: Policy) -> bool:
    who = identity()
    return sees_everyone(who) or who.amocrm_user_id in (policy.seller_amocrm_id,
                                                        policy.issuer_amocrm_id)


def _panel(session, account: Account, lead_id: int) -> dict[str, Any]:
    """The whole panel: the deal, its lines, totals, the price in amoCRM vs the target."""
    deal = find_deal(session, account.id, lead_id)
    names = user_names(session, account.id)
    products = products_for(session, account.id)
    lines = deal_lines(session, deal) if deal is not None else []
    booked = set(session.scalars(select(MoneyLine.policy_id).where(
        MoneyLine.policy_id.in_([p.id for p in lines])))) if lines else set()
    sum_ = totals(lines)
    every_share = all(_sees_shares(p) for p in lines)
    if not every_share:
        sum_.pop("seller_share")
        sum_.pop("issuer_share")
    managed = is_managed(lines)
    target = price_roubles(lines)
    price = (deal.price // 100) if deal is not None else None
    return {
        "deal": {
            "id": lead_id, "known": deal is not None and bool(deal.amocrm_updated_at),
            "name": deal.name if deal else "", "price": price,
            "won_on": iso(deal.won_at.date()) if deal and deal.won_at else None,
            "lost": bool(deal and deal.lost_at),
            "responsible": deal.responsible_amocrm_id if deal else None,
            "seller": deal.seller_amocrm_id if deal else None,
            "issuer": deal.issuer_amocrm_id if deal else None,
        },
        "money": "kopecks",
        "managed": managed,
        "lines": [_line_json(p, names=names, products=products, booked=booked,
                             shares=_sees_shares(p)) for p in lines],
        "totals": sum_,
        "price_target": target if managed else None,
        "price_in_sync": (not managed) or price == target,
        "mapped": _mapped_json(session, account, deal) if deal is not None and not lines else {},
    }


def _mapped_json(session, account: Account, deal) -> dict[str, Any]:
    found = mapped_preview(session, account, deal)
    return {k: (iso(v) if hasattr(v, "isoformat") else str(v) if k == "commission_pct" else v)
            for k, v in found.items()}


def _account(session) -> Account:
    return session.get(Account, identity().account_id)


@bp.get("/deals/<int:lead_id>/policies")
@widget_auth()
def get_lines(lead_id: int):
    """The deal's policy lines with totals and the price check."""
    load_query(LangQuery())
    with runtime().db.read_session() as session:
        return jsonify(_panel(session, _account(session), lead_id))


@bp.post("/deals/<int:lead_id>/policies")
@widget_auth()
def post_line(lead_id: int):
    """Add a line; answers the whole panel (201)."""
    data = line_input(load_body(PolicyLineSchema()))
    with runtime().session() as session:
        account = _account(session)
        deal = deal_for_panel(session, account.id, lead_id)
        try:
            policy = add_line(session, account, deal, data, by=identity().amocrm_user_id,
                              clock=runtime().clock)
        except (LineError, MoneyError) as exc:
            _raise(exc)
        audit(session, "policy_line.added", target=f"policy:{policy.id}", deal=lead_id,
              **_audit_values(policy))
        enqueue_after_commit(session, PRICE_JOB, deal.id)
        created = policy.id
    with runtime().db.read_session() as session:
        return jsonify(created=created, **_panel(session, _account(session), lead_id)), 201


@bp.put("/deals/<int:lead_id>/policies/<int:policy_id>")
@widget_auth()
def put_line(lead_id: int, policy_id: int):
    """Replace a line's fields; a booked line gets a reversal and a correction today."""
    data = line_input(load_body(PolicyLineSchema()))
    with runtime().session() as session:
        account = _account(session)
        deal = deal_for_panel(session, account.id, lead_id)
        try:
            policy, changed = edit_line(session, account, deal, policy_id, data,
                                        clock=runtime().clock)
        except (LineError, MoneyError) as exc:
            _raise(exc)
        if changed:
            audit(session, "policy_line.changed", target=f"policy:{policy.id}", deal=lead_id,
                  changed=list(changed), **_audit_values(policy))
        enqueue_after_commit(session, PRICE_JOB, deal.id)
    with runtime().db.read_session() as session:
        return jsonify(_panel(session, _account(session), lead_id))


@bp.delete("/deals/<int:lead_id>/policies/<int:policy_id>")
@widget_auth()
def delete_line(lead_id: int, policy_id: int):
    """Remove a line entered by mistake (a booked one is reversed, never erased)."""
    with runtime().session() as session:
        account = _account(session)
        deal = deal_for_panel(session, account.id, lead_id)
        try:
            removal = remove_line(session, account, deal, policy_id, clock=runtime().clock)
        except (LineError, MoneyError) as exc:
            _raise(exc)
        audit(session, "policy_line.removed", target=f"policy:{policy_id}", deal=lead_id,
              outcome=removal.outcome)
        enqueue_after_commit(session, PRICE_JOB, deal.id)
    with runtime().db.read_session() as session:
        return jsonify(removed=removal.outcome, **_panel(session, _account(session), lead_id))


@bp.post("/deals/<int:lead_id>/policies/preview")
@widget_auth()
def preview(lead_id: int):
    """Income, commission (from the rate table when blank) and shares of a line being typed."""
    data = line_input(load_body(PolicyPreviewSchema()))
    with runtime().db.read_session() as session:
        account = _account(session)
        deal = find_deal(session, account.id, lead_id)
        if deal is None:  # not mirrored yet: preview against an unsaved stand-in
            deal = Deal(account_id=account.id, amocrm_id=lead_id, name="")
        if data.product_code not in products_for(session, account.id):
            raise ApiProblem(422, "policy_lines.product", product=data.product_code)
        figures = preview_line(session, account, deal, data)
    who = identity()
    body = {"premium": figures.premium, "commission_pct": pct_text(figures.commission_pct),
            "commission_source": figures.commission_source, "income": figures.income}
    if sees_everyone(who) or who.amocrm_user_id in (figures.seller_amocrm_id,
                                                    figures.issuer_amocrm_id):
        body.update(seller_share=figures.seller_share, issuer_share=figures.issuer_share)
    return jsonify(body)


@bp.post("/deals/<int:lead_id>/price-sync")
@widget_auth()
def price_sync(lead_id: int):
    """Bring the deal's price in amoCRM to the total premium again (202: a job does it)."""
    with runtime().session() as session:
        deal = find_deal(session, identity().account_id, lead_id)
        if deal is None:
            raise ApiProblem(404, "widget.not_found", what=f"deal {lead_id}")
        enqueue_after_commit(session, PRICE_JOB, deal.id)
    return jsonify(queued=True), 202


def _audit_values(policy: Policy) -> dict[str, Any]:
    return {"product": policy.product_code, "insurer": policy.insurer,
            "number": policy.number, "premium": policy.premium,
            "commission_pct": pct_text(policy.commission_pct), "income": policy.income,
            "starts_on": iso(policy.starts_on), "ends_on": iso(policy.ends_on),
            "seller": policy.seller_amocrm_id, "issuer": policy.issuer_amocrm_id}
