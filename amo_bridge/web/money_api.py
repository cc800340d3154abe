"""Money settings: plans (admins), commission rates and salary rules (admins and finance), and
the policy panel's cancellation. Every change is written to the audit log.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import select

from amo_bridge.accounts import products_for
from amo_bridge.ledger.money import MoneyError, cancel_policy, uncancel_policy
from amo_bridge.models import ANY, CommissionRate, Plan, Policy, Role, SalaryRule
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.money_common import (
    ApiProblem,
    audit,
    identity,
    iso,
    load_body,
    load_query,
    runtime,
    sees_everyone,
)
from amo_bridge.web.money_schemas import (
    CancellationInput,
    LangQuery,
    PeriodQuery,
    PlanInput,
    RateInput,
    SalaryRuleInput,
    pct_text,
)

bp = Blueprint("settings", __name__)
ADMIN, FINANCE = Role.ADMIN.value, Role.FINANCE.value


def _product(session, code: str) -> str:
    if code != ANY and code not in products_for(session, identity().account_id):
        raise ApiProblem(422, "reports.not_found", what=f"product {code}")
    return code


def _one(session, model, row_id: int):
    row = session.get(model, row_id)
    if row is None or row.account_id != identity().account_id:
        raise ApiProblem(404, "reports.not_found", what=f"{model.__tablename__} {row_id}")
    return row


# --- plans ------------------------------------------------------------------------------------


def _plan(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "manager": plan.user_amocrm_id,
        "month": plan.month.strftime("%Y-%m"),
        "product": plan.product_code,
        "income_target": plan.income_target,
        "premium_target": plan.premium_target,
    }


@bp.get("/plans")
@widget_auth()
def list_plans():
    data = load_query(PeriodQuery())
    who, period = identity(), data["parsed_period"]
    statement = (
        select(Plan)
        .where(
            Plan.account_id == who.account_id,
            Plan.month >= period.start.replace(day=1),
            Plan.month < period.end,
        )
        .order_by(Plan.month, Plan.id)
    )
    manager = data.get("manager") if sees_everyone(who) else who.amocrm_user_id
    if manager is not None:
        statement = statement.where(Plan.user_amocrm_id == manager)
    with runtime().session() as session:
        return jsonify(plans=[_plan(p) for p in session.scalars(statement)])


@bp.put("/plans")
@widget_auth(ADMIN)
def set_plan():
    data = load_body(PlanInput())
    who = identity()
    with runtime().session() as session:
        product = _product(session, data["product"])
        plan = session.scalar(
            select(Plan).where(
                Plan.account_id == who.account_id,
                Plan.user_amocrm_id == data["manager"],
                Plan.month == data["month"],
                Plan.product_code == product,
            )
        )
        if plan is None:
            plan = Plan(
                account_id=who.account_id,
                user_amocrm_id=data["manager"],
                month=data["month"],
                product_code=product,
            )
            session.add(plan)
        plan.income_target = data["income_target"]
        plan.premium_target = data["premium_target"]
        session.flush()
        audit(session, "plan.set", target=f"plan:{plan.id}", **_plan(plan))
        return jsonify(_plan(plan))


@bp.delete("/plans/<int:plan_id>")
@widget_auth(ADMIN)
def delete_plan(plan_id: int):
    with runtime().session() as session:
        plan = _one(session, Plan, plan_id)
        audit(session, "plan.deleted", target=f"plan:{plan.id}", **_plan(plan))
        session.delete(plan)
    return "", 204


# --- commission rates and salary rules ---------------------------------------------------------


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
        product = _product(session, data["product"])
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
        rate = _one(session, CommissionRate, rate_id)
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
        product = _product(session, data["product"])
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
        rule = _one(session, SalaryRule, rule_id)
        audit(session, "salary_rule.deleted", target=f"salary_rule:{rule.id}", **_rule(rule))
        session.delete(rule)
    return "", 204


# --- the policy panel: cancellation --------------------------------------------------------------


def _own_policy(session, policy_id: int) -> Policy:
    policy = _one(session, Policy, policy_id)
    who = identity()
    if not sees_everyone(who) and who.amocrm_user_id not in (
        policy.seller_amocrm_id,
        policy.issuer_amocrm_id,
    ):
        raise ApiProblem(403, "reports.own_only")
    return policy


@bp.post("/policies/<int:policy_id>/cancellation")
@widget_auth()
def cancel(policy_id: int):
    """Cancel a policy with a date and a refund (kopecks): a negative line in that month."""
    data = load_body(CancellationInput())
    with runtime().session() as session:
        policy = _own_policy(session, policy_id)
        try:
            line = cancel_policy(
                session,
                policy,
                on=data["on"],
                refund=data["refund"],
                clock=runtime().clock,
                note=data["note"],
            )
        except MoneyError as exc:
            raise ApiProblem(409, "money.invalid", reason=str(exc)) from None
        audit(
            session,
            "policy.cancelled",
            target=f"policy:{policy.id}",
            on=iso(data["on"]),
            refund=data["refund"],
        )
        return jsonify(
            policy_id=policy.id,
            cancelled_on=iso(policy.cancelled_on),
            refund=policy.refund,
            line=_line(line),
        )


@bp.delete("/policies/<int:policy_id>/cancellation")
@widget_auth(ADMIN, FINANCE)
def uncancel(policy_id: int):
    """Undo a cancellation entered by mistake (a reversal line today)."""
    with runtime().session() as session:
        policy = _one(session, Policy, policy_id)
        line = uncancel_policy(session, policy, clock=runtime().clock)
        audit(session, "policy.uncancelled", target=f"policy:{policy.id}")
        return jsonify(policy_id=policy.id, line=_line(line))


def _line(line) -> dict[str, Any] | None:
    if line is None:
        return None
    return {
        "id": line.id,
        "kind": line.kind,
        "booked_on": iso(line.booked_on),
        "premium": line.premium,
        "income": line.income,
        "seller_share": line.seller_share,
        "issuer_share": line.issuer_share,
    }
