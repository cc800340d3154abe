"""When a message is due because something happened in amoCRM (seed 002, part 3).

- **First contact**: a lead leaves a configured "new lead" stage for any later one → one
  message with the manager's contacts, once per lead (key ``first_contact:deal:<id>``); never
  for a deal the bridge created itself (renewals), never for the bridge's own echoes, never
  for stale moves replayed by a catch-up, and not for a move straight to "lost".
- **Task completed**: for the configured task types, the type's template goes to the deal's
  contact, once per task.

Each rule returns the :class:`~sms.outbox.Queued` it produced (or None); nothing is enqueued.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from amo_bridge.clock import Clock
from amo_bridge.ledger.changes import DigitalPipelineAction, StageMoved, TaskCompleted
from amo_bridge.models import Account, Deal, Task
from sms.config import load_config
from sms.outbox import Draft, Queued, queue_message

FIRST_CONTACT_TTL = timedelta(days=3)


def first_contact(session: Session, change: StageMoved, *, clock: Clock) -> Queued | None:
    if change.by_bridge:
        return None
    deal = session.get(Deal, change.deal_id)
    if deal is None or deal.created_by_bridge or deal.is_deleted:
        return None
    account = session.get(Account, deal.account_id)
    config = load_config(session, account)
    pipeline = change.from_pipeline_id or change.to_pipeline_id or deal.pipeline_id
    to_pipeline = change.to_pipeline_id or pipeline
    if (pipeline, change.from_status_id) not in config.first_contact_statuses:
        return None
    if (to_pipeline, change.to_status_id) in config.first_contact_statuses:
        return None  # still a "new lead" stage
    if change.to_status_id in config.first_contact_skip_statuses:
        return None
    if clock.now() - change.changed_at > config.max_trigger_age:
        return None  # a replayed old move (first sync, reconcile after an outage)
    return queue_message(session, Draft(
        account_id=deal.account_id, rule="first_contact", key=f"first_contact:deal:{deal.id}",
        template_code="first_contact", contact_id=deal.contact_id, deal_id=deal.id,
        manager_amocrm_id=deal.responsible_amocrm_id,
        expires_at=change.changed_at + FIRST_CONTACT_TTL), clock=clock)


def task_completed(session: Session, change: TaskCompleted, *, clock: Clock) -> Queued | None:
    if change.by_bridge:
        return None
    task = session.get(Task, change.task_id)
    if task is None:
        return None
    account = session.get(Account, task.account_id)
    config = load_config(session, account)
    type_id = change.task_type_id or task.task_type_id
    template = config.task_completed_templates.get(int(type_id or 0))
    if template is None:
        return None
    completed = task.completed_at or clock.now()
    if clock.now() - completed > config.max_trigger_age:
        return None
    deal = session.get(Deal, change.deal_id) if change.deal_id else None
    contact_id = change.contact_id or (deal.contact_id if deal else None)
    manager = task.responsible_amocrm_id or (deal.responsible_amocrm_id if deal else None)
    return queue_message(session, Draft(
        account_id=task.account_id, rule="task_completed", key=f"task_completed:task:{task.id}",
        template_code=template, contact_id=contact_id, deal_id=deal.id if deal else None,
        manager_amocrm_id=manager, expires_at=completed + timedelta(days=2)), clock=clock)


#: The widget's DP action setting that names the template (manifest ``dp.settings``).
DP_TEMPLATE_SETTING = "template"


def dp_action(session: Session, change: DigitalPipelineAction, *, clock: Clock) -> Queued | None:
    """«amo-bridge: отправить SMS» in a pipeline stage: the chosen template, once per deal and
    stage (key ``dp:deal:<id>:<pipeline>:<status>``)."""
    template = str(change.settings.get(DP_TEMPLATE_SETTING) or "").strip()
    deal = session.get(Deal, change.deal_id)
    if not template or deal is None or deal.is_deleted:
        return None
    return queue_message(session, Draft(
        account_id=deal.account_id, rule="dp_action",
        key=f"dp:deal:{deal.id}:{change.pipeline_id}:{change.status_id}",
        template_code=template, contact_id=deal.contact_id, deal_id=deal.id,
        manager_amocrm_id=deal.responsible_amocrm_id,
        expires_at=clock.now() + FIRST_CONTACT_TTL), clock=clock)
