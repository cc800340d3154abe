"""Roles (admins grant and revoke finance) and the amoCRM export door: which managers can still
export leads or contacts in amoCRM itself, from their mirrored amoCRM rights.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import select

from amo_bridge.models import Role, User
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.money_common import ApiProblem, audit, identity, load_body, load_query, runtime
from amo_bridge.web.money_schemas import LangQuery, RoleInput

bp = Blueprint("roles", __name__)
ADMIN, FINANCE = Role.ADMIN.value, Role.FINANCE.value
#: amoCRM right letters (AMOCRM.md): A all, G group, M own, D denied.
EXPORT_DENIED = "D"


def _user(user: User) -> dict[str, Any]:
    roles = [Role.MANAGER.value] + [
        r for r, on in ((ADMIN, user.is_admin), (FINANCE, user.is_finance)) if on
    ]
    return {
        "id": user.amocrm_id,
        "name": user.name,
        "email": user.email,
        "active": user.is_active,
        "admin": user.is_admin,
        "finance": user.is_finance,
        "roles": roles,
    }


@bp.get("/roles")
@widget_auth(ADMIN)
def list_roles():
    load_query(LangQuery())
    with runtime().session() as session:
        users = session.scalars(
            select(User)
            .where(User.account_id == identity().account_id)
            .order_by(User.name, User.amocrm_id)
        )
        return jsonify(users=[_user(u) for u in users])


@bp.put("/roles/<int:user_id>")
@widget_auth(ADMIN)
def set_role(user_id: int):
    """Grant or revoke finance (admin comes from amoCRM's own rights, not from here)."""
    data = load_body(RoleInput())
    who = identity()
    with runtime().session() as session:
        user = session.scalar(
            select(User).where(User.account_id == who.account_id, User.amocrm_id == user_id)
        )
        if user is None:
            raise ApiProblem(404, "reports.not_found", what=f"user {user_id}")
        if user.is_finance != data["finance"]:
            user.is_finance = data["finance"]
            audit(
                session,
                "role.finance_granted" if data["finance"] else "role.finance_revoked",
                target=f"user:{user_id}",
            )
        return jsonify(_user(user))


def export_rights(rights: dict[str, Any] | None) -> dict[str, str | None]:
    """The amoCRM export right letter per entity (None when amoCRM did not say)."""
    found: dict[str, str | None] = {}
    for entity in ("leads", "contacts", "companies"):
        value = (rights or {}).get(entity)
        found[entity] = value.get("export") if isinstance(value, dict) else None
    return found


@bp.get("/export-rights")
@widget_auth(ADMIN)
def amocrm_export_doors():
    """Active non-admin users whose amoCRM rights still let them export leads or contacts."""
    load_query(LangQuery())
    with runtime().session() as session:
        users = session.scalars(
            select(User)
            .where(
                User.account_id == identity().account_id,
                User.is_active.is_(True),
                User.is_admin.is_(False),
            )
            .order_by(User.name, User.amocrm_id)
        ).all()
    open_doors = []
    for user in users:
        rights = export_rights(user.rights)
        can = {k: v for k, v in rights.items() if v is not None and v != EXPORT_DENIED}
        unknown = [k for k in ("leads", "contacts") if rights[k] is None]
        if can or unknown:
            open_doors.append(
                {"id": user.amocrm_id, "name": user.name, "can_export": can, "unknown": unknown}
            )
    return jsonify(users=open_doors, checked=len(users))
