"""Reminders before a policy ends (seed 004): a schedule per product, editable per account.

Defaults: КАСКО 45 and 5 days, ОСАГО 30 and 5, имущество 30, ипотека 45, 30 and 5. A step may
require "renewal not in progress" (the last one by default): it goes out only while the
renewal deal has not moved past its first stage and is not won. Once the policy is renewed —
or the renewal was lost, or the policy cancelled — no further reminder goes out, and one
already queued (waiting for the morning) is dropped at send time. Foreign policies get
reminders only when the account switches them on (they are marketing: consent needed).

A scan that did not run for a day or two still sends the step that fell due (up to
``reminder_grace_days`` late) — only the latest due step, never two at once. The key
``reminder:policy:<id>:<end date>:<days>`` makes re-runs harmless.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from amo_bridge.clock import Clock, local_today
from amo_bridge.i18n import t
from amo_bridge.models import (
    Account,
    Contact,
    Deal,
    Policy,
    PolicyKind,
    Renewal,
    RenewalStatus,
    SmsMessage,
    StageChange,
)
from sms.config import SmsConfig, load_config
from sms.outbox import Draft, Queued, queue_message

LOST = 143
_CLOSED = (RenewalStatus.RENEWED, RenewalStatus.NOT_RENEWED, RenewalStatus.CANCELLED)


def _renewal(session: Session, policy: Policy) -> Renewal | None:
    return session.scalar(select(Renewal).where(Renewal.policy_id == policy.id,
                                                Renewal.term_end == policy.ends_on))


def _renewal_deal(session: Session, renewal: Renewal | None) -> Deal | None:
    if renewal is None or not renewal.amocrm_lead_id:
        return None
    return session.scalar(select(Deal).where(Deal.account_id == renewal.account_id,
                                             Deal.amocrm_id == renewal.amocrm_lead_id))


def finished(session: Session, policy: Policy) -> str | None:
    """Why no reminder may go out any more (renewed, renewal lost, cancelled), or None."""
    if policy.cancelled_on is not None:
        return "cancelled"
    if policy.renewed_by_id is not None:
        return "renewed"
    renewal = _renewal(session, policy)
    if renewal is not None and renewal.status in _CLOSED:
        return str(renewal.status)
    deal = _renewal_deal(session, renewal)
    if deal is not None and (deal.won_at is not None or deal.status_id == 142):
        return "renewed"
    if deal is not None and (deal.lost_at is not None or deal.status_id == LOST):
        return "not_renewed"
    return None


def in_progress(session: Session, policy: Policy) -> bool:
    """The renewal deal moved past its first stage (or is won)."""
    deal = _renewal_deal(session, _renewal(session, policy))
    if deal is None:
        return False
    return deal.won_at is not None or bool(session.scalar(select(exists().where(
        StageChange.deal_id == deal.id, StageChange.from_status_id.is_not(None),
        StageChange.to_status_id != LOST))))


def _due_step(policy: Policy, steps: tuple[int, ...], today: date, grace: int) -> int | None:
    assert policy.ends_on is not None
    due = [d for d in steps if policy.ends_on - timedelta(days=d) <= today
           <= policy.ends_on - timedelta(days=d) + timedelta(days=grace)]
    return min(due) if due and today < policy.ends_on else None


def _draft(session: Session, policy: Policy, days: int, config: SmsConfig,
           zone: ZoneInfo) -> Draft:
    foreign = policy.kind == PolicyKind.FOREIGN
    last = days in config.require_no_renewal.get(policy.product_code, frozenset())
    renewal = _renewal(session, policy)
    contact = session.get(Contact, policy.contact_id)
    manager = ((renewal.assignee_amocrm_id if renewal else None) or policy.seller_amocrm_id
               or (contact.responsible_amocrm_id if contact else None))
    template = "reminder_foreign" if foreign else "reminder_last" if last else "reminder"
    assert policy.ends_on is not None
    return Draft(account_id=policy.account_id, rule="reminder",
                 key=f"reminder:policy:{policy.id}:{policy.ends_on.isoformat()}:{days}",
                 template_code=template, contact_id=policy.contact_id, deal_id=policy.deal_id,
                 policy_id=policy.id, manager_amocrm_id=manager,
                 values={"step_days": days, "requires_no_renewal": last},
                 expires_at=datetime.combine(policy.ends_on, time(0), tzinfo=zone))


def scan_account(session: Session, account: Account, *, clock: Clock) -> list[Queued]:
    """Queue every reminder due today for one account; returns the rows it created."""
    config = load_config(session, account)
    today = local_today(clock, account.timezone)
    if not config.reminder_days:
        return []
    horizon = max(max(days) for days in config.reminder_days.values() if days)
    kinds = [PolicyKind.OURS] + ([PolicyKind.FOREIGN] if config.foreign_reminders else [])
    policies = session.scalars(select(Policy).where(
        Policy.account_id == account.id, Policy.ends_on > today,
        Policy.ends_on <= today + timedelta(days=horizon), Policy.cancelled_on.is_(None),
        Policy.kind.in_(kinds), Policy.contact_id.is_not(None),
        Policy.product_code.in_(list(config.reminder_days))).order_by(Policy.ends_on))
    zone = ZoneInfo(account.timezone)
    created = []
    for policy in policies:
        days = _due_step(policy, config.reminder_days[policy.product_code], today,
                         config.reminder_grace_days)
        if days is None or finished(session, policy):
            continue
        draft = _draft(session, policy, days, config, zone)
        if draft.values["requires_no_renewal"] and in_progress(session, policy):
            continue
        queued = queue_message(session, draft, clock=clock)
        if queued.created:
            created.append(queued)
    return created


def obsolete(session: Session, message: SmsMessage) -> str | None:
    """Checked at send time: the reason a queued reminder must not go out any more."""
    if message.rule != "reminder" or message.policy_id is None:
        return None
    policy = session.get(Policy, message.policy_id)
    if policy is None:
        return "deleted"
    why = finished(session, policy)
    if why is None and (message.details or {}).get("values", {}).get("requires_no_renewal"):
        why = "in_progress" if in_progress(session, policy) else None
    if why is None:
        return None
    lang = load_config(session, session.get(Account, message.account_id)).lang
    return t(f"sms.reason.reminder_{'in_progress' if why == 'in_progress' else 'done'}", lang)
