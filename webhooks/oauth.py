"""The OAuth doors: the install redirect (authorization code) and the "integration disabled" hook.

The redirect carries ``code`` and ``referer`` (the account's host). The code is exchanged at
*that* host — so the host must be an amoCRM or Kommo account host (or loopback outside
production, for the simulator): otherwise anyone could make the bridge send its client secret
to a host of their choosing.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from amo_bridge.amocrm.errors import AmoError
from amo_bridge.amocrm.http import make_session
from amo_bridge.amocrm.oauth import exchange_code, verify_disable_hook
from amo_bridge.connect import connect_account
from amo_bridge.connections import credentials_from, set_account_status
from amo_bridge.models import Account, AccountStatus
from amo_bridge.web.problems import problem

log = logging.getLogger(__name__)
bp = Blueprint("oauth", __name__)

ACCOUNT_DOMAINS = (".amocrm.ru", ".amocrm.com", ".kommo.com")
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def base_url_from_referer(referer: str, *, allow_loopback: bool) -> str | None:
    """``broker.amocrm.ru`` → ``https://broker.amocrm.ru``; None for anything else."""
    referer = referer.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
    host = urlsplit(f"//{referer}").hostname or ""
    if any(host.endswith(domain) for domain in ACCOUNT_DOMAINS) and "/" not in referer:
        return f"https://{referer}"
    if allow_loopback and host in LOOPBACK:
        return f"http://{referer}"
    return None


@bp.get("/oauth/amocrm/callback")
def install_callback() -> Response:
    runtime = current_app.extensions["amo_bridge"]
    settings = current_app.extensions["amo_bridge.settings"]
    code = request.args.get("code", "")
    base_url = base_url_from_referer(request.args.get("referer", ""),
                                     allow_loopback=settings.env != "production")
    credentials = credentials_from(settings)
    if not code or base_url is None:
        return problem(400, "Bad Request", "The redirect needs a code and an amoCRM referer.")
    if credentials is None:
        return problem(503, "Service Unavailable", "The amoCRM integration is not configured.")
    try:
        pair = exchange_code(make_session(timeout=settings.amocrm_timeout_seconds), base_url,
                             credentials, code=code, clock=runtime.clock)
        connected = connect_account(runtime.db, base_url=base_url, pair=pair,
                                    rate=settings.amocrm_rate_per_second, clock=runtime.clock,
                                    rotate_token=False)
    except AmoError as exc:
        log.warning("install from %s failed: %s", base_url, exc)
        return problem(502, "Bad Gateway", f"amoCRM refused the connection: {exc}")
    lines = [f"<h1>amo-bridge подключён к {html.escape(connected.subdomain)}</h1>"]
    if connected.webhook_token:
        url = f"{settings.public_url}/webhooks/amocrm/{connected.webhook_token}"
        lines.append("<p>Добавьте этот адрес в amoCRM → Настройки → Интеграции → Вебхуки "
                     "(все события сделок, контактов и задач). Он показывается один раз:</p>")
        lines.append(f"<pre>{html.escape(url)}</pre>")
    return Response("\n".join(lines), mimetype="text/html")


@bp.get("/oauth/amocrm/disabled")
def integration_disabled() -> Response:
    """amoCRM's signed GET when an admin disables the integration: stop using its tokens."""
    runtime = current_app.extensions["amo_bridge"]
    settings = current_app.extensions["amo_bridge.settings"]
    client_uuid = request.args.get("client_uuid", "")
    account_id = request.args.get("account_id", "")
    signature = request.args.get("signature", "")
    if not settings.amocrm_client_secret or not verify_disable_hook(
        settings.amocrm_client_secret, client_uuid=client_uuid, account_id=account_id,
        signature=signature,
    ):
        return problem(403, "Forbidden", "Bad signature.")
    with runtime.session() as session:
        account = session.scalar(select(Account).where(
            Account.amocrm_id == int(account_id) if account_id.isdigit() else False))
        if account is not None:
            set_account_status(session, account.id, AccountStatus.DISCONNECTED,
                               "the integration was disabled in amoCRM", now=runtime.clock.now())
            log.warning("account %s disabled the integration", account.subdomain)
    return Response("ok", mimetype="text/plain")
