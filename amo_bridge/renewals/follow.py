"""A pending renewal follows its policy: end date moved → task moved; cancelled → task closed.

Drift is found by comparing each open renewal with its policy (whatever changed the policy: the
mirror, the widget, an import, the money API), so nothing depends on which path made the change.

- Not yet in amoCRM (``reserved``): cancelled → ``cancelled``; moved → the reservation takes the
  new end, or is dropped when the new end is not due yet (the scan reserves it again in time).
- In amoCRM (``created``): cancelled → the task is closed with a result and the deal gets a note;
  moved → the task's deadline becomes what it would have been for the new end (never before
  tomorrow; a completed task is left alone), the deal gets a note, and its name is updated when
  the manager has not renamed it. The new deadline is absolute, so a repeat is harmless.
- ``creating`` rows wait until creation has settled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import Session, aliased

from amo_bridge.accounts import products_for
from amo_bridge.amocrm.client import AmoClient
from amo_bridge.amocrm.payloads import note_payload
from amo_bridge.clock import Clock, local_today
from amo_bridge.db import Database
from amo_bridge.i18n import DEFAULT_LANG, t
from amo_bridge.models import Account, Contact, Deal, Policy, Renewal, RenewalStatus, User
from amo_bridge.renewals import texts
from amo_bridge.renewals.config import load_config
from amo_bridge.renewals.due import UNLISTED
from amo_bridge.renewals.payloads import end_of_day, values_for
from amo_bridge.renewals.stamps import touch

LIMIT = 500


@dataclass
class Action:
    renewal_id: int
    kind: str  # "cancel" or "move"
    lead_id: int
    task_id: int | None
    old_end: date
    new_end: date | None
    cancelled_on: date | None
    task_due: date | None = None
    rename_to: str | None = None


@dataclass
class Followed:
    cancelled: int = 0
    moved: int = 0
    dropped: int = 0  # reservations released: the new end is not due yet
    remote: list[Action] = field(default_factory=list)


def plan_follow(session: Session, account: Account, *, clock: Clock,
                policy_ids: list[int] | None = None) -> Followed:
    """Settle what needs no remote call and list the actions that do (flushes only)."""
    config = load_config(session, account.id)
    today = local_today(clock, account.timezone)
    now = clock.now()
    query = (select(Renewal, Policy).join(Policy, Policy.id == Renewal.policy_id)
             .where(Renewal.account_id == account.id,
                    Renewal.status.in_((RenewalStatus.RESERVED, RenewalStatus.CREATED)),
                    or_(Policy.cancelled_on.is_not(None), Policy.ends_on != Renewal.term_end))
             .order_by(Renewal.id).limit(LIMIT))
    if policy_ids is not None:
        query = query.where(Renewal.policy_id.in_(policy_ids or [0]))
    result = Followed()
    users = dict(session.execute(select(User.amocrm_id, User.name)
                                 .where(User.account_id == account.id)).all())
    products = products_for(session, account.id)
    for renewal, policy in session.execute(query).all():
        code = policy.product_code if policy.product_code in products else UNLISTED
        schedule = config.schedule(policy.kind, code)
        if policy.cancelled_on is not None:
            if renewal.status == RenewalStatus.RESERVED:
                renewal.status, renewal.decided_at = RenewalStatus.CANCELLED, now
                renewal.outcome_reason = "policy cancelled"
                touch(renewal, now)
                result.cancelled += 1
            elif renewal.amocrm_lead_id:
                result.remote.append(Action(renewal.id, "cancel", renewal.amocrm_lead_id,
                                            renewal.amocrm_task_id, renewal.term_end,
                                            policy.ends_on, policy.cancelled_on))
            continue
        if policy.ends_on is None or _taken(session, renewal, policy.ends_on):
            continue
        if renewal.status == RenewalStatus.RESERVED:
            if policy.ends_on - timedelta(days=schedule.days_before) > today:
                session.execute(delete(Renewal).where(Renewal.id == renewal.id))
                result.dropped += 1
            else:
                renewal.term_end = policy.ends_on
                touch(renewal, now)
                result.moved += 1
            continue
        if not renewal.amocrm_lead_id:
            continue
        action = Action(renewal.id, "move", renewal.amocrm_lead_id, renewal.amocrm_task_id,
                        renewal.term_end, policy.ends_on, None)
        action.task_due = max(today + timedelta(days=schedule.task_due_days_after_creation),
                              policy.ends_on - timedelta(days=schedule.days_before))
        action.rename_to = _new_name(session, account, renewal, policy, schedule, users,
                                     products, today, marker_field=bool(config.marker_field))
        result.remote.append(action)
    session.flush()
    return result


def _taken(session: Session, renewal: Renewal, end: date) -> bool:
    """Another renewal already holds the key (policy, new end): leave this one as it is."""
    other = aliased(Renewal)
    return bool(session.scalar(select(exists().where(
        other.policy_id == renewal.policy_id, other.term_end == end, other.id != renewal.id))))


def _new_name(session, account, renewal, policy, schedule, users, products, today, *,
              marker_field: bool) -> str | None:
    deal = session.scalar(select(Deal).where(Deal.account_id == account.id,
                                             Deal.amocrm_id == renewal.amocrm_lead_id))
    if deal is None:
        return None
    contact = session.get(Contact, policy.contact_id) if policy.contact_id else None
    values = values_for(policy, contact, products, users, today=today)
    suffix = "" if marker_field else f" [{renewal.marker}]"
    new = texts.render(schedule.deal_name, values, texts.RENEWAL_VARIABLES) + suffix
    old = texts.render(schedule.deal_name, {**values, "ends_on": texts.day(renewal.term_end)},
                       texts.RENEWAL_VARIABLES) + suffix
    return new if deal.name == old and new != old else None


def apply_remote(database: Database, client: AmoClient, account: Account,
                 actions: list[Action], *, clock: Clock, lang: str = DEFAULT_LANG) -> int:
    """Close or move the tasks, note the deals, record the outcome. Returns actions settled."""
    if not actions:
        return 0
    tasks = {t.id: t for t in client.tasks(ids=[a.task_id for a in actions if a.task_id])}
    task_updates, notes, renames = [], [], []
    for action in actions:
        task = tasks.get(action.task_id) if action.task_id else None
        if action.kind == "cancel":
            text = t("renewals.note.cancelled", lang, on=texts.day(action.cancelled_on))
            if task is not None and not task.is_completed:
                task_updates.append({"id": task.id, "is_completed": True,
                                     "result": {"text": text}})
        else:
            text = t("renewals.note.moved", lang, before=texts.day(action.old_end),
                     after=texts.day(action.new_end))
            if task is not None and not task.is_completed and action.task_due is not None:
                due = end_of_day(action.task_due, account.timezone)
                task_updates.append({"id": task.id, "complete_till": int(due.timestamp())})
                text += t("renewals.note.task_moved", lang, due=texts.day(action.task_due))
            if action.rename_to:
                renames.append({"id": action.lead_id, "name": action.rename_to})
        notes.append(note_payload(request_id=f"renewal-note:{action.renewal_id}",
                                  entity_id=action.lead_id, text=text))
    for result in (client.update_tasks(task_updates) if task_updates else None,
                   client.update_leads(renames) if renames else None):
        if result is not None:
            result.raise_failure()
    client.add_notes("leads", notes).raise_failure()
    now = clock.now()
    with database.session() as session:
        for action in actions:
            row = session.get(Renewal, action.renewal_id)
            touch(row, now)
            if action.kind == "cancel":
                row.status, row.decided_at = RenewalStatus.CANCELLED, now
                row.outcome_reason = f"policy cancelled {action.cancelled_on}"
            else:
                row.term_end = action.new_end
    return len(actions)
