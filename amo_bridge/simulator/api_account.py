"""v4 endpoints: account, users (admin only), custom fields, tags, catalogs, webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response

from . import records, serialize
from .context import account, base, body, simulator
from .errors import INVALID_TYPE, NOT_BLANK, ApiError, Validation, hal, no_content
from .paging import int_list, page_response, query, with_set
from .webhooks import ALL_SETTINGS

bp = Blueprint("amocrm_account", __name__)
Record = dict[str, Any]
TASK_TYPES = [
    {"id": 1, "name": "Связаться", "color": None, "icon_id": None, "code": "FOLLOW_UP"},
    {"id": 2, "name": "Встреча", "color": None, "icon_id": None, "code": "MEETING"},
]


def _require_admin() -> None:
    """AMOCRM.md: ``GET /api/v4/users`` is admin-only (403 otherwise); tokens are per user."""
    from flask import g

    user = account().users.get(g.amocrm_user_id)
    if user is None or not user["rights"].get("is_admin"):
        raise ApiError(403, "Access denied: the user is not an account administrator")


@bp.get("/api/v4/account")
def get_account() -> Response:
    from flask import g

    acc = account()
    offset = datetime.now(acc.tz).strftime("%z")
    out: Record = {
        "id": acc.id,
        "name": acc.name,
        "subdomain": acc.subdomain,
        "created_at": acc.created_at,
        "created_by": acc.admin_user_id(),
        "updated_at": acc.created_at,
        "updated_by": acc.admin_user_id(),
        "current_user_id": g.amocrm_user_id,
        "country": acc.country,
        "currency": acc.currency,
        "currency_symbol": "₽" if acc.currency == "RUB" else acc.currency,
        "customers_mode": "disabled",
        "is_unsorted_on": True,
        "mobile_feature_version": 0,
        "is_loss_reason_enabled": bool(acc.loss_reasons),
        "is_helpbot_enabled": False,
        "is_technical_account": False,
        "contact_name_display_order": 1,
        # Also under _embedded.datetime_settings (with=datetime_settings), as amoCRM nests it.
        "timezone": acc.timezone,
        "_links": serialize.link(f"{base()}/api/v4/account"),
    }
    with_ = with_set()
    embedded: Record = {}
    if "datetime_settings" in with_:
        embedded["datetime_settings"] = {
            "date_pattern": "d.m.Y H:i",
            "short_date_pattern": "d.m.Y",
            "short_time_pattern": "H:i",
            "date_format": "d.m.Y",
            "time_format": "H:i:s",
            "timezone": acc.timezone,
            "timezone_offset": f"{offset[:3]}:{offset[3:]}",
        }
    if "task_types" in with_:
        embedded["task_types"] = TASK_TYPES
    if "users_groups" in with_:
        embedded["users_groups"] = [{"id": 0, "name": "Отдел продаж", "uuid": None}]
    if embedded:
        out["_embedded"] = embedded
    return hal(out)


@bp.get("/api/v4/users")
def list_users() -> Response:
    _require_admin()
    items = sorted(account().users.values(), key=lambda u: u["id"])
    return page_response("users", items, lambda u: serialize.user(u, base()))


@bp.get("/api/v4/users/<int:user_id>")
def get_user(user_id: int) -> Response:
    _require_admin()
    user = account().users.get(user_id)
    if user is None:
        raise ApiError(404, f"User {user_id} not found")
    return hal(serialize.user(user, base()))


def _fields(kind: str) -> Response:
    items = sorted(account().fields[kind].values(), key=lambda f: (f["sort"], f["id"]))
    return page_response(
        "custom_fields", items, lambda f: serialize.field(f, kind, base()), maximum=50
    )


def _field(kind: str, field_id: int) -> Response:
    field = account().fields[kind].get(field_id)
    if field is None:
        raise ApiError(404, f"Field {field_id} not found")
    return hal(serialize.field(field, kind, base()))


def _tags(kind: str) -> Response:
    q = query()
    ids = set(
        int_list((q.get("filter") or {}).get("id") if isinstance(q.get("filter"), dict) else None)
    )
    items = [t for t in account().tags[kind].values() if not ids or t["id"] in ids]
    if isinstance(q.get("query"), str):
        items = [t for t in items if q["query"].lower() in t["name"].lower()]
    return page_response("tags", sorted(items, key=lambda t: t["id"]), serialize.tag)


def _add_tags(kind: str) -> Response:
    items = records.check_batch(body())
    check = Validation()
    with simulator().lock:
        for i, item in enumerate(items):
            if not isinstance(item.get("name"), str) or not item["name"].strip():
                check.add(records.request_id(item, i), "name", NOT_BLANK)
        check.raise_if_any()
        rows = []
        for i, item in enumerate(items):
            ids = records.resolve_tags(account(), kind, [{"name": item["name"]}], check, "", "")
            tag = account().tags[kind][ids[0]]
            if item.get("color"):
                tag["color"] = item["color"]
            rows.append({**tag, "request_id": records.request_id(item, i)})
    return hal({"_embedded": {"tags": rows}})


for _kind in ("leads", "contacts", "companies"):
    bp.add_url_rule(f"/api/v4/{_kind}/custom_fields", f"fields_{_kind}", lambda k=_kind: _fields(k))
    bp.add_url_rule(
        f"/api/v4/{_kind}/custom_fields/<int:field_id>",
        f"field_{_kind}",
        lambda field_id, k=_kind: _field(k, field_id),
    )
    bp.add_url_rule(f"/api/v4/{_kind}/tags", f"tags_{_kind}", lambda k=_kind: _tags(k))
    bp.add_url_rule(
        f"/api/v4/{_kind}/tags", f"add_tags_{_kind}", lambda k=_kind: _add_tags(k), methods=["POST"]
    )


@bp.get("/api/v4/catalogs")
def list_catalogs() -> Response:
    items = sorted(account().catalogs.values(), key=lambda c: (c["sort"], c["id"]))
    return page_response(
        "catalogs",
        items,
        lambda c: {**c, "_links": serialize.link(f"{base()}/api/v4/catalogs/{c['id']}")},
    )


@bp.get("/api/v4/catalogs/<int:catalog_id>")
def get_catalog(catalog_id: int) -> Response:
    catalog = account().catalogs.get(catalog_id)
    if catalog is None:
        raise ApiError(404, f"Catalog {catalog_id} not found")
    return hal({**catalog, "_links": serialize.link(f"{base()}/api/v4/catalogs/{catalog_id}")})


@bp.get("/api/v4/catalogs/<int:catalog_id>/elements")
def list_elements(catalog_id: int) -> Response:
    if catalog_id not in account().catalogs:
        raise ApiError(404, f"Catalog {catalog_id} not found")
    q = query()
    ids = set(
        int_list((q.get("filter") or {}).get("id") if isinstance(q.get("filter"), dict) else None)
    )
    items = [
        e
        for e in account().catalog_elements.values()
        if e["catalog_id"] == catalog_id and not e["is_deleted"] and (not ids or e["id"] in ids)
    ]
    if isinstance(q.get("query"), str):
        items = [e for e in items if q["query"].lower() in e["name"].lower()]
    return page_response(
        "elements",
        sorted(items, key=lambda e: e["id"]),
        lambda e: {
            **e,
            "_links": serialize.link(f"{base()}/api/v4/catalogs/{catalog_id}/elements/{e['id']}"),
        },
    )


def _webhook(hook: Record) -> Record:
    return {k: v for k, v in hook.items() if not k.startswith("_")}


@bp.get("/api/v4/webhooks")
def list_webhooks() -> Response:
    _require_admin()
    q = query()
    dest = (q.get("filter") or {}).get("destination") if isinstance(q.get("filter"), dict) else None
    items = [
        _webhook(h) for h in account().webhooks.values() if dest is None or h["destination"] == dest
    ]
    if not items:
        return no_content()
    return hal({"_total_items": len(items), "_embedded": {"webhooks": items}})


@bp.post("/api/v4/webhooks")
def add_webhook() -> Response:
    """amoCRM's ``{destination, settings:[...], sort}``; one hook per destination."""
    _require_admin()
    from flask import g

    item = body()
    check = Validation()
    if not isinstance(item, dict) or not isinstance(item.get("destination"), str):
        check.add("0", "destination", NOT_BLANK)
        check.raise_if_any()
    settings = item.get("settings") or []
    if not isinstance(settings, list) or any(s not in ALL_SETTINGS for s in settings):
        check.add("0", "settings", INVALID_TYPE, type="array of known events")
    check.raise_if_any()
    hook = simulator().webhooks.subscribe(
        account(),
        item["destination"],
        settings or None,
        created_by=g.amocrm_user_id,
        sort=item.get("sort", 1),
    )
    return hal(_webhook(hook), 201)


@bp.delete("/api/v4/webhooks")
def delete_webhook() -> Response:
    _require_admin()
    item = body()
    dest = item.get("destination") if isinstance(item, dict) else None
    hooks = account().webhooks
    for hook_id in [h["id"] for h in hooks.values() if h["destination"] == dest]:
        del hooks[hook_id]
    return no_content()
