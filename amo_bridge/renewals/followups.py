"""Lost deals: a re-contact task after 3, 6 or 12 months by loss reason, the client «холодный».

Seed 001 («Работа с потерянными сделками»): the manager records the reason, sets a reminder to
re-contact in 3/6/12 months and marks the contact cold, keeping it in the base. The bridge does
the last two: the months come from ``renewals.lost_followup_months`` by reason (``default``
otherwise; 0 means no reminder), the task goes on the client (on the deal when it has none) to
the deal's responsible manager, due at the end of that day.

A ``renewal_followup`` row is reserved first under (account, deal, day lost); the task is then
created like a renewal's (a lost answer is looked up on the client before a retry), and the tag
is added by reading the contact's tags and writing them back with the new one — a repeat is a
no-op.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from amo_bridge.amocrm.client import AmoClient
from amo_bridge.amocrm.errors import AmoError
from amo_bridge.amocrm.payloads import task_payload
from amo_bridge.clock import Clock
from amo_bridge.db import Database
from amo_bridge.models import Account, Contact, Deal, FollowupStatus, RenewalFollowup
from amo_bridge.renewals import texts
from amo_bridge.renewals.config import RenewalConfig
from amo_bridge.renewals.payloads import end_of_day
from amo_bridge.renewals.stamps import touch

IN_FLIGHT = timedelta(minutes=3)
ROUND = 250


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def reserve_followup(session: Session, account: Account, deal: Deal, *, config: RenewalConfig,
                     lost_at: datetime, reason: str | None, now: datetime) -> int | None:
    """Reserve the follow-up of a lost deal; returns its id when this call created it."""
    if not config.followups:
        return None
    months = config.months_after_loss(reason)
    if months <= 0:
        return None
    contact = session.get(Contact, deal.contact_id) if deal.contact_id else None
    lost_on = lost_at.astimezone(ZoneInfo(account.timezone)).date()
    values = {"deal_name": deal.name, "client_name": contact.name if contact else "",
              "lost_on": texts.day(lost_on), "reason": reason or "", "months": months}
    on_contact = contact is not None and contact.amocrm_id is not None
    row = {
        "account_id": account.id, "deal_id": deal.id, "lost_on": lost_on,
        "reason": (reason or None) and reason[:255], "months": months,
        "due_on": add_months(lost_on, months),
        "entity_type": "contacts" if on_contact else "leads",
        "entity_amocrm_id": int(contact.amocrm_id) if on_contact else deal.amocrm_id,
        "contact_amocrm_id": int(contact.amocrm_id) if on_contact else None,
        "responsible_amocrm_id": deal.responsible_amocrm_id,
        "text": texts.render(config.followup_task_text, values, texts.FOLLOWUP_VARIABLES),
        "status": FollowupStatus.PENDING.value, "tagged": not (on_contact and config.cold_tag),
        "attempts": 0, "created_at": now, "updated_at": now,
    }
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (module.insert(RenewalFollowup).values([row]).on_conflict_do_nothing()
                 .returning(RenewalFollowup.id))
    return session.scalar(statement)


def _claim(session: Session, account_id: int, *, now: datetime, stale: Collection[int]
           ) -> list[RenewalFollowup]:
    over = or_(RenewalFollowup.updated_at < now - IN_FLIGHT,
               RenewalFollowup.id.in_(list(stale) or [0]))
    query = (select(RenewalFollowup).where(
        RenewalFollowup.account_id == account_id,
        or_(RenewalFollowup.status.in_((FollowupStatus.PENDING, FollowupStatus.CREATED)),
            and_(RenewalFollowup.status == FollowupStatus.CREATING, over)))
        .order_by(RenewalFollowup.id).limit(ROUND))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def create_followups(database: Database, client: AmoClient, account_id: int, *, clock: Clock,
                     cold_tag: str, stale: Collection[int] = ()) -> dict[str, int]:
    """Create pending follow-up tasks and tag their clients; raises what is left to a retry."""
    counts = {"tasks": 0, "adopted": 0, "tagged": 0, "failed": 0}
    with database.session() as session:
        account = session.get(Account, account_id)
        rows = _claim(session, account_id, now=clock.now(), stale=stale)
        items = [{"id": r.id, "status": r.status, "task_id": r.amocrm_task_id, "text": r.text,
                  "entity_type": r.entity_type, "entity_id": r.entity_amocrm_id,
                  "contact": r.contact_amocrm_id, "tagged": r.tagged,
                  "payload": task_payload(
                      request_id=f"followup:{r.id}", text=r.text,
                      complete_till=end_of_day(r.due_on, account.timezone),
                      entity_type=r.entity_type, entity_id=r.entity_amocrm_id,
                      responsible_user_id=r.responsible_amocrm_id)} for r in rows]
        for row in rows:
            if row.status != FollowupStatus.CREATED:
                row.status, row.attempts = FollowupStatus.CREATING, row.attempts + 1
            touch(row, clock.now())
    if not items:
        return counts
    for item in items:  # a lost answer earlier: adopt the task if it is there
        if item["status"] == FollowupStatus.CREATING and item["task_id"] is None:
            for task in client.tasks(entity_type=item["entity_type"],
                                     entity_ids=[item["entity_id"]]):
                if task.text == item["text"]:
                    item["task_id"] = task.id
                    counts["adopted"] += 1
                    break
    todo = [i for i in items if i["task_id"] is None]
    result = client.create_tasks([i["payload"] for i in todo]) if todo else None
    for item in todo:
        item["task_id"] = result.ids.get(f"followup:{item['id']}") if result else None
    counts["tasks"] = len(result.ids) if result else 0
    tag_error = _tag(client, [i for i in items if i["task_id"] and not i["tagged"]], cold_tag)
    now = clock.now()
    with database.session() as session:
        for item in items:
            row = session.get(RenewalFollowup, item["id"])
            rid = f"followup:{item['id']}"
            touch(row, now)
            if item["task_id"] is not None:
                row.amocrm_task_id, row.last_error = item["task_id"], None
                row.tagged = item["tagged"]
                row.status = FollowupStatus.DONE if row.tagged else FollowupStatus.CREATED
                counts["tagged"] += bool(item.get("just_tagged"))
            elif result is not None and rid in result.errors:
                row.status = FollowupStatus.FAILED
                row.last_error = "; ".join(f"{e.path}: {e.detail}" for e in result.errors[rid])
                counts["failed"] += 1
            elif result is not None and rid in result.unsent:
                row.status = FollowupStatus.PENDING
            else:  # answer lost: looked up on the entity once IN_FLIGHT has passed
                row.last_error = str(result.failure if result else "outcome unknown")[:2000]
    problem = (result.failure if result else None) or tag_error
    if problem is not None:
        raise problem
    return counts


def _tag(client: AmoClient, items: list[dict], tag: str) -> AmoError | None:
    """Add ``tag`` to the items' contacts, keeping their other tags (read, then write back)."""
    wanted = {i["contact"] for i in items if i["contact"]}
    if not wanted or not tag:
        for item in items:
            item["tagged"] = True
        return None
    try:
        updates = []
        for contact in client.contacts(ids=wanted, with_=()):
            names = [t.name for t in contact.tags]
            if tag not in names:
                updates.append({"id": contact.id, "_embedded": {
                    "tags": [{"name": n} for n in [*names, tag]]}})
        if updates:
            client.update_contacts(updates).raise_failure()
    except AmoError as exc:
        return exc
    for item in items:
        item["tagged"] = item["just_tagged"] = True
    return None
