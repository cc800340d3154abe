"""The OpenAPI 3 description of the widget API, generated from :mod:`openapi_routes` with apispec
and its marshmallow plugin, and served at ``/widget/api/openapi.json``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify
from marshmallow import fields

from amo_bridge.web.money_schemas import Month
from amo_bridge.web.openapi_routes import ROUTES, Op

bp = Blueprint("openapi", __name__)
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
PROBLEM = {"$ref": "#/components/responses/Problem"}
DESCRIPTION = """\
The backend of the amo-bridge widget inside amoCRM. Every call carries amoCRM's disposable
token in `X-Auth-Token` (a JWT signed HS256 with the integration's client secret, 30 minutes;
`aud`, `exp`, `nbf` checked; `account_id` must be a connected account; the role comes from the
mirrored amoCRM user and the bridge's finance grant). Missing, expired, wrongly signed or foreign
tokens answer 401; a valid token without the role answers 403 — both as problem+json (RFC 7807)
in the caller's language (`Accept-Language` or `lang`). Money is integer kopecks, percentages
decimal strings, dates ISO. Browsers may call it only from the account's own amoCRM domain."""


def _schema_name(schema: Any) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    module = cls.__module__.rsplit(".", 1)[-1]
    return f"{module}.{cls.__name__}"


def _decimal_strings(self: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict:
    """Percentages travel as exact decimal strings ("12.5"), not JSON numbers."""
    if isinstance(field, fields.Decimal) and field.as_string:
        ret.pop("minimum", None)
        ret.pop("maximum", None)
        ret.pop("format", None)
        return {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
    return {}


def openapi_path(rule: str) -> str:
    return _PARAM.sub(lambda m: "{" + m.group(2) + "}", rule)


def _path_parameters(rule: str) -> list[dict[str, Any]]:
    params = []
    for converter, name in _PARAM.findall(rule):
        kind = {"int": "integer", "float": "number"}.get(converter, "string")
        params.append({"in": "path", "name": name, "required": True, "schema": {"type": kind}})
    return params


def _operation(op: Op) -> dict[str, Any]:
    roles = ", ".join(op.roles) if op.roles else "any user of the account"
    operation: dict[str, Any] = {
        "summary": op.summary, "tags": [op.tag], "x-roles": list(op.roles),
        "description": f"Roles: {roles}.",
        "operationId": f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', op.rule.lower())}"
                       .strip("_"),
        "parameters": _path_parameters(op.rule),
    }
    if op.query is not None:
        operation["parameters"].append({"in": "query", "schema": op.query})
    if op.body is not None:
        media = "multipart/form-data" if op.form else "application/json"
        operation["requestBody"] = {"required": True, "content": {media: {"schema": op.body}}}
    if op.auth == "token":
        operation["security"] = [{"amocrmToken": []}]
    elif op.auth == "link":
        operation["security"] = [{"signedLink": []}]
    else:
        operation["security"] = []
    ok: dict[str, Any] = {"description": "OK" if op.status < 300 else "Accepted"}
    if op.status != 204:
        schema: Any = op.response if op.response is not None else {"type": "object"}
        if op.produces != "application/json":
            schema = {"type": "string", "format": "binary"}
        ok["content"] = {op.produces: {"schema": schema}}
    responses: dict[Any, Any] = {str(op.status): ok}
    if op.auth != "none":
        responses.update({"401": PROBLEM, "403": PROBLEM})
    if op.body is not None or op.query is not None:
        responses["422"] = PROBLEM
    if _path_parameters(op.rule):
        responses["404"] = PROBLEM
    operation["responses"] = responses
    return operation


def build_spec(*, server_url: str | None = None) -> dict[str, Any]:
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(title="amo-bridge widget API", version=_version(), openapi_version="3.0.3",
                   plugins=[plugin], info={"description": DESCRIPTION},
                   servers=[{"url": server_url}] if server_url else [])
    plugin.map_to_openapi_type(Month, "string", None)
    plugin.converter.add_attribute_function(_decimal_strings)
    spec.components.security_scheme("amocrmToken", {
        "type": "apiKey", "in": "header", "name": "X-Auth-Token",
        "description": "amoCRM's widget JWT ($authorizedAjax)"})
    spec.components.security_scheme("signedLink", {
        "type": "apiKey", "in": "query", "name": "token",
        "description": "a short-lived signed download link"})
    spec.components.schema("Problem", {
        "type": "object", "required": ["type", "title", "status"],
        "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                       "status": {"type": "integer"}, "detail": {"type": "string"},
                       "messages": {"type": "object",
                                    "additionalProperties": {"type": "string"}},
                       "errors": {"type": "object"}}})
    spec.components.response("Problem", {
        "description": "problem+json (RFC 7807)",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/"
                                                                    "Problem"}}}})
    grouped: dict[str, dict[str, Any]] = {}
    for op in ROUTES:
        grouped.setdefault(op.rule, {})[op.method.lower()] = _operation(op)
    for rule, operations in grouped.items():
        spec.path(path=openapi_path(rule), operations=operations)
    return spec.to_dict()


@lru_cache(maxsize=1)
def cached_spec() -> dict[str, Any]:
    return build_spec()


def _version() -> str:
    try:
        return version("amo-bridge")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0.0.0"


@bp.get("/openapi.json")
def openapi_json():
    """The description (no token needed: it describes, it does not serve data)."""
    return jsonify(cached_spec())
