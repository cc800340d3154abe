"""``POST {base}/oauth2/access_token`` (AMOCRM.md "OAuth 2.0")."""

from __future__ import annotations

import json

from flask import Blueprint, Response, request

from .context import account, simulator
from .oauth import OAuthError

bp = Blueprint("amocrm_oauth", __name__)


@bp.post("/oauth2/access_token")
def access_token() -> Response:
    acc = account()
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        data = request.form.to_dict()
    refresh = data.get("grant_type") == "refresh_token"
    if refresh:
        acc.stats.bump("token_refresh_attempts")
    try:
        with simulator().lock:
            answer = acc.oauth.exchange(data, simulator().clock.now())
    except OAuthError as exc:
        return Response(
            json.dumps(exc.body(), ensure_ascii=False), exc.status, mimetype="application/json"
        )
    acc.stats.bump("token_refreshes" if refresh else "code_exchanges")
    return Response(json.dumps(answer), 200, mimetype="application/json")
