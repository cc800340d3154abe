"""``/_sim``: the simulator's control plane (not part of amoCRM).

Clock, accounts and seeds, stats, limits, faults, OAuth helpers. Entity actions and webhooks
are in ``control_entities``. All bodies and answers are JSON; see README.md for the list.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, request

from .config import FaultRule
from .context import simulator
from .errors import ApiError
from .model import Account

bp = Blueprint("sim_control", __name__, url_prefix="/_sim")
Record = dict[str, Any]


def payload() -> Record:
    data = request.get_json(force=True, silent=True)
    return data if isinstance(data, dict) else {}


def account_or_404(subdomain: str) -> Account:
    acc = simulator().accounts.get(subdomain)
    if acc is None:
        raise ApiError(404, f"Account {subdomain!r} not found")
    return acc


def _clock() -> Record:
    now = simulator().clock.now()
    return {
        "now": now.isoformat(),
        "timestamp": int(now.timestamp()),
        "frozen": simulator().clock.frozen,
    }


@bp.get("/health")
def health() -> Response:
    return jsonify({"ok": True, "accounts": sorted(simulator().accounts)})


@bp.get("/clock")
def get_clock() -> Response:
    return jsonify(_clock())


@bp.post("/clock")
def move_clock() -> Response:
    """``{"freeze": true}``, ``{"set": iso|unix}``, ``{"advance": {"days":…, "hours":…,
    "minutes":…, "seconds":…}}`` or ``{"advance_seconds": n}`` (applied in that order)."""
    data, clock = payload(), simulator().clock
    if data.get("freeze"):
        clock.freeze()
    if data.get("set") is not None:
        value = data["set"]
        moment = (
            datetime.fromtimestamp(int(value), UTC)
            if isinstance(value, int | float)
            else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        )
        clock.set(moment)
    if isinstance(data.get("advance"), dict):
        clock.advance(timedelta(**{k: float(v) for k, v in data["advance"].items()}))
    if data.get("advance_seconds"):
        clock.advance(timedelta(seconds=float(data["advance_seconds"])))
    return jsonify(_clock())


@bp.get("/accounts")
def list_accounts() -> Response:
    sim = simulator()
    return jsonify(
        [
            {
                "id": a.id,
                "subdomain": a.subdomain,
                "name": a.name,
                "base_url": f"{request.host_url.rstrip('/')}/s/{a.subdomain}",
            }
            for a in sim.accounts.values()
        ]
    )


@bp.post("/accounts")
def add_accounts() -> Response:
    """Body: a seed document (``{"accounts": [...]}`` or one account), as in the TOML seed."""
    accounts = simulator().load_seed(payload())
    return jsonify([a.subdomain for a in accounts]), 201


@bp.get("/accounts/<subdomain>")
def dump_account(subdomain: str) -> Response:
    """Everything the account holds (records as stored, relations under ``_`` keys)."""
    acc = account_or_404(subdomain)
    with simulator().lock:
        out = {
            "id": acc.id,
            "subdomain": acc.subdomain,
            "name": acc.name,
            "timezone": acc.timezone,
            "users": list(acc.users.values()),
            "pipelines": list(acc.pipelines.values()),
            "fields": acc.fields,
            "loss_reasons": list(acc.loss_reasons.values()),
            "catalogs": list(acc.catalogs.values()),
            "catalog_elements": list(acc.catalog_elements.values()),
            **{
                k: list(getattr(acc, k).values())
                for k in ("leads", "contacts", "companies", "tasks", "notes")
            },
            "tags": {k: list(v.values()) for k, v in acc.tags.items()},
            "events": list(acc.events),
            "webhooks": [
                {k: v for k, v in h.items() if not k.startswith("_")} for h in acc.webhooks.values()
            ],
            "skip_webhooks": acc.skip_webhooks,
        }
        return Response(_json(out), mimetype="application/json")


def _json(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, default=str)


@bp.get("/accounts/<subdomain>/events")
def account_events(subdomain: str) -> Response:
    return jsonify(account_or_404(subdomain).events)


@bp.get("/accounts/<subdomain>/stats")
def account_stats(subdomain: str) -> Response:
    account_or_404(subdomain)
    return jsonify(simulator().stats(subdomain))


@bp.post("/accounts/<subdomain>/stats/reset")
def reset_stats(subdomain: str) -> Response:
    account_or_404(subdomain)
    simulator().reset_stats(subdomain)
    return jsonify(simulator().stats(subdomain))


@bp.get("/accounts/<subdomain>/limits")
def get_limits(subdomain: str) -> Response:
    acc = account_or_404(subdomain)
    return jsonify({**asdict(acc.limits), "blocked": acc.limiter.blocked})


@bp.post("/accounts/<subdomain>/limits")
def set_limits(subdomain: str) -> Response:
    """Body: any of ``enabled``, ``per_second``, ``block_after``, ``block_window``."""
    account_or_404(subdomain)
    return jsonify(simulator().set_limits(subdomain, **payload()))


@bp.post("/accounts/<subdomain>/limits/reset")
def reset_limits(subdomain: str) -> Response:
    """Unblock the account and clear the rate windows."""
    account_or_404(subdomain)
    simulator().reset_limits(subdomain)
    return jsonify({"blocked": False})


@bp.get("/accounts/<subdomain>/faults")
def get_faults(subdomain: str) -> Response:
    return jsonify([asdict(r) for r in account_or_404(subdomain).faults])


@bp.post("/accounts/<subdomain>/faults")
def add_fault(subdomain: str) -> Response:
    """Body: a FaultRule — ``match`` (glob on "METHOD /api/v4/path"), ``latency``,
    ``error_rate``, ``error_status``, ``drop_rate``, ``drop_count``, ``drop_mode``."""
    account_or_404(subdomain)
    try:
        rule = simulator().add_fault(subdomain, FaultRule(**payload()))
    except TypeError as exc:
        raise ApiError(400, str(exc)) from exc
    return jsonify(asdict(rule)), 201


@bp.delete("/accounts/<subdomain>/faults")
def clear_faults(subdomain: str) -> Response:
    account_or_404(subdomain)
    simulator().clear_faults(subdomain)
    return jsonify([])


@bp.post("/accounts/<subdomain>/oauth/integrations")
def add_integration(subdomain: str) -> Response:
    """Body: ``client_id, client_secret, redirect_uri`` and optional ``disable_hook_url``."""
    account_or_404(subdomain)
    data = payload()
    try:
        simulator().add_integration(
            subdomain,
            data["client_id"],
            data["client_secret"],
            data["redirect_uri"],
            disable_hook_url=data.get("disable_hook_url"),
        )
    except KeyError as exc:
        raise ApiError(400, f"missing {exc}") from exc
    return jsonify({"client_id": data["client_id"]}), 201


@bp.post("/accounts/<subdomain>/oauth/code")
def issue_code(subdomain: str) -> Response:
    """Body: ``client_id``, optional ``user_id`` (default: the admin). Code lives 20 min."""
    acc = account_or_404(subdomain)
    data = payload()
    code = simulator().issue_code(subdomain, str(data.get("client_id")), data.get("user_id"))
    return jsonify({"code": code, "expires_in": 1200, "referer": f"{acc.subdomain}.amocrm.ru"})


@bp.get("/oauth/authorize")
def authorize() -> Response:
    """A stand-in for amoCRM's consent page: ``?subdomain=&client_id=&state=[&user_id=]`` →
    302 to the integration's redirect_uri with ``code``, ``state``, ``referer``, ``client_id``."""
    sub = request.args.get("subdomain", "")
    acc = account_or_404(sub)
    client_id = request.args.get("client_id", "")
    integration = acc.oauth.integrations.get(client_id)
    if integration is None:
        raise ApiError(400, f"Unknown client_id {client_id!r}")
    user_id = request.args.get("user_id", type=int)
    code = simulator().issue_code(sub, client_id, user_id)
    query = {
        "code": code,
        "state": request.args.get("state", ""),
        "client_id": client_id,
        "referer": f"{request.host}/s/{sub}",
        "from_widget": "0",
    }
    return redirect(f"{integration.redirect_uri}?{urlencode(query)}", 302)


@bp.post("/accounts/<subdomain>/oauth/token")
def issue_token(subdomain: str) -> Response:
    """A long-lived token: body ``user_id`` (default admin), ``days`` (1 – 1825, default 365)."""
    account_or_404(subdomain)
    data = payload()
    days = float(data.get("days", 365))
    token = simulator().issue_token(
        subdomain, data.get("user_id"), days=days, client_id=data.get("client_id")
    )
    return jsonify(
        {
            "token_type": "Bearer",
            "access_token": token,
            "expires_in": int(min(max(days, 1), 1825) * 86400),
        }
    )


@bp.post("/accounts/<subdomain>/oauth/revoke")
def revoke(subdomain: str) -> Response:
    """ "Integration disabled": revoke tokens (``client_id`` or all) and, unless
    ``call_hook`` is false, call the integration's disable hook."""
    account_or_404(subdomain)
    data = payload()
    return jsonify(
        simulator().disable_integration(
            subdomain, data.get("client_id"), call_hook=bool(data.get("call_hook", True))
        )
    )
