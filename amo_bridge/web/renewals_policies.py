"""Foreign policies of a contact, on the renewals blueprint (``/widget/api/renewals``).

Any manager may add a foreign policy to a client (the widget's contact card); the manager who
entered it, or an admin, may edit or remove it. A changed end date is followed by the pending
renewal at once (a job after the commit).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from sqlalchemy import select

from amo_bridge.accounts import products_for
from amo_bridge.models import Contact, Policy, Renewal
from amo_bridge.renewals import foreign
from amo_bridge.renewals.errors import RenewalsError
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.money_common import audit, identity, iso, load_body, load_query, runtime
from amo_bridge.web.renewals_api import bp, renewal_json
from amo_bridge.web.renewals_schemas import (
    ForeignPolicyInput,
    ForeignPolicyPatch,
    PoliciesQuery,
    without_defaults,
)
from jobs.queue import enqueue_after_commit


def policy_json(policy: Policy, products, lang: str, renewal: Renewal | None) -> dict[str, Any]:
    product = products.get(policy.product_code) if policy.product_code in products else None
    return {"id": policy.id, "kind": policy.kind, "source": policy.source,
            "product": policy.product_code,
            "product_name": product.name(lang) if product else policy.product_code,
            "insurer": policy.insurer, "number": policy.number,
            "starts_on": iso(policy.starts_on), "ends_on": iso(policy.ends_on),
            "premium": policy.premium, "terms": policy.terms,
            "insured_object": policy.insured_object or {},
            "entered_by": policy.entered_by_amocrm_id, "seller": policy.seller_amocrm_id,
            "cancelled_on": iso(policy.cancelled_on), "renewed_by_id": policy.renewed_by_id,
            "renewal": renewal_json(renewal) if renewal else None}


def _latest_renewals(session, policy_ids: list[int]) -> dict[int, Renewal]:
    found: dict[int, Renewal] = {}
    if policy_ids:
        for row in session.scalars(select(Renewal).where(Renewal.policy_id.in_(policy_ids))
                                   .order_by(Renewal.id)):
            found[row.policy_id] = row
    return found


def _one(session, policy: Policy) -> dict[str, Any]:
    who = identity()
    products = products_for(session, who.account_id)
    return policy_json(policy, products, who.lang,
                       _latest_renewals(session, [policy.id]).get(policy.id))


@bp.get("/contacts/<int:contact_id>/policies")
@widget_auth()
def contact_policies(contact_id: int):
    """The client's policies: foreign ones by default (``kind=ours|all`` for the others)."""
    query = load_query(PoliciesQuery())
    who = identity()
    with runtime().db.read_session() as session:
        contact = session.scalar(select(Contact).where(
            Contact.account_id == who.account_id,
            Contact.amocrm_id == contact_id))
        if contact is None:
            return jsonify(policies=[])
        statement = select(Policy).where(Policy.account_id == who.account_id,
                                         Policy.contact_id == contact.id)
        if query["kind"] != "all":
            statement = statement.where(Policy.kind == query["kind"])
        policies = session.scalars(statement.order_by(Policy.ends_on.desc(), Policy.id)).all()
        products = products_for(session, who.account_id)
        renewals = _latest_renewals(session, [p.id for p in policies])
        return jsonify(policies=[policy_json(p, products, who.lang, renewals.get(p.id))
                                 for p in policies])


@bp.post("/contacts/<int:contact_id>/policies")
@widget_auth()
def add_policy(contact_id: int):
    data = load_body(ForeignPolicyInput())
    who = identity()
    with runtime().session() as session:
        contact = foreign.contact_by_amocrm_id(session, who.account_id, contact_id)
        policy = foreign.add_foreign(session, who.account_id, contact, data,
                                     entered_by=who.amocrm_user_id)
        audit(session, "renewals.foreign_added", target=f"policy:{policy.id}",
              contact=contact_id, product=policy.product_code, ends_on=iso(policy.ends_on))
        return jsonify(_one(session, policy)), 201


def _editable(session, policy_id: int) -> Policy:
    who = identity()
    policy = foreign.foreign_policy(session, who.account_id, policy_id)
    if not who.is_admin and policy.entered_by_amocrm_id != who.amocrm_user_id:
        raise RenewalsError(403, "renewals.own_only")
    return policy


@bp.patch("/policies/<int:policy_id>")
@widget_auth()
def edit_policy(policy_id: int):
    raw = request.get_json(silent=False) or {}
    schema = ForeignPolicyPatch()
    data = without_defaults(schema, schema.load(raw), raw)
    with runtime().session() as session:
        policy = _editable(session, policy_id)
        changed = foreign.edit_foreign(session, policy, data)
        if changed:
            audit(session, "renewals.foreign_edited", target=f"policy:{policy.id}",
                  changed=list(changed))
        if "ends_on" in changed:
            enqueue_after_commit(session, "jobs.renewals.follow_renewals", policy.account_id)
        return jsonify(_one(session, policy))


@bp.delete("/policies/<int:policy_id>")
@widget_auth()
def remove_policy(policy_id: int):
    with runtime().session() as session:
        policy = _editable(session, policy_id)
        audit(session, "renewals.foreign_removed", target=f"policy:{policy.id}",
              product=policy.product_code, ends_on=iso(policy.ends_on))
        foreign.remove_foreign(session, policy)
    return "", 204

