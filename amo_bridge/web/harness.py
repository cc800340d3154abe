"""The widget harness: a local page that plays amoCRM around the built widget (development only).

It provides what amoCRM provides a widget — jQuery and RequireJS, the widget host object
(``get_settings``, ``system``, ``i18n``, ``render``, ``render_template``, ``$authorizedAjax``),
the deal card, contact card, settings modal, advanced settings page and Digital Pipeline areas —
and serves the widget exactly as ``amo-bridge widget build`` zips it. ``$authorizedAjax`` signs
its calls with a real token: the page asks :func:`mint_token` here, which signs HS256 with the
integration's client secret as amoCRM does. Nothing here exists when ``AMO_BRIDGE_ENV`` is
``production``, and tokens are minted only for requests from the loopback interface.
"""

from __future__ import annotations

import json
import mimetypes
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory
from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.i18n import pick_lang, t
from amo_bridge.models import Account, Contact, Deal, SmsMessage, User
from amo_bridge.web.auth import expected_audience
from amo_bridge.web.problems import problem
from amo_bridge.web.widget_build import BuildOptions, build_files

bp = Blueprint("widget_harness", __name__, url_prefix="/widget/harness")
ASSETS = Path(__file__).resolve().parent / "harness_assets"
TOKEN_SECONDS = 1800  # amoCRM's tokens live 30 minutes
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class HarnessError(ValueError):
    """A token cannot be minted (production, no secret, no such account); says why."""


def harness_enabled(settings: Any) -> bool:
    return settings.env != "production"


def mint_token(session: Session, settings: Any, *, user_id: int, subdomain: str | None = None,
               lifetime: int = TOKEN_SECONDS) -> str:
    """A widget JWT with amoCRM's claims (AMOCRM.md, Widgets), signed like amoCRM signs it."""
    if not harness_enabled(settings):
        raise HarnessError("widget tokens are minted only outside production")
    if not settings.amocrm_client_secret:
        raise HarnessError("AMOCRM_CLIENT_SECRET is not set: the integration's client secret "
                           "signs widget tokens")
    statement = select(Account).order_by(Account.id)
    if subdomain:
        statement = statement.where(Account.subdomain == subdomain)
    accounts = session.scalars(statement).all()
    if not accounts:
        raise HarnessError(f"no connected account{' ' + subdomain if subdomain else ''}")
    if len(accounts) > 1:
        raise HarnessError("several accounts are connected: name one with --account")
    account = accounts[0]
    user = session.scalar(select(User).where(User.account_id == account.id,
                                             User.amocrm_id == user_id))
    now = int(time.time())  # a protocol timestamp checked against wall time, not business time
    claims = {
        "iss": f"https://{account.subdomain}.amocrm.ru", "aud": expected_audience(settings),
        "jti": uuid.uuid4().hex, "iat": now, "nbf": now, "exp": now + lifetime,
        "account_id": account.amocrm_id, "user_id": user_id,
        "client_uuid": settings.amocrm_client_id or "amo-bridge-harness",
        "subdomain": account.subdomain, "is_admin": bool(user and user.is_admin),
    }
    return jwt.encode(claims, settings.amocrm_client_secret, algorithm="HS256")


def _settings():
    return current_app.extensions["amo_bridge.settings"]


def _runtime():
    return current_app.extensions["amo_bridge"]


@bp.before_request
def _development_only():
    if not harness_enabled(_settings()):
        lang = pick_lang(request.headers.get("Accept-Language"))
        return problem(404, "Not Found", t("widget.harness.disabled", lang))
    return None


@bp.get("")
def page():
    """The harness page; ``?user=&area=lcard|ccard|settings|advanced_settings|digital_pipeline
    &lead=&contact=&lang=`` choose what it shows."""
    html = (ASSETS / "harness.html").read_text(encoding="utf-8")
    config = {"widgetBase": request.script_root + "/widget/harness/widget",
              "assets": request.script_root + "/widget/harness/assets",
              "api": request.script_root + "/widget/harness"}
    html = html.replace("@@CONFIG@@", json.dumps(config))
    return Response(html, mimetype="text/html")


@bp.get("/assets/<path:name>")
def asset(name: str):
    return send_from_directory(ASSETS, name, max_age=0)


@bp.get("/widget/<path:name>")
def widget_file(name: str):
    """The widget as the zip holds it, built for this bridge's own URL."""
    files = build_files(BuildOptions(backend_url=request.host_url.rstrip("/")))
    if name not in files:
        return problem(404, "Not Found", f"no {name} in the widget")
    kind = mimetypes.guess_type(name)[0] or "text/plain"
    if name.endswith(".js"):
        kind = "application/javascript"
    response = Response(files[name], mimetype=kind)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/token")
def token():
    """A fresh widget token for a user of the connected account (loopback callers only)."""
    if request.remote_addr not in LOOPBACK:
        return problem(403, "Forbidden", "widget tokens are minted for loopback callers only")
    body = request.get_json(silent=True) or {}
    try:
        user_id = int(body.get("user_id"))
    except (TypeError, ValueError):
        return problem(422, "Validation failed", "user_id (an amoCRM user id) is required")
    try:
        with _runtime().db.read_session() as session:
            signed = mint_token(session, _settings(), user_id=user_id,
                                subdomain=body.get("subdomain"))
    except HarnessError as exc:
        return problem(409, "Conflict", str(exc))
    return jsonify(token=signed, expires_in=TOKEN_SECONDS)


@bp.get("/data")
def data():
    """What the harness's pickers list: the account, its users, recent deals and contacts, and
    the last SMS the "client's phone" received (the verification code shows here)."""
    with _runtime().db.read_session() as session:
        account = session.scalar(select(Account).order_by(Account.id))
        if account is None:
            return jsonify(account=None, users=[], deals=[], contacts=[], sms=[])
        users = session.scalars(select(User).where(User.account_id == account.id)
                                .order_by(User.amocrm_id)).all()
        deals = session.scalars(select(Deal).where(Deal.account_id == account.id,
                                                   Deal.is_deleted.is_(False))
                                .order_by(Deal.id.desc()).limit(40)).all()
        contacts = session.scalars(select(Contact).where(Contact.account_id == account.id,
                                                         Contact.amocrm_id.is_not(None))
                                   .order_by(Contact.id.desc()).limit(40)).all()
        sms = session.scalars(select(SmsMessage).where(SmsMessage.account_id == account.id)
                              .order_by(SmsMessage.id.desc()).limit(8)).all()
        return jsonify(
            account={"id": account.amocrm_id, "subdomain": account.subdomain,
                     "name": account.name, "base_url": account.base_url},
            users=[{"id": u.amocrm_id, "name": u.name, "admin": u.is_admin,
                    "finance": u.is_finance} for u in users],
            deals=[{"id": d.amocrm_id, "name": d.name or f"#{d.amocrm_id}", "price": d.price,
                    "contact": _contact_amocrm_id(session, d.contact_id)} for d in deals],
            contacts=[{"id": c.amocrm_id, "name": c.name or f"#{c.amocrm_id}"}
                      for c in contacts],
            sms=[{"id": m.id, "phone": m.phone, "text": m.text, "status": m.status,
                  "rule": m.rule} for m in sms],
        )


def _contact_amocrm_id(session: Session, contact_id: int | None) -> int | None:
    if contact_id is None:
        return None
    contact = session.get(Contact, contact_id)
    return contact.amocrm_id if contact else None
