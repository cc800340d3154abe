"""Connected accounts and their settings sections.

Each account keeps its own editable copy of the business defaults from ``config/defaults.toml``
(products, renewals, reminders, sms, retention targets, field mapping…), one JSON document per
section in ``account_setting``. Reading a section that was never saved returns the default.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.models import Account, AccountSetting
from amo_bridge.products import ProductDictionary, load_defaults


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_webhook_token() -> str:
    return secrets.token_urlsafe(24)


def create_account(
    session: Session,
    *,
    amocrm_id: int,
    subdomain: str,
    base_url: str,
    timezone: str = "Europe/Moscow",
    name: str = "",
    webhook_token: str | None = None,
) -> tuple[Account, str]:
    """Create an account row; returns it with the webhook secret (shown once, stored hashed)."""
    token = webhook_token or new_webhook_token()
    account = Account(
        amocrm_id=amocrm_id,
        subdomain=subdomain,
        base_url=base_url.rstrip("/"),
        timezone=timezone,
        name=name or subdomain,
        webhook_token_hash=token_hash(token),
    )
    session.add(account)
    session.flush()
    return account, token


def account_by_webhook_token(session: Session, token: str) -> Account | None:
    """Find the account whose webhook secret is ``token``, comparing in constant time."""
    digest = token_hash(token)
    account = session.scalar(select(Account).where(Account.webhook_token_hash == digest))
    if account is None or not hmac.compare_digest(account.webhook_token_hash, digest):
        return None
    return account


def rotate_webhook_token(session: Session, account: Account) -> str:
    token = new_webhook_token()
    account.webhook_token_hash = token_hash(token)
    return token


def default_section(section: str) -> Any:
    defaults = load_defaults()
    if section not in defaults:
        raise KeyError(f"no default settings section {section!r}")
    return copy.deepcopy(defaults[section])


def get_section(session: Session, account_id: int, section: str) -> Any:
    row = session.scalar(
        select(AccountSetting).where(
            AccountSetting.account_id == account_id, AccountSetting.section == section
        )
    )
    if row is None:
        return default_section(section)
    return copy.deepcopy(row.value)


def set_section(
    session: Session, account_id: int, section: str, value: Any, *, by: int | None = None
) -> AccountSetting:
    row = session.scalar(
        select(AccountSetting).where(
            AccountSetting.account_id == account_id, AccountSetting.section == section
        )
    )
    if row is None:
        row = AccountSetting(account_id=account_id, section=section, value=value, updated_by=by)
        session.add(row)
    else:
        row.value = value
        row.version += 1
        row.updated_by = by
    session.flush()
    return row


def products_for(session: Session, account_id: int) -> ProductDictionary:
    return ProductDictionary.from_config(get_section(session, account_id, "products"))
