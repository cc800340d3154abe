"""The simulator's Flask app factory.

Every request under ``/s/<subdomain>`` passes, in order, amoCRM's edge: the request counters,
the rate limit (429) and account block (403 HTML), injected faults, then the bearer token
(401) — except ``/oauth2/access_token``. Views run under the simulator's lock, so the
threaded server never interleaves two writes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, g, request

from . import (
    api_account,
    api_activity,
    api_contacts,
    api_leads,
    api_oauth,
    control,
    control_entities,
    faults,
)
from .config import SimulatorConfig
from .context import EXTENSION
from .errors import BLOCKED_HTML, ApiError
from .seed import DEFAULT_SEED
from .state import Simulator

_VARIABLE = re.compile(r"<(?:\w+:)?(\w+)>")


def endpoint_key() -> str:
    """``"GET /api/v4/leads/{lead_id}"``: the per-endpoint counter key (and fault match key)."""
    rule = request.url_rule.rule if request.url_rule else request.path
    rule = _VARIABLE.sub(r"{\1}", rule.removeprefix("/s/<subdomain>"))
    return f"{request.method} {rule}"


def _edge(sim: Simulator) -> Callable[[], Response | None]:
    def before() -> Response | None:
        account = sim.accounts.get(g.amocrm_subdomain)
        if account is None:
            return ApiError(404, f"Account {g.amocrm_subdomain!r} not found").to_response()
        g.amocrm_account = account
        key = endpoint_key()
        is_oauth = request.url_rule is not None and request.url_rule.endpoint.endswith(
            ".access_token"
        )
        if is_oauth and not account.limits.count_oauth:
            account.stats.count_request(key, 0)
        else:
            verdict = account.limiter.check()
            account.stats.count_request(key, verdict.window_count)
            if verdict.blocked:
                account.stats.bump("blocked_answers")
                return Response(BLOCKED_HTML, 403, mimetype="text/html")
            if not verdict.allowed:
                account.stats.bump("rate_limited")
                return ApiError(429, "Too many requests").to_response()
        plan = faults.plan(sim, account, key, is_write=request.method != "GET")
        if plan.error is not None:
            return plan.error
        g.amocrm_drop = plan.drop_mode
        if is_oauth:
            return None
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        user_id = account.oauth.authenticate(token, sim.clock.now()) if token else None
        if user_id is None or user_id not in account.users:
            return ApiError(401, "Неверный логин или пароль").to_response()
        g.amocrm_user_id = user_id
        return None

    return before


def _after(response: Response) -> Response:
    account = g.get("amocrm_account")
    if account is None:
        return response
    if g.get("amocrm_drop") and response.status_code < 400:
        account.stats.bump("dropped_responses")
        response = faults.drop(g.amocrm_drop)
    account.stats.count_status(response.status_code)
    return response


def _locked(sim: Simulator, view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with sim.lock:
            return view(*args, **kwargs)

    return wrapper


def create_app(
    config: SimulatorConfig | None = None,
    *,
    clock: Any = None,
    seed: str | Path | dict[str, Any] | None = DEFAULT_SEED,
) -> Flask:
    """Build a simulator app. ``seed``: a TOML/JSON path or parsed dict (default: the shipped
    ``default_seed.toml``; ``None`` for no accounts). The :class:`Simulator` is
    ``app.extensions["amocrm_simulator"]``."""
    sim = Simulator(config, clock=clock)
    if seed is not None:
        sim.load_seed(seed)
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = sim

    api = Blueprint("amocrm", __name__, url_prefix="/s/<subdomain>")
    api.url_value_preprocessor(
        lambda _e, values: g.setdefault("amocrm_subdomain", (values or {}).pop("subdomain", None))
    )
    api.before_request(_edge(sim))
    api.after_request(_after)
    for child in (api_leads.bp, api_contacts.bp, api_account.bp, api_activity.bp, api_oauth.bp):
        api.register_blueprint(child)
    app.register_blueprint(api)
    app.register_blueprint(control.bp)
    app.register_blueprint(control_entities.bp)
    for name, view in list(app.view_functions.items()):
        if name.startswith("amocrm."):
            app.view_functions[name] = _locked(sim, view)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return exc.to_response()

    @app.errorhandler(404)
    @app.errorhandler(405)
    def not_found(exc: Any) -> Response | Any:
        if request.path.startswith(("/s/", "/_sim/")):
            return ApiError(exc.code, exc.description).to_response()
        return exc

    return app
