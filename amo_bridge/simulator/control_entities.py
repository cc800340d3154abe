"""``/_sim``: act as a person in amoCRM's UI, and manage webhooks.

UI actions record events and fire webhooks exactly like API writes. Query parameters on every
action: ``user_id`` (who acts; default the admin) and ``skip_webhook=1`` (the change happens but
its webhook is skipped — for testing the bridge's reconcile).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from .context import simulator
from .control import account_or_404, payload
from .errors import ApiError

bp = Blueprint("sim_entities", __name__, url_prefix="/_sim")
Record = dict[str, Any]
KINDS = ("leads", "contacts", "companies", "tasks")


def _options() -> Record:
    return {
        "user_id": request.args.get("user_id", type=int),
        "skip_webhooks": request.args.get("skip_webhook", "0") in ("1", "true"),
    }


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ApiError(404, f"Unknown kind {kind!r}")
    return kind


def _body() -> Any:
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, list | dict):
        raise ApiError(400, "Body must be a JSON object or array")
    return data


@bp.post("/accounts/<subdomain>/<kind>")
def ui_create(subdomain: str, kind: str) -> Response:
    """Create entities (v4 shape, object or array) → ``{"ids": [...]}``."""
    account_or_404(subdomain)
    ids = simulator().ui_create(subdomain, _kind(kind), _body(), **_options())
    return jsonify({"ids": ids}), 201


@bp.patch("/accounts/<subdomain>/<kind>/<int:entity_id>")
def ui_update(subdomain: str, kind: str, entity_id: int) -> Response:
    """Update one entity: e.g. ``{"status_id": 142}`` moves a lead to "won"."""
    account_or_404(subdomain)
    simulator().ui_update(subdomain, _kind(kind), [{**_body(), "id": entity_id}], **_options())
    return jsonify({"id": entity_id})


@bp.delete("/accounts/<subdomain>/<kind>/<int:entity_id>")
def ui_delete(subdomain: str, kind: str, entity_id: int) -> Response:
    account_or_404(subdomain)
    simulator().ui_delete(subdomain, _kind(kind), entity_id, **_options())
    return jsonify({"id": entity_id, "is_deleted": True})


@bp.post("/accounts/<subdomain>/<kind>/<int:entity_id>/restore")
def ui_restore(subdomain: str, kind: str, entity_id: int) -> Response:
    account_or_404(subdomain)
    simulator().ui_delete(subdomain, _kind(kind), entity_id, restore=True, **_options())
    return jsonify({"id": entity_id, "is_deleted": False})


@bp.post("/accounts/<subdomain>/<kind>/notes")
def ui_notes(subdomain: str, kind: str) -> Response:
    account_or_404(subdomain)
    if kind not in ("leads", "contacts", "companies"):
        raise ApiError(404, f"Unknown kind {kind!r}")
    ids = simulator().ui_add_notes(subdomain, kind, _body(), **_options())
    return jsonify({"ids": ids}), 201


@bp.get("/accounts/<subdomain>/webhooks")
def list_webhooks(subdomain: str) -> Response:
    acc = account_or_404(subdomain)
    return jsonify(
        [{k: v for k, v in h.items() if not k.startswith("_")} for h in acc.webhooks.values()]
    )


@bp.post("/accounts/<subdomain>/webhooks")
def subscribe(subdomain: str) -> Response:
    """Body: ``destination`` and optional ``settings`` (default: every event)."""
    account_or_404(subdomain)
    data = payload()
    if not isinstance(data.get("destination"), str):
        raise ApiError(400, "destination is required")
    hook = simulator().subscribe(subdomain, data["destination"], data.get("settings"))
    return jsonify({k: v for k, v in hook.items() if not k.startswith("_")}), 201


@bp.delete("/accounts/<subdomain>/webhooks/<int:hook_id>")
def unsubscribe(subdomain: str, hook_id: int) -> Response:
    acc = account_or_404(subdomain)
    with simulator().lock:
        acc.webhooks.pop(hook_id, None)
    return jsonify({"id": hook_id})


@bp.post("/accounts/<subdomain>/webhooks/<int:hook_id>/enable")
def enable(subdomain: str, hook_id: int) -> Response:
    """Re-enable a hook that amoCRM switched off (an admin's action)."""
    acc = account_or_404(subdomain)
    if hook_id not in acc.webhooks:
        raise ApiError(404, f"Webhook {hook_id} not found")
    hook = simulator().webhooks.enable(acc, hook_id)
    return jsonify({k: v for k, v in hook.items() if not k.startswith("_")})


@bp.post("/accounts/<subdomain>/webhooks/skip")
def skip(subdomain: str) -> Response:
    """Body ``{"count": n}`` skips the webhooks of the next n changes; ``-1`` all, ``0`` stop."""
    account_or_404(subdomain)
    simulator().skip_webhooks(subdomain, int(payload().get("count", 1)))
    return jsonify({"skip_webhooks": account_or_404(subdomain).skip_webhooks})


@bp.get("/accounts/<subdomain>/webhooks/deliveries")
def account_deliveries(subdomain: str) -> Response:
    account_or_404(subdomain)
    return jsonify(simulator().deliveries(subdomain))


@bp.get("/webhooks/deliveries")
def all_deliveries() -> Response:
    return jsonify(simulator().deliveries())


@bp.post("/webhooks/flush")
def flush() -> Response:
    """Deliver every due webhook now, synchronously; answers the deliveries attempted."""
    done = simulator().flush_webhooks()
    ids = {d["id"] for d in done}
    return jsonify([d for d in simulator().deliveries() if d["id"] in ids])
