"""CORS for the widget API: only the account's own amoCRM domain may call it from a browser.

amoCRM runs the widget on ``https://<subdomain>.amocrm.ru`` (or ``.kommo.com``) and its
``$authorizedAjax`` calls the bridge cross-origin (AMOCRM.md, Widgets). A preflight carries no
token, so it is answered for any connected account's domain; an authenticated request only for
the domain of the token's own account. Outside production, loopback origins (the widget harness
served from another port) are allowed too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from sqlalchemy import select

from amo_bridge.models import Account

PREFIX = "/widget/api/"
AMOCRM_DOMAINS = ("amocrm.ru", "amocrm.com", "kommo.com")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
ALLOWED_HEADERS = "X-Auth-Token, Content-Type, Accept-Language, Idempotency-Key, X-Request-ID"
EXPOSED_HEADERS = "Content-Disposition, X-Request-ID"


def account_origins(account: Account) -> set[str]:
    """The browser origins amoCRM serves this account's pages from."""
    origins = {f"https://{account.subdomain}.{domain}" for domain in AMOCRM_DOMAINS}
    parts = urlsplit(account.base_url or "")
    if parts.scheme and parts.netloc:
        origins.add(f"{parts.scheme}://{parts.netloc}")  # the simulator, a custom domain
    return origins


def _loopback(origin: str) -> bool:
    parts = urlsplit(origin)
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and (host in LOOPBACK_HOSTS or host == "::1")


def origin_allowed(origin: str) -> bool:
    settings = current_app.extensions["amo_bridge.settings"]
    if settings.env != "production" and _loopback(origin):
        return True
    runtime = current_app.extensions["amo_bridge"]
    identity = getattr(g, "identity", None)
    with runtime.db.read_session() as session:
        statement = select(Account)
        if identity is not None:
            statement = statement.where(Account.id == identity.account_id)
        for account in session.scalars(statement):
            if origin in account_origins(account):
                return True
    return False


def add_cors_headers(response: Response) -> Response:
    if not request.path.startswith(PREFIX):
        return response
    origin = request.headers.get("Origin", "").strip().rstrip("/")
    if not origin or not origin_allowed(origin):
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    response.headers["Access-Control-Max-Age"] = "600"
    response.vary.add("Origin")
    return response


def install(app: Flask) -> None:
    app.after_request(add_cors_headers)
