"""The widget's money API: reports (plan vs fact, payroll, retention, client history).

Everything under ``/widget/api`` with amoCRM's JWT (``@widget_auth``). Admins and finance see
everyone's figures; a manager sees only their own (the filter is pinned to them, and asking for
someone else is a 403). Plans and the policy panel's money are in :mod:`money_api`, the rate
tables and targets in :mod:`rates_api`, roles and amoCRM export rights in :mod:`roles_api`, the
exports in :mod:`exports_api`; this blueprint carries them all.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from amo_bridge.clock import local_today
from amo_bridge.models import Account
from amo_bridge.reports.client import ClientHistory, client_history, contact_by_amocrm_id
from amo_bridge.reports.payroll import payroll
from amo_bridge.reports.plan_fact import PlanFactRow, plan_vs_fact
from amo_bridge.reports.retention import RetentionRow, retention
from amo_bridge.web import exports_api, money_api, rates_api, roles_api
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.money_common import (
    ApiProblem,
    identity,
    iso,
    lang,
    load_query,
    runtime,
    scoped_filter,
)
from amo_bridge.web.money_schemas import LangQuery, PayrollQuery, PeriodQuery, pct_text

bp = Blueprint("money", __name__, url_prefix="/widget/api")
bp.register_blueprint(money_api.bp)
bp.register_blueprint(exports_api.bp)
bp.register_blueprint(roles_api.bp)
bp.register_blueprint(rates_api.bp)


@bp.errorhandler(ApiProblem)
def _api_problem(exc: ApiProblem):
    return exc.response(lang())


def _plan_row(row: PlanFactRow) -> dict[str, Any]:
    return {
        "manager": row.manager,
        "manager_name": row.manager_name,
        "month": row.month.strftime("%Y-%m"),
        "policies": row.policies,
        "cancellations": row.cancellations,
        "premium": row.premium,
        "income": row.income,
        "plan_income": row.plan_income,
        "income_pct": pct_text(row.income_pct),
        "plan_premium": row.plan_premium,
        "premium_pct": pct_text(row.premium_pct),
    }


@bp.get("/reports/plan-fact")
@widget_auth()
def plan_fact_report():
    flt = scoped_filter(identity(), load_query(PeriodQuery()))
    with runtime().session() as session:
        report = plan_vs_fact(session, identity().account_id, flt)
    total = _plan_row(report.total)
    total.pop("month")
    return jsonify(
        filter=flt.as_dict(),
        money="kopecks",
        rows=[_plan_row(r) for r in report.rows],
        team=[_plan_row(r) for r in report.months],
        total=total,
    )


@bp.get("/reports/payroll")
@widget_auth()
def payroll_report():
    data = load_query(PayrollQuery())
    flt = scoped_filter(identity(), data)
    with runtime().session() as session:
        report = payroll(session, identity().account_id, flt, with_lines=data["details"])

    def row(item) -> dict[str, Any]:
        out = {
            "employee": item.employee,
            "employee_name": item.employee_name,
            "month": item.month.strftime("%Y-%m"),
            "seller_policies": item.seller_policies,
            "seller_share": item.seller_share,
            "issuer_policies": item.issuer_policies,
            "issuer_share": item.issuer_share,
            "total": item.total,
        }
        if data["details"]:
            out["lines"] = [
                {
                    "line_id": x.line_id,
                    "policy_id": x.policy_id,
                    "role": x.role,
                    "kind": x.kind,
                    "booked_on": iso(x.booked_on),
                    "share": x.share,
                    "premium": x.premium,
                    "income": x.income,
                    "product": x.product_code,
                    "insurer": x.insurer,
                    "number": x.number,
                    "client": x.client,
                    "deal_id": x.deal_amocrm_id,
                }
                for x in item.lines
            ]
        return out

    total = row(report.total)
    for key in ("employee", "employee_name", "month", "lines"):
        total.pop(key, None)
    return jsonify(
        filter=flt.as_dict(), money="kopecks", rows=[row(r) for r in report.rows], total=total
    )


def _retention_row(row: RetentionRow) -> dict[str, Any]:
    return {
        "product": row.product_code,
        "manager": row.manager,
        "manager_name": row.manager_name,
        "due": row.due,
        "renewed": row.renewed,
        "lost": row.lost,
        "pending": row.pending,
        "premium_due": row.premium_due,
        "rate_pct": pct_text(row.rate_pct),
        "target_pct": pct_text(row.target_pct),
        "below_target": row.below_target,
    }


@bp.get("/reports/retention")
@widget_auth()
def retention_report():
    flt = scoped_filter(identity(), load_query(PeriodQuery()))
    with runtime().session() as session:
        report = retention(session, identity().account_id, flt)
    total = _retention_row(report.total)
    for key in ("product", "manager", "manager_name", "target_pct", "below_target"):
        total.pop(key)
    return jsonify(
        filter=flt.as_dict(),
        rows=[_retention_row(r) for r in report.rows],
        products=[_retention_row(r) for r in report.products],
        total=total,
    )


def _history(history: ClientHistory) -> dict[str, Any]:
    def person(p) -> dict[str, Any]:
        return {"id": p.amocrm_id, "name": p.name}

    def policy(p) -> dict[str, Any]:
        return {
            "id": p.id,
            "kind": p.kind,
            "status": p.status,
            "product": p.product_code,
            "product_name": p.product_name,
            "insurer": p.insurer,
            "number": p.number,
            "premium": p.premium,
            "starts_on": iso(p.starts_on),
            "ends_on": iso(p.ends_on),
            "sold_on": iso(p.sold_on),
            "sum_insured": p.sum_insured,
            "deductible": p.deductible,
            "terms": p.terms,
            "insured_object": p.insured_object,
            "seller": person(p.seller),
            "issuer": person(p.issuer),
            "deal_id": p.deal_amocrm_id,
            "cancelled_on": iso(p.cancelled_on),
            "refund": p.refund,
        }

    return {
        "contact": {"id": history.contact_amocrm_id, "name": history.name},
        "policies": [policy(p) for p in history.policies],
        "ends_next": policy(history.ends_next) if history.ends_next else None,
        "deals": [
            {
                "id": d.amocrm_id,
                "name": d.name,
                "state": d.state,
                "pipeline_id": d.pipeline_id,
                "status_id": d.status_id,
                "price": d.price,
                "responsible": person(d.responsible),
                "created_at": iso(d.created_at),
                "won_at": iso(d.won_at),
                "lost_at": iso(d.lost_at),
                "loss_reason": d.loss_reason,
                "policies": d.policies,
            }
            for d in history.deals
        ],
    }


@bp.get("/clients/<int:contact_id>/history")
@widget_auth()
def client_history_report(contact_id: int):
    """The contact card's history; ``contact_id`` is the amoCRM contact (or company) id."""
    query_lang = load_query(LangQuery())["lang"] or lang()
    who = identity()
    with runtime().session() as session:
        account = session.get(Account, who.account_id)
        contact = contact_by_amocrm_id(session, who.account_id, contact_id)
        if contact is None:
            raise ApiProblem(404, "reports.not_found", what=f"contact {contact_id}")
        history = client_history(
            session,
            who.account_id,
            contact_id=contact.id,
            today=local_today(runtime().clock, account.timezone),
            lang=query_lang,
        )
    return jsonify(money="kopecks", **_history(history))
