"""The money rule tables, edited by admins and finance: commission rates (insurer × product ×
valid-from), salary rules (seller/issuer × product × user × valid-from) and retention targets.
A new rate or rule applies to policies starting on or after its date; lines already booked keep
the figures they were booked with. Every change is written to the audit log.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import select

from amo_bridge.accounts import get_section, set_section
from amo_bridge.models import CommissionRate, Role, SalaryRule
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.money_common import (
    account_row,
    audit,
    identity,
    iso,
    load_body,
    load_query,
    product_code,
    runtime,
)
from amo_bridge.web.money_schemas import (
    LangQuery,
    RateInput,
    RetentionTargetsInput,
    SalaryRuleInput,
    pct_text,
)

bp = Blueprint("rates", __name__)
ADMIN, FINANCE = Role.ADMIN.value, Role.FINANCE.value


def _rate(rate: CommissionRate) -> dict[str, Any]:
    return {
        "id": rate.id,
        "insurer": rate.insurer,
        "product": rate.product_code,
        "valid_from": iso(rate.valid_from),
        "rate_pct": pct_text(rate.rate_pct),
    }


def _rule(rule: SalaryRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "role": rule.role,
        "product": rule.product_code,
        "user": rule.user_key,
        "basis": rule.basis,
        "pct": pct_text(rule.pct),
        "fixed_amount": rule.fixed_amount,
        "valid_from": iso(rule.valid_from),
    }


@bp.get("/commission-rates")
@widget_auth(ADMIN, FINANCE)
def list_rates():
    load_query(LangQuery())
    with runtime().session() as session:
        rates = session.scalars(
            select(CommissionRate)
            .where(CommissionRate.account_id == identity().account_id)
            .order_by(
                CommissionRate.product_code, CommissionRate.insurer, CommissionRate.valid_from
            )
        )
        return jsonify(rates=[_rate(r) for r in rates])


@bp.post("/commission-rates")
@widget_auth(ADMIN, FINANCE)
def add_rate():
    """A new rate from a date; past lines keep the figures they were booked with."""
    data = load_body(RateInput())
    who = identity()
    with runtime().session() as session:
        product = product_code(session, data["product"])
        rate = session.scalar(
            select(CommissionRate).where(
                CommissionRate.account_id == who.account_id,
                CommissionRate.insurer == data["insurer"],
                CommissionRate.product_code == product,
                CommissionRate.valid_from == data["valid_from"],
            )
        )
        if rate is None:
            rate = CommissionRate(
                account_id=who.account_id,
                insurer=data["insurer"].strip(),
                product_code=product,
                valid_from=data["valid_from"],
            )
            session.add(rate)
        rate.rate_pct = data["rate_pct"]
        session.flush()
        audit(session, "commission_rate.set", target=f"commission_rate:{rate.id}", **_rate(rate))
        return jsonify(_rate(rate)), 201


@bp.delete("/commission-rates/<int:rate_id>")
@widget_auth(ADMIN, FINANCE)
def delete_rate(rate_id: int):
    with runtime().session() as session:
        rate = account_row(session, CommissionRate, rate_id)
        audit(
            session, "commission_rate.deleted", target=f"commission_rate:{rate.id}", **_rate(rate)
        )
        session.delete(rate)
    return "", 204


@bp.get("/salary-rules")
@widget_auth(ADMIN, FINANCE)
def list_salary_rules():
    load_query(LangQuery())
    with runtime().session() as session:
        rules = session.scalars(
            select(SalaryRule)
            .where(SalaryRule.account_id == identity().account_id)
            .order_by(
                SalaryRule.role, SalaryRule.product_code, SalaryRule.user_key, SalaryRule.valid_from
            )
        )
        return jsonify(rules=[_rule(r) for r in rules])


@bp.post("/salary-rules")
@widget_auth(ADMIN, FINANCE)
def add_salary_rule():
    data = load_body(SalaryRuleInput())
    who = identity()
    with runtime().session() as session:
        product = product_code(session, data["product"])
        rule = session.scalar(
            select(SalaryRule).where(
                SalaryRule.account_id == who.account_id,
                SalaryRule.role == data["role"],
                SalaryRule.product_code == product,
                SalaryRule.user_key == data["user"],
                SalaryRule.valid_from == data["valid_from"],
            )
        )
        if rule is None:
            rule = SalaryRule(
                account_id=who.account_id,
                role=data["role"],
                product_code=product,
                user_key=data["user"],
                valid_from=data["valid_from"],
            )
            session.add(rule)
        rule.basis, rule.pct, rule.fixed_amount = data["basis"], data["pct"], data["fixed_amount"]
        session.flush()
        audit(session, "salary_rule.set", target=f"salary_rule:{rule.id}", **_rule(rule))
        return jsonify(_rule(rule)), 201


@bp.delete("/salary-rules/<int:rule_id>")
@widget_auth(ADMIN, FINANCE)
def delete_salary_rule(rule_id: int):
    with runtime().session() as session:
        rule = account_row(session, SalaryRule, rule_id)
        audit(session, "salary_rule.deleted", target=f"salary_rule:{rule.id}", **_rule(rule))
        session.delete(rule)
    return "", 204


@bp.get("/retention-targets")
@widget_auth()
def list_retention_targets():
    load_query(LangQuery())
    with runtime().session() as session:
        targets = get_section(session, identity().account_id, "retention_targets") or {}
    return jsonify(targets={code: str(value) for code, value in targets.items()})


@bp.put("/retention-targets")
@widget_auth(ADMIN)
def set_retention_targets():
    """Replace the targets: ``{"targets": {"kasko": "75", "ifl": "80"}}`` (percent)."""
    data = load_body(RetentionTargetsInput())
    targets = {}
    with runtime().session() as session:
        for code, value in data["targets"].items():
            targets[product_code(session, code)] = pct_text(value)
        set_section(
            session,
            identity().account_id,
            "retention_targets",
            targets,
            by=identity().amocrm_user_id,
        )
        audit(session, "retention_targets.set", target="settings:retention_targets", **targets)
    return jsonify(targets=targets)
