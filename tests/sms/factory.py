"""Ledger rows for SMS tests, with the seed's people (Анна Петровна, manager Дмитрий)."""

from __future__ import annotations

from datetime import date
from typing import Any

from amo_bridge.accounts import create_account, get_section, set_section
from amo_bridge.models import Account, Contact, ContactPhone, Deal, Policy, User

NEW_LEAD = (7811001, 61100002)
IN_WORK = 61100003
MANAGER = 8011002


def account(session, *, subdomain: str = "broker", timezone: str = "Europe/Moscow",
            base_url: str = "http://127.0.0.1:9/s/broker") -> Account:
    row, _ = create_account(session, amocrm_id=31456789, subdomain=subdomain,
                            base_url=base_url, timezone=timezone,
                            name="Страховой брокер «Надёжный полис»")
    rules(session, row, first_contact_statuses=[list(NEW_LEAD)],
          company_name="Надёжный полис")
    return row


def rules(session, account: Account, **values: Any) -> None:
    current = get_section(session, account.id, "sms_rules")
    set_section(session, account.id, "sms_rules", {**current, **values})
    session.info.pop("sms.config", None)


def section(session, account: Account, name: str, **values: Any) -> None:
    current = get_section(session, account.id, name)
    set_section(session, account.id, name, {**current, **values})
    session.info.pop("sms.config", None)


def user(session, account: Account, *, amocrm_id: int = MANAGER, name: str = "Дмитрий Волков",
         profile_name: str | None = "Дмитрий", profile_phone: str | None = "+7 999 123-45-67",
         **extra: Any) -> User:
    row = User(account_id=account.id, amocrm_id=amocrm_id, name=name,
               profile_name=profile_name, profile_phone=profile_phone, **extra)
    session.add(row)
    session.flush()
    return row


def contact(session, account: Account, *, amocrm_id: int = 40100001,
            name: str = "Смирнова Анна Петровна", first: str | None = "Анна",
            middle: str | None = "Петровна", phones=(("+79161234567", "MOB"),),
            **extra: Any) -> Contact:
    row = Contact(account_id=account.id, amocrm_id=amocrm_id, name=name, first_name=first,
                  middle_name=middle, last_name="Смирнова", **extra)
    session.add(row)
    session.flush()
    for phone, label in phones:
        session.add(ContactPhone(account_id=account.id, contact_id=row.id, phone=phone,
                                 label=label))
    session.flush()
    return row


def deal(session, account: Account, contact: Contact | None, *, amocrm_id: int = 30100001,
         status: int = NEW_LEAD[1], responsible: int = MANAGER, **extra: Any) -> Deal:
    row = Deal(account_id=account.id, amocrm_id=amocrm_id, name="КАСКО — Смирнова",
               pipeline_id=NEW_LEAD[0], status_id=status, responsible_amocrm_id=responsible,
               contact_id=contact.id if contact else None, **extra)
    session.add(row)
    session.flush()
    return row


def policy(session, account: Account, contact: Contact, *, ends_on: date,
           product: str = "kasko", kind: str = "ours", number: str | None = None,
           key: str | None = None, **extra: Any) -> Policy:
    row = Policy(account_id=account.id, external_key=key or f"p:{product}:{ends_on}:{kind}",
                 kind=kind, product_code=product, insurer="Ингосстрах", number=number,
                 ends_on=ends_on, contact_id=contact.id, seller_amocrm_id=MANAGER, **extra)
    session.add(row)
    session.flush()
    return row
