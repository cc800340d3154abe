"""The renewals API under ``/widget/api/renewals`` (the widget calls it).

- Admins: the settings (schedules per kind/product, texts, follow-ups), the assignee rules
  (ours and foreign separately), users' availability (away, backup), the preview "who gets the
  next N renewals", a scan on demand, retrying failed renewals.
- Managers: the foreign policies of a contact (add, edit and remove their own), the list of
  renewals assigned to them.

Strict input (marshmallow, unknown fields refused); errors are problem+json in the caller's
language with both languages under ``messages``. Every change is written to the audit log.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from marshmallow import ValidationError
from sqlalchemy import select

from amo_bridge.accounts import get_section, products_for, set_section
from amo_bridge.i18n import t
from amo_bridge.models import Account, AssigneeRule, Contact, Renewal, Role, User
from amo_bridge.renewals import rules, texts
from amo_bridge.renewals.config import SECTION
from amo_bridge.renewals.errors import RenewalsError
from amo_bridge.renewals.reserve import plan
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.money_common import (
    ApiProblem,
    audit,
    identity,
    iso,
    load_body,
    load_query,
    runtime,
)
from amo_bridge.web.renewals_schemas import (
    AvailabilityInput,
    ListQuery,
    PreviewQuery,
    RuleInput,
    SettingsInput,
)
from jobs.queue import enqueue_after_commit

bp = Blueprint("renewals_api", __name__, url_prefix="/widget/api/renewals")
ADMIN = Role.ADMIN.value


@bp.errorhandler(RenewalsError)
def _refused(exc: RenewalsError) -> Response:
    return ApiProblem(exc.status, exc.key, **exc.values).response(identity().lang)


@bp.errorhandler(ApiProblem)
def _problem(exc: ApiProblem) -> Response:
    return exc.response(identity().lang)


# --- settings ---------------------------------------------------------------------------------


@bp.get("/settings")
@widget_auth(ADMIN)
def get_settings():
    with runtime().db.read_session() as session:
        return jsonify(get_section(session, identity().account_id, SECTION))


@bp.put("/settings")
@widget_auth(ADMIN)
def put_settings():
    data = load_body(SettingsInput())
    who = identity()
    for key, variables in (("deal_name", texts.RENEWAL_VARIABLES),
                           ("task_text", texts.RENEWAL_VARIABLES),
                           ("followup_task_text", texts.FOLLOWUP_VARIABLES)):
        for where, source in [(key, data.get(key))] + [
                (f"schedules.{n}.{key}", s.get(key)) for n, s in enumerate(data.get("schedules")
                                                                         or ())]:
            if source is not None:
                try:
                    texts.check_template(source, variables)
                except texts.TextProblem as exc:  # 422 problem with ``errors`` by field path
                    raise ValidationError({where: [t(exc.key, who.lang, **exc.values)]}) from None
    with runtime().session() as session:
        known = products_for(session, who.account_id)
        for item in data.get("schedules") or ():
            if item["product"] != "*" and item["product"] not in known:
                raise RenewalsError(422, "renewals.product.unknown", product=item["product"])
        current = get_section(session, who.account_id, SECTION)
        current.update(data)
        set_section(session, who.account_id, SECTION, current, by=who.amocrm_user_id)
        audit(session, "renewals.settings", target=SECTION, changed=sorted(data))
        return jsonify(current)


# --- assignee rules and availability -------------------------------------------------------------


@bp.get("/rules")
@widget_auth(ADMIN)
def list_rules():
    with runtime().db.read_session() as session:
        found = session.scalars(select(AssigneeRule).where(
            AssigneeRule.account_id == identity().account_id)
            .order_by(AssigneeRule.policy_kind, AssigneeRule.product_code))
        return jsonify(rules=[rules.rule_json(r) for r in found])


@bp.put("/rules")
@widget_auth(ADMIN)
def put_rule():
    data = load_body(RuleInput())
    with runtime().session() as session:
        rule = rules.set_rule(session, identity().account_id, kind=data["kind"],
                              product=data["product"], strategy=data["strategy"],
                              fixed=data["fixed_user"], pool=data["pool"],
                              fallback=data["fallback_user"])
        audit(session, "renewals.rule", target=f"assignee_rule:{rule.id}", **rules.rule_json(rule))
        return jsonify(rules.rule_json(rule))


@bp.delete("/rules/<int:rule_id>")
@widget_auth(ADMIN)
def delete_rule(rule_id: int):
    with runtime().session() as session:
        rule = session.get(AssigneeRule, rule_id)
        if rule is None or rule.account_id != identity().account_id:
            raise RenewalsError(404, "renewals.not_found", what=f"rule {rule_id}")
        audit(session, "renewals.rule_deleted", target=f"assignee_rule:{rule.id}",
              **rules.rule_json(rule))
        session.delete(rule)
    return "", 204


def _user_json(user: User, by_row: dict[int, User]) -> dict[str, Any]:
    backup = by_row.get(user.backup_user_id) if user.backup_user_id else None
    return {"id": user.amocrm_id, "name": user.name, "is_active": user.is_active,
            "is_admin": user.is_admin, "away_until": iso(user.away_until),
            "backup_user": backup.amocrm_id if backup else None}


@bp.get("/users")
@widget_auth(ADMIN)
def list_users():
    with runtime().db.read_session() as session:
        users = session.scalars(select(User).where(User.account_id == identity().account_id)
                                .order_by(User.name)).all()
        by_row = {u.id: u for u in users}
        return jsonify(users=[_user_json(u, by_row) for u in users])


@bp.put("/users/<int:amocrm_id>/availability")
@widget_auth(ADMIN)
def put_availability(amocrm_id: int):
    data = load_body(AvailabilityInput())
    with runtime().session() as session:
        user = rules.set_availability(session, identity().account_id, amocrm_id,
                                      away_until=data["away_until"], backup=data["backup_user"])
        by_row = {u.id: u for u in session.scalars(select(User).where(
            User.account_id == user.account_id))}
        body = _user_json(user, by_row)
        audit(session, "renewals.availability", target=f"user:{amocrm_id}", **body)
        return jsonify(body)


# --- preview, scan, list ------------------------------------------------------------------------


@bp.get("/preview")
@widget_auth(ADMIN)
def preview():
    """Who would get the next N renewals (nothing is written, no cursor moves)."""
    query = load_query(PreviewQuery())
    rt = runtime()
    with rt.db.read_session() as session:
        account = session.get(Account, identity().account_id)
        planned = plan(session, account, clock=rt.clock, count=query["count"],
                       kind=query["kind"], product=query["product"], horizon=query["horizon"])
        names = dict(session.execute(select(User.amocrm_id, User.name).where(
            User.account_id == account.id)).all())
        contacts = _contact_names(session, [p.policy.contact_id for p in planned])
        products = products_for(session, account.id)
    lang = identity().lang
    return jsonify(renewals=[{
        "policy_id": p.policy.policy_id, "kind": p.policy.kind,
        "product": p.policy.product_code,
        "product_name": products.get(p.policy.product_code).name(lang)
        if p.policy.product_code in products else p.policy.product_code,
        "client": contacts.get(p.policy.contact_id), "ends_on": iso(p.policy.ends_on),
        "due_on": iso(p.policy.due_on), "assignee": p.assignee_amocrm_id,
        "assignee_name": names.get(p.assignee_amocrm_id), "reason": p.reason,
    } for p in planned])


def _contact_names(session, ids) -> dict[int, str]:
    ids = [i for i in ids if i]
    return dict(session.execute(select(Contact.id, Contact.name).where(Contact.id.in_(ids)))
                .all()) if ids else {}


@bp.post("/scan")
@widget_auth(ADMIN)
def scan_now():
    with runtime().session() as session:
        enqueue_after_commit(session, "jobs.renewals.scan_account", identity().account_id)
        audit(session, "renewals.scan_requested")
    return jsonify(queued=True), 202


@bp.post("/retry")
@widget_auth(ADMIN)
def retry_failed():
    from amo_bridge.renewals.create import retry_failed as retry

    rt = runtime()
    with rt.session() as session:
        count = retry(session, identity().account_id, now=rt.clock.now())
        if count:
            enqueue_after_commit(session, "jobs.renewals.create_renewals", identity().account_id)
        audit(session, "renewals.retried", count=count)
    return jsonify(retried=count)


def renewal_json(renewal: Renewal) -> dict[str, Any]:
    return {"id": renewal.id, "policy_id": renewal.policy_id, "term_end": iso(renewal.term_end),
            "status": renewal.status, "marker": renewal.marker,
            "assignee": renewal.assignee_amocrm_id, "lead_id": renewal.amocrm_lead_id,
            "task_id": renewal.amocrm_task_id, "outcome_reason": renewal.outcome_reason,
            "new_policy_id": renewal.new_policy_id, "decided_at": iso(renewal.decided_at),
            "last_error": renewal.last_error}


@bp.get("")
@widget_auth()
def list_renewals():
    """Renewals, newest first; a manager sees only those assigned to them."""
    query = load_query(ListQuery())
    who = identity()
    statement = select(Renewal).where(Renewal.account_id == who.account_id)
    manager = query["manager"] if who.is_admin else who.amocrm_user_id
    if manager is not None:
        statement = statement.where(Renewal.assignee_amocrm_id == manager)
    if query["status"]:
        statement = statement.where(Renewal.status == query["status"])
    if query["before_id"]:
        statement = statement.where(Renewal.id < query["before_id"])
    with runtime().db.read_session() as session:
        rows = session.scalars(statement.order_by(Renewal.id.desc()).limit(query["limit"]))
        return jsonify(renewals=[renewal_json(r) for r in rows])


# --- foreign policies of a contact ------------------------------------------------------------

from amo_bridge.web import renewals_policies as _policies  # noqa: E402,F401 - routes on ``bp``
