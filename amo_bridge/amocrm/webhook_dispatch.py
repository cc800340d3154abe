"""Which webhook events the bridge acts on: a table, not an if/elif ladder (CONVENTIONS rule 6).

The mirror maps each :class:`EventKind` to its handler. An ``(entity, action)`` pair is either in
:data:`EVENT_KINDS` (handled), in :data:`IGNORED_EVENTS` (known, deliberately dropped), or
unsupported — reported and stored by the caller, never an exception and never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from amo_bridge.amocrm.webhook_types import Action, Entity, WebhookEvent


class EventKind(StrEnum):
    LEAD_ADDED = "lead_added"
    LEAD_UPDATED = "lead_updated"
    LEAD_STATUS_CHANGED = "lead_status_changed"
    LEAD_DELETED = "lead_deleted"
    LEAD_RESTORED = "lead_restored"
    LEAD_RESPONSIBLE_CHANGED = "lead_responsible_changed"
    LEAD_DP_ACTION = "lead_dp_action"
    CONTACT_ADDED = "contact_added"
    CONTACT_UPDATED = "contact_updated"
    CONTACT_DELETED = "contact_deleted"
    CONTACT_RESTORED = "contact_restored"
    CONTACT_RESPONSIBLE_CHANGED = "contact_responsible_changed"
    COMPANY_ADDED = "company_added"
    COMPANY_UPDATED = "company_updated"
    COMPANY_DELETED = "company_deleted"
    COMPANY_RESTORED = "company_restored"
    COMPANY_RESPONSIBLE_CHANGED = "company_responsible_changed"
    TASK_ADDED = "task_added"
    TASK_UPDATED = "task_updated"
    TASK_DELETED = "task_deleted"


EVENT_KINDS: dict[tuple[str, str], EventKind] = {
    (Entity.LEAD, Action.ADD): EventKind.LEAD_ADDED,
    (Entity.LEAD, Action.UPDATE): EventKind.LEAD_UPDATED,
    # Also the Digital Pipeline "send webhook" action: the same short leads[status] form.
    (Entity.LEAD, Action.STATUS): EventKind.LEAD_STATUS_CHANGED,
    (Entity.LEAD, Action.DELETE): EventKind.LEAD_DELETED,
    (Entity.LEAD, Action.RESTORE): EventKind.LEAD_RESTORED,
    (Entity.LEAD, Action.RESPONSIBLE): EventKind.LEAD_RESPONSIBLE_CHANGED,
    (Entity.LEAD, Action.DP): EventKind.LEAD_DP_ACTION,
    (Entity.CONTACT, Action.ADD): EventKind.CONTACT_ADDED,
    (Entity.CONTACT, Action.UPDATE): EventKind.CONTACT_UPDATED,
    (Entity.CONTACT, Action.DELETE): EventKind.CONTACT_DELETED,
    (Entity.CONTACT, Action.RESTORE): EventKind.CONTACT_RESTORED,
    (Entity.CONTACT, Action.RESPONSIBLE): EventKind.CONTACT_RESPONSIBLE_CHANGED,
    (Entity.COMPANY, Action.ADD): EventKind.COMPANY_ADDED,
    (Entity.COMPANY, Action.UPDATE): EventKind.COMPANY_UPDATED,
    (Entity.COMPANY, Action.DELETE): EventKind.COMPANY_DELETED,
    (Entity.COMPANY, Action.RESTORE): EventKind.COMPANY_RESTORED,
    (Entity.COMPANY, Action.RESPONSIBLE): EventKind.COMPANY_RESPONSIBLE_CHANGED,
    # Task completion (SMS on task completion) is a task update with status=1.
    (Entity.TASK, Action.ADD): EventKind.TASK_ADDED,
    (Entity.TASK, Action.UPDATE): EventKind.TASK_UPDATED,
    (Entity.TASK, Action.DELETE): EventKind.TASK_DELETED,
}

#: Known and deliberately dropped. Notes: the bridge writes notes itself (SMS log) and reads
#: none back. Unsorted: an accepted item reaches us as a lead event; an item still in
#: "Неразобранное" is not a deal yet.
IGNORED_EVENTS: frozenset[tuple[str, str]] = frozenset(
    {
        (Entity.LEAD, Action.NOTE),
        (Entity.CONTACT, Action.NOTE),
        (Entity.COMPANY, Action.NOTE),
        (Entity.UNSORTED, Action.ADD),
        (Entity.UNSORTED, Action.UPDATE),
        (Entity.UNSORTED, Action.DELETE),
    }
)


class Disposition(StrEnum):
    HANDLED = "handled"
    IGNORED = "ignored"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True, slots=True)
class Classification:
    disposition: Disposition
    kind: EventKind | None = None
    #: Why an event is not handled, for the log line and the inbox row.
    reason: str | None = None


def classify_event(
    event: WebhookEvent,
    *,
    kinds: dict[tuple[str, str], EventKind] = EVENT_KINDS,
    ignored: frozenset[tuple[str, str]] = IGNORED_EVENTS,
) -> Classification:
    """Look the event's ``(entity, action)`` up in the tables. Never raises."""
    entity, action = event.key
    kind = kinds.get((entity, action))
    if kind is not None:
        if event.entity_id is None:
            return Classification(
                Disposition.UNSUPPORTED, kind, f"{entity}/{action} event without a readable id"
            )
        return Classification(Disposition.HANDLED, kind)
    if (entity, action) in ignored:
        return Classification(Disposition.IGNORED, reason=f"{entity}/{action} is ignored")
    return Classification(Disposition.UNSUPPORTED, reason=f"no handler for {entity}/{action}")
