"""Plans (admins set a monthly plan per manager) and the policy panel's money: a policy's lines,
its cancellation and the undoing of a mistaken one. Every change is written to the audit log.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import select

from amo_bridge.ledger.money import MoneyError, cancel_policy, policy_ledger, uncancel_policy
from amo_bridge.models import Plan, Policy, Role
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.money_common import (
    ApiProblem,
    account_row,
    audit,
    identity,
    iso,
    load_body,
    load_query,
    product_code,
    runtime,
    sees_everyone,
)
from amo_bridge.web.money_schemas import (
    CancellationInput,
    LangQuery,
    PeriodQuery,
    PlanInput,
    pct_text,
)

bp = Blueprint("settings", __name__)
ADMIN, FINANCE = Role.ADMIN.value, Role.FINANCE.value


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
        product = product_code(session, data["product"])
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
        plan = account_row(session, Plan, plan_id)
        audit(session, "plan.deleted", target=f"plan:{plan.id}", **_plan(plan))
        session.delete(plan)
    return "", 204


# --- the policy panel: cancellation --------------------------------------------------------------


def _own_policy(session, policy_id: int) -> Policy:
    policy = account_row(session, Policy, policy_id)
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
        policy = account_row(session, Policy, policy_id)
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


@bp.get("/policies/<int:policy_id>/lines")
@widget_auth()
def policy_lines(policy_id: int):
    """Everything booked for one policy, oldest first (the policy panel's money history)."""
    load_query(LangQuery())
    with runtime().session() as session:
        policy = _own_policy(session, policy_id)
        lines = policy_ledger(session, policy.id).lines
        return jsonify(
            policy_id=policy.id,
            commission_pct=pct_text(policy.commission_pct),
            income=policy.income,
            seller_share=policy.seller_share,
            issuer_share=policy.issuer_share,
            cancelled_on=iso(policy.cancelled_on),
            refund=policy.refund,
            lines=[
                {
                    **_line(line),
                    "seq": line.seq,
                    "month": line.month.strftime("%Y-%m"),
                    "commission_pct": pct_text(line.commission_pct),
                    "commission_source": line.commission_source,
                    "seller": line.seller_amocrm_id,
                    "issuer": line.issuer_amocrm_id,
                }
                for line in lines
            ],
        )
