"""Per-request context of the v4 API: the simulator, the account and the token's user."""

from __future__ import annotations

from flask import current_app, g, request

from .state import Account, Actor, Simulator

EXTENSION = "amocrm_simulator"


def simulator() -> Simulator:
    return current_app.extensions[EXTENSION]


def account() -> Account:
    return g.amocrm_account


def actor() -> Actor:
    return Actor(g.amocrm_user_id, via="api")


def base() -> str:
    """The account's base URL as the client reached it (for ``_links``)."""
    return f"{request.host_url.rstrip('/')}/s/{g.amocrm_account.subdomain}"


def body() -> object:
    return request.get_json(force=True, silent=True)
