"""Shared pieces of the money API: the runtime, strict query parsing, role scoping, errors."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, request
from marshmallow import Schema

from amo_bridge.accounts import products_for
from amo_bridge.i18n import t
from amo_bridge.models import ANY, AuditLog, Role
from amo_bridge.reports.common import ReportFilter
from amo_bridge.web.auth import Identity
from amo_bridge.web.problems import PROBLEM_TYPE_BASE, problem

#: Who sees everyone's figures; a plain manager sees only their own.
MONEY_ROLES = (Role.ADMIN.value, Role.FINANCE.value)


class ApiProblem(Exception):
    """Raised inside a view; rendered as problem+json in the caller's language (and both)."""

    def __init__(self, status: int, key: str, **values: Any) -> None:
        super().__init__(key)
        self.status, self.key, self.values = status, key, values

    def response(self, lang: str) -> Response:
        titles = {
            400: "Bad Request",
            403: "Forbidden",
            404: "Not Found",
            409: "Conflict",
            410: "Gone",
            422: "Validation failed",
        }
        return problem(
            self.status,
            titles.get(self.status, "Error"),
            t(self.key, lang, **self.values),
            type_=PROBLEM_TYPE_BASE + self.key,
            messages={code: t(self.key, code, **self.values) for code in ("ru", "en")},
        )


def runtime():
    return current_app.extensions["amo_bridge"]


def identity() -> Identity:
    return g.identity


def lang() -> str:
    return identity().lang


def load_query(schema: Schema) -> dict[str, Any]:
    # Strict: an unknown parameter is a 422, like an unknown JSON field.
    return schema.load(request.args.to_dict())


def load_body(schema: Schema) -> dict[str, Any]:
    return schema.load(request.get_json(silent=False) or {})


def sees_everyone(who: Identity) -> bool:
    return who.has_any(*MONEY_ROLES)


def scoped_filter(who: Identity, data: dict[str, Any]) -> ReportFilter:
    """The report filter of a request; a plain manager is pinned to themself."""
    manager = data.get("manager")
    if not sees_everyone(who):
        if manager is not None and manager != who.amocrm_user_id:
            raise ApiProblem(403, "reports.own_only")
        manager = who.amocrm_user_id
    return ReportFilter(
        period=data["parsed_period"],
        manager=manager,
        product=data.get("product"),
        insurer=data.get("insurer"),
    )


def audit(session, action: str, *, target: str | None = None, **details: Any) -> None:
    who = identity()
    session.add(
        AuditLog(
            account_id=who.account_id,
            at=runtime().clock.now(),
            actor_amocrm_id=who.amocrm_user_id,
            action=action,
            target=target,
            details=details,
        )
    )


def iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def product_code(session, code: str) -> str:
    """A product code of the account's dictionary (or ``*``), else a 422."""
    if code != ANY and code not in products_for(session, identity().account_id):
        raise ApiProblem(422, "reports.not_found", what=f"product {code}")
    return code


def account_row(session, model, row_id: int):
    """A row of the caller's account by id, else a 404."""
    row = session.get(model, row_id)
    if row is None or row.account_id != identity().account_id:
        raise ApiProblem(404, "reports.not_found", what=f"{model.__tablename__} {row_id}")
    return row
