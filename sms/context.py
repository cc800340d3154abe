"""The values a template sees, built from the ledger (whitelisted in amo_bridge.templates).

Client names follow Russian usage: a client is addressed by first name and patronymic
(«Анна Петровна»). amoCRM often keeps the whole «Фамилия Имя Отчество» in one name field, so
the patronymic is recognised by its ending when the split fields are empty.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.models import Contact, Policy, User
from amo_bridge.phones import InvalidPhone, format_phone, normalize_phone
from amo_bridge.products import ProductDictionary
from sms.config import SmsConfig

_PATRONYMIC = re.compile(r"(ич|вна|ична|оглы|кызы|улы|қызы)$", re.IGNORECASE)
_PARTICLES = ("оглы", "кызы", "улы", "қызы")


def client_values(contact: Contact) -> dict[str, object | None]:
    first = (contact.first_name or "").strip()
    middle = (contact.middle_name or "").strip()
    words = (contact.name or "").split()
    patronymic_at = next((i for i, w in enumerate(words) if i and _PATRONYMIC.search(w)), None)
    if not middle and patronymic_at is not None:
        # «Фамилия Имя Отчество» in one field (amoCRM's split fields are then often wrong)
        at = patronymic_at
        if words[at].lower() in _PARTICLES and at >= 2:  # «Рашид Ильхам оглы»
            first, middle = words[at - 2], f"{words[at - 1]} {words[at]}"
        else:
            first, middle = words[at - 1], words[at]
    elif not first and words:
        first = words[0]  # amoCRM shows "Имя Фамилия" by default
    io = " ".join(part for part in (first, middle) if part)
    full = (contact.name or " ".join(p for p in (contact.last_name, first, middle) if p)).strip()
    return {"client_io": io or None, "client_first_name": first or None,
            "client_full_name": full or None}


def shown_phone(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return format_phone(normalize_phone(raw))
    except InvalidPhone:
        return raw.strip() or None


def manager_values(user: User | None) -> dict[str, object | None]:
    if user is None:
        return {"manager_name": None, "manager_phone": None}
    return {"manager_name": (user.profile_name or "").strip() or None,
            "manager_phone": shown_phone(user.profile_phone)}


def resolve_manager(session: Session, account_id: int, amocrm_id: int | None,
                    today: date) -> User | None:
    """The manager, or their backup while they are away (the client must reach someone)."""
    if amocrm_id is None:
        return None
    user = session.scalar(select(User).where(User.account_id == account_id,
                                             User.amocrm_id == amocrm_id))
    if user is not None and user.away_until and user.away_until >= today \
            and user.backup_user_id:
        backup = session.get(User, user.backup_user_id)
        if backup is not None and backup.is_active:
            return backup
    return user


def policy_values(policy: Policy | None, *, products: ProductDictionary, config: SmsConfig,
                  today: date) -> dict[str, object | None]:
    if policy is None:
        return {}
    if policy.product_code in config.product_in_text:
        product = config.product_in_text[policy.product_code]
    elif policy.product_code in products:
        product = products.get(policy.product_code).name(config.lang)
    else:
        product = policy.product_code
    return {
        "product": product,
        "policy_number": policy.number,
        "insurer": policy.insurer,
        "end_date": policy.ends_on.strftime("%d.%m.%Y") if policy.ends_on else None,
        "days_left": (policy.ends_on - today).days if policy.ends_on else None,
    }


def company_values(config: SmsConfig) -> dict[str, object | None]:
    return {"company_name": config.company_name or None,
            "company_phone": shown_phone(config.company_phone)}
