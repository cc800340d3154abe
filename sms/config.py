"""An account's SMS settings, read once per unit of work from its settings sections.

Sections: ``sms`` (quiet hours, segment warning), ``sms_rules`` (rules, verification, company
contacts), ``reminders`` (schedule per product), each merged over the defaults in
``config/defaults.toml`` so that an account saved before a new key existed still gets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.accounts import default_section, get_section, products_for
from amo_bridge.models import Account, AccountSetting
from amo_bridge.products import ProductDictionary
from sms.quiet import parse_clock


def section(session: Session, account_id: int, name: str) -> dict[str, Any]:
    merged = default_section(name)
    for key, value in get_section(session, account_id, name).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True, kw_only=True)
class SmsConfig:
    account_id: int
    account_name: str
    timezone: str
    lang: str
    quiet_start: time
    quiet_end: time
    max_segments_warning: int
    allowed_regions: frozenset[str]
    company_name: str
    company_phone: str
    segment_price_kopecks: int
    first_contact_statuses: frozenset[tuple[int, int]]
    first_contact_skip_statuses: frozenset[int]
    max_trigger_age: timedelta
    task_completed_templates: dict[int, str]
    reminder_days: dict[str, tuple[int, ...]]
    require_no_renewal: dict[str, frozenset[int]]
    foreign_reminders: bool
    reminder_grace_days: int
    product_in_text: dict[str, str]
    verification_field_id: int
    verification_tag: str
    verification_ttl: timedelta
    verification_max_attempts: int
    verification_resend: timedelta
    verification_max_per_hour: int


_SECTIONS = ("sms", "sms_rules", "reminders", "products")
#: Built configurations by (account, its name and timezone, section versions): a unit of work
#: pays one small query to learn that nothing changed instead of rebuilding from JSON.
_BUILT: dict[tuple, tuple[SmsConfig, ProductDictionary]] = {}


def _versions(session: Session, account: Account) -> tuple:
    rows = session.execute(select(AccountSetting.section, AccountSetting.version).where(
        AccountSetting.account_id == account.id, AccountSetting.section.in_(_SECTIONS)))
    return (account.id, account.name, account.timezone, tuple(sorted(rows)))


def load_config(session: Session, account: Account) -> SmsConfig:
    """The account's SMS configuration (cached per unit of work and per settings version)."""
    return _load(session, account)[0]


def load_products(session: Session, account: Account) -> ProductDictionary:
    return _load(session, account)[1]


def _load(session: Session, account: Account) -> tuple[SmsConfig, ProductDictionary]:
    cache = session.info.setdefault("sms.config", {})
    if account.id in cache:
        return cache[account.id]
    key = _versions(session, account)
    built = _BUILT.get(key)
    if built is None:
        built = (_build(session, account), products_for(session, account.id))
        if len(_BUILT) > 256:
            _BUILT.clear()
        _BUILT[key] = built
    cache[account.id] = built
    return built


def _build(session: Session, account: Account) -> SmsConfig:
    sms = section(session, account.id, "sms")
    rules = section(session, account.id, "sms_rules")
    reminders = section(session, account.id, "reminders")
    return SmsConfig(
        account_id=account.id,
        account_name=account.name,
        timezone=account.timezone,
        lang=str(rules.get("lang", "ru")),
        quiet_start=parse_clock(sms.get("quiet_hours_start", "09:00")),
        quiet_end=parse_clock(sms.get("quiet_hours_end", "21:00")),
        max_segments_warning=int(sms.get("max_segments_warning", 3)),
        allowed_regions=frozenset(rules.get("allowed_regions") or ["RU"]),
        company_name=str(rules.get("company_name") or account.name or ""),
        company_phone=str(rules.get("company_phone") or ""),
        segment_price_kopecks=int(rules.get("segment_price_kopecks") or 0),
        first_contact_statuses=frozenset(
            (int(p), int(s)) for p, s in rules.get("first_contact_statuses") or []),
        first_contact_skip_statuses=frozenset(
            int(s) for s in rules.get("first_contact_skip_statuses") or []),
        max_trigger_age=timedelta(hours=float(rules.get("max_trigger_age_hours", 48))),
        task_completed_templates={
            int(k): str(v) for k, v in (rules.get("task_completed_templates") or {}).items()},
        reminder_days={code: tuple(sorted({int(d) for d in days}, reverse=True))
                       for code, days in (reminders.get("days_before") or {}).items()},
        require_no_renewal={code: frozenset(int(d) for d in days)
                            for code, days in (reminders.get("require_no_renewal") or {}).items()},
        foreign_reminders=bool(reminders.get("foreign_policies", False)),
        reminder_grace_days=int(rules.get("reminder_grace_days", 3)),
        product_in_text={str(k): str(v) for k, v in (rules.get("product_in_text") or {}).items()},
        verification_field_id=int(rules.get("verification_field_id") or 0),
        verification_tag=str(rules.get("verification_tag") or "телефон подтверждён"),
        verification_ttl=timedelta(seconds=int(rules.get("verification_ttl_seconds", 300))),
        verification_max_attempts=int(rules.get("verification_max_attempts", 5)),
        verification_resend=timedelta(seconds=int(rules.get("verification_resend_seconds", 60))),
        verification_max_per_hour=int(rules.get("verification_max_per_hour", 5)),
    )
