"""Widget API authentication: amoCRM's disposable JWT in ``X-Auth-Token``.

amoCRM signs the token HS256 with the integration's client secret; it lives 30 minutes and
carries ``account_id`` and ``user_id`` (AMOCRM.md, Widgets). The account must be connected, and
the role comes from the mirrored amoCRM user (admin rights) plus the bridge's own finance grant:
a JWT claim such as ``is_admin`` is never trusted on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

import jwt
from flask import current_app, g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.i18n import pick_lang, t
from amo_bridge.models import Account, Role, User
from amo_bridge.web.problems import PROBLEM_TYPE_BASE, problem

LEEWAY_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Identity:
    account_id: int
    amocrm_account_id: int
    amocrm_user_id: int
    roles: frozenset[str]
    lang: str

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class AuthError(Exception):
    def __init__(self, status: int, key: str, **values: object) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.values = values


def expected_audience(settings: Any) -> str:
    """The token's ``aud`` is the scheme and host of the integration's redirect URI."""
    source = settings.amocrm_redirect_uri or settings.public_url
    parts = urlsplit(source)
    return f"{parts.scheme}://{parts.netloc}"


def decode_token(token: str, *, secret: str, audience: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=audience,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "account_id", "user_id"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError(401, "auth.invalid", reason="expired") from None
    except jwt.InvalidAudienceError:
        raise AuthError(401, "auth.invalid", reason="wrong audience") from None
    except jwt.ImmatureSignatureError:
        raise AuthError(401, "auth.invalid", reason="not valid yet") from None
    except jwt.InvalidSignatureError:
        raise AuthError(401, "auth.invalid", reason="bad signature") from None
    except jwt.PyJWTError as exc:
        raise AuthError(401, "auth.invalid", reason=str(exc)) from None
    return claims


def resolve_identity(session: Session, claims: dict[str, Any], lang: str) -> Identity:
    try:
        amocrm_account_id = int(claims["account_id"])
        amocrm_user_id = int(claims["user_id"])
    except (TypeError, ValueError):
        raise AuthError(401, "auth.invalid", reason="bad account_id or user_id") from None
    account = session.scalar(select(Account).where(Account.amocrm_id == amocrm_account_id))
    if account is None:
        raise AuthError(401, "auth.unknown_account")
    user = session.scalar(
        select(User).where(User.account_id == account.id, User.amocrm_id == amocrm_user_id)
    )
    roles = {Role.MANAGER.value}
    if user is not None and user.is_admin:
        roles.add(Role.ADMIN.value)
    if user is not None and user.is_finance:
        roles.add(Role.FINANCE.value)
    return Identity(account.id, amocrm_account_id, amocrm_user_id, frozenset(roles), lang)


def authenticate() -> Identity:
    """The identity behind the current request, or :class:`AuthError`."""
    settings = current_app.extensions["amo_bridge.settings"]
    lang = pick_lang(request.headers.get("Accept-Language"), request.args.get("lang"))
    token = request.headers.get("X-Auth-Token", "").strip()
    if not token:
        raise AuthError(401, "auth.missing")
    if not settings.amocrm_client_secret:
        raise AuthError(401, "auth.invalid", reason="the integration secret is not configured")
    claims = decode_token(
        token, secret=settings.amocrm_client_secret, audience=expected_audience(settings)
    )
    runtime = current_app.extensions["amo_bridge"]
    with runtime.session() as session:
        return resolve_identity(session, claims, lang)


def widget_auth(*roles: str) -> Callable:
    """Protect a widget API view; with ``roles``, at least one of them is required."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            lang = pick_lang(request.headers.get("Accept-Language"), request.args.get("lang"))
            try:
                identity = authenticate()
                if roles and not identity.has_any(*roles):
                    names = ", ".join(t(f"role.{r}", identity.lang) for r in roles)
                    raise AuthError(403, "auth.forbidden", roles=names)
            except AuthError as exc:
                return problem(
                    exc.status,
                    "Unauthorized" if exc.status == 401 else "Forbidden",
                    t(exc.key, lang, **exc.values),
                    type_=PROBLEM_TYPE_BASE + exc.key,
                )
            g.identity = identity
            return view(*args, **kwargs)

        return wrapper

    return decorate
