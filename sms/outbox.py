"""Queue a message: every SMS is a row before anything is sent.

:func:`queue_message` takes a :class:`Draft` from a rule, and under the draft's idempotency key
(unique per account) either returns the row that already exists — a duplicate webhook, a
re-run scan, a retried job — or creates one: ``queued`` with its text, segments and the moment
it may go out (quiet hours), ``rejected`` with the reason (invalid or non-mobile number,
opt-out, no consent) or ``needs_attention`` naming what is missing (a manager without a phone).
It writes rows and returns them; it never enqueues.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from amo_bridge.clock import Clock, local_today
from amo_bridge.i18n import t
from amo_bridge.models import Account, Contact, ContactPhone, Policy, SmsMessage, SmsStatus
from amo_bridge.phones import InvalidPhone, parse_phone
from amo_bridge.templates import VARIABLES, MissingValues, render
from sms.channel import suppression
from sms.config import SmsConfig, load_config, load_products
from sms.context import (
    client_values,
    company_values,
    manager_values,
    policy_values,
    resolve_manager,
)
from sms.notes import add_note
from sms.quiet import next_allowed
from sms.segments import count_segments
from sms.templates_store import TemplateDef, get_template
from sms.timezones import client_zone


@dataclass(frozen=True, kw_only=True)
class Draft:
    account_id: int
    rule: str  # first_contact | reminder | task_completed | verification | manual
    key: str  # the idempotency key: rule, entity, occasion
    template_code: str
    contact_id: int | None
    deal_id: int | None = None
    policy_id: int | None = None
    manager_amocrm_id: int | None = None
    values: Mapping[str, object] = field(default_factory=dict)
    phone: str | None = None  # an explicit number (verification), else the contact's mobile
    expires_at: datetime | None = None
    ignore_quiet_hours: bool = False  # a code the client is waiting for right now


@dataclass(frozen=True, slots=True)
class Queued:
    message: SmsMessage
    created: bool


class Blocked(Exception):
    def __init__(self, status: SmsStatus, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


def find(session: Session, account_id: int, key: str) -> SmsMessage | None:
    return session.scalar(select(SmsMessage).where(SmsMessage.account_id == account_id,
                                                   SmsMessage.idempotency_key == key))


def pick_phone(session: Session, contact: Contact) -> str | None:
    """The verified phone, else a mobile-labelled one, else any (rejected later if unfit)."""
    if contact.verified_phone:
        return contact.verified_phone
    phones = list(session.scalars(select(ContactPhone).where(
        ContactPhone.contact_id == contact.id).order_by(ContactPhone.id)))
    phones.sort(key=lambda p: 0 if (p.label or "").upper() == "MOB" else 1)
    for phone in phones:
        try:
            if parse_phone(phone.phone).is_mobile:
                return phone.phone
        except InvalidPhone:
            continue
    return phones[0].phone if phones else None


def check_recipient(session: Session, message: SmsMessage, contact: Contact | None,
                    raw_phone: str | None, config: SmsConfig) -> None:
    """The gates a message passes at queue time and again at send time; raises Blocked."""
    lang, rej = config.lang, SmsStatus.REJECTED
    if contact is None:
        raise Blocked(rej, "no_contact", t("sms.reason.no_contact", lang))
    if not raw_phone:
        raise Blocked(rej, "no_phone", t("sms.reason.no_phone", lang))
    try:
        phone = parse_phone(raw_phone)
    except InvalidPhone as exc:
        message.phone = raw_phone[:20]
        raise Blocked(rej, "invalid_phone", t("sms.reason.invalid_phone", lang,
                                              phone=raw_phone, detail=exc.reason)) from None
    message.phone = phone.e164
    if not phone.is_mobile:
        raise Blocked(rej, "not_mobile", t("sms.reason.not_mobile", lang, phone=phone.e164))
    if phone.region not in config.allowed_regions:
        raise Blocked(rej, "region", t("sms.reason.region", lang, phone=phone.e164,
                                       region=phone.region))
    suppressed = suppression(session, message.account_id, phone.e164)
    if suppressed is not None:
        raise Blocked(rej, "suppressed", t("sms.reason.suppressed", lang, phone=phone.e164,
                                           detail=suppressed.reason))
    if contact.opted_out_at is not None:
        raise Blocked(rej, "opted_out", t("sms.reason.opted_out", lang))
    if message.kind == "marketing" and contact.marketing_consent_at is None:
        raise Blocked(rej, "no_consent", t("sms.reason.no_consent", lang))


def _render(session: Session, draft: Draft, message: SmsMessage, template: TemplateDef,
            contact: Contact, config: SmsConfig, today) -> str:
    policy = session.get(Policy, draft.policy_id) if draft.policy_id else None
    manager = resolve_manager(session, draft.account_id, draft.manager_amocrm_id, today)
    if manager is not None:
        message.manager_amocrm_id = manager.amocrm_id
    values: dict[str, object | None] = {
        **client_values(contact), **company_values(config), **manager_values(manager),
        **policy_values(policy, config=config, today=today, products=load_products(
            session, session.get(Account, draft.account_id))),
        **draft.values,
    }
    try:
        return render(template.body, values)
    except MissingValues as exc:
        message.details = {**(message.details or {}), "missing": exc.names}
        lang = config.lang
        managerial = [n for n in exc.names if n.startswith("manager_")]
        if managerial and manager is None:
            raise Blocked(SmsStatus.NEEDS_ATTENTION, "no_manager",
                          t("sms.reason.no_manager", lang)) from None
        if managerial:
            fields = ", ".join(VARIABLES[n][0 if lang == "ru" else 1].lower() for n in managerial)
            raise Blocked(SmsStatus.NEEDS_ATTENTION, "missing_manager",
                          t("sms.reason.missing_manager", lang, fields=fields,
                            manager=manager.name or manager.amocrm_id)) from None
        fields = ", ".join(VARIABLES[n][0 if lang == "ru" else 1].lower() for n in exc.names)
        raise Blocked(SmsStatus.NEEDS_ATTENTION, "missing_data",
                      t("sms.reason.missing_data", lang, fields=fields)) from None


def render_masked(session: Session, draft: Draft, message: SmsMessage, template: TemplateDef,
                  contact: Contact, config: SmsConfig, clock: Clock) -> str:
    masked = replace(draft, values={**draft.values, "code": "••••••"})
    return _render(session, masked, message, template, contact, config,
                   local_today(clock, config.timezone))


def build(session: Session, draft: Draft, message: SmsMessage, config: SmsConfig,
          clock: Clock) -> None:
    """Fill ``message`` (text, segments, due time) or raise Blocked; shared with re-queueing."""
    template = get_template(session, draft.account_id, draft.template_code, config.lang)
    if template is None or not template.is_active:
        raise Blocked(SmsStatus.NEEDS_ATTENTION, "template_missing",
                      t("sms.reason.template_missing", config.lang, code=draft.template_code))
    message.kind = template.kind
    contact = session.get(Contact, draft.contact_id) if draft.contact_id else None
    phone = draft.phone or (pick_phone(session, contact) if contact else None)
    check_recipient(session, message, contact, phone, config)
    assert contact is not None
    text = _render(session, draft, message, template, contact, config,
                   local_today(clock, config.timezone))
    if draft.rule == "verification":
        masked = render_masked(session, draft, message, template, contact, config, clock)
        message.details = {**(message.details or {}), "masked_text": masked}
    parts = count_segments(text)
    message.text, message.segments, message.encoding = text, parts.count, parts.encoding
    message.cost = parts.count * config.segment_price_kopecks or None
    now = clock.now()
    zone = client_zone(contact_timezone=contact.timezone, city=contact.city,
                       account_timezone=config.timezone)
    message.not_before = now if draft.ignore_quiet_hours else next_allowed(
        now, zone, config.quiet_start, config.quiet_end)
    message.details = {**(message.details or {}), "zone": zone.key}


def queue_message(session: Session, draft: Draft, *, clock: Clock) -> Queued:
    existing = find(session, draft.account_id, draft.key)
    if existing is not None:
        return Queued(existing, False)
    account = session.get(Account, draft.account_id)
    if account is None:
        raise LookupError(f"no account {draft.account_id}")
    config = load_config(session, account)
    now = clock.now()
    message = SmsMessage(
        account_id=draft.account_id, idempotency_key=draft.key[:255], rule=draft.rule,
        template_code=draft.template_code, contact_id=draft.contact_id, deal_id=draft.deal_id,
        policy_id=draft.policy_id, manager_amocrm_id=draft.manager_amocrm_id,
        expires_at=draft.expires_at, status=SmsStatus.QUEUED, created_at=now,
        updated_at=now, attempts=0, segments=0, text="",
        # the code of a verification is never stored in clear
        details={"ignore_quiet_hours": draft.ignore_quiet_hours,
                 "values": {} if draft.rule == "verification" else dict(draft.values)})
    blocked: Blocked | None = None
    try:
        build(session, draft, message, config, clock)
    except Blocked as exc:
        blocked = exc
        message.status, message.reason = exc.status, exc.reason
        message.details = {**(message.details or {}), "reason_code": exc.code}
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:  # the same key was queued concurrently
        if message in session:
            session.expunge(message)
        again = find(session, draft.account_id, draft.key)
        if again is None:
            raise
        return Queued(again, False)
    if blocked is not None:
        add_note(session, message, "blocked", lang=config.lang, now=now)
    return Queued(message, True)


def draft_of(message: SmsMessage) -> Draft:
    """Rebuild the draft of a stored message (re-queueing after an admin fixed the data)."""
    details = message.details or {}
    return Draft(account_id=message.account_id, rule=message.rule,
                 key=message.idempotency_key, template_code=message.template_code or "",
                 contact_id=message.contact_id, deal_id=message.deal_id,
                 policy_id=message.policy_id, manager_amocrm_id=message.manager_amocrm_id,
                 values=details.get("values") or {}, expires_at=message.expires_at,
                 ignore_quiet_hours=bool(details.get("ignore_quiet_hours")))
