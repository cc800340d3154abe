"""What the mirror reports, and the reactions registry the jobs consult after it commits.

The mirror (a domain function) upserts the ledger and *returns* the business changes it saw; it
never enqueues. After the mirror's unit of work has committed, the job calls every reaction
registered for each change (SMS rules, renewal scheduling, lost-deal follow-ups…) in a new unit
of work; a reaction writes its own rows (outbox, reservations) and returns the jobs to enqueue
after that commit. Changes caused by the bridge's own writes carry ``by_bridge=True`` so that no
rule fires on an echo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from jobs.queue import JobCall


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    account_id: int
    #: True when the change is the echo of a write the bridge itself made in amoCRM.
    by_bridge: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DealCreated(Change):
    deal_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StageMoved(Change):
    deal_id: int
    event_id: str  # amoCRM's event id: the natural idempotency key of this move
    from_pipeline_id: int | None
    from_status_id: int | None
    to_pipeline_id: int | None
    to_status_id: int | None
    changed_at: datetime
    changed_by_amocrm_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DealWon(Change):
    deal_id: int
    won_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DealLost(Change):
    deal_id: int
    lost_at: datetime
    loss_reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DealDeleted(Change):
    deal_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRecorded(Change):
    """A policy line was created or its terms changed (end date, cancellation…)."""

    policy_id: int
    created: bool
    changed_fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactUpdated(Change):
    contact_id: int
    created: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskCompleted(Change):
    task_id: int
    deal_id: int | None = None
    contact_id: int | None = None
    task_type_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DigitalPipelineAction(Change):
    """The widget's Digital Pipeline action fired: a deal entered a stage the admin equipped
    with «amo-bridge: отправить SMS» (settings carry the template code)."""

    deal_id: int
    pipeline_id: int | None
    status_id: int | None
    settings: dict[str, Any]


#: A reaction gets the session of its own unit of work and one change; it returns the jobs to
#: enqueue after that unit of work commits (or nothing).
Reaction = Callable[[Session, Any], Iterable[JobCall] | None]

_REACTIONS: dict[type[Change], list[tuple[str, Reaction]]] = {}


def reacts_to(*change_types: type[Change], name: str | None = None):
    """Register a reaction for one or more change types (idempotent by name)."""

    def decorate(func: Reaction) -> Reaction:
        key = name or f"{func.__module__}.{func.__qualname__}"
        for change_type in change_types:
            entries = _REACTIONS.setdefault(change_type, [])
            entries[:] = [(k, f) for k, f in entries if k != key]
            entries.append((key, func))
        return func

    return decorate


def reactions_for(change: Change) -> list[tuple[str, Reaction]]:
    return list(_REACTIONS.get(type(change), ()))


def unregister(name: str) -> None:
    for entries in _REACTIONS.values():
        entries[:] = [(k, f) for k, f in entries if k != name]


# --- serialisation (changes waiting for their reactions are stored on the inbox row) ---------

_CHANGE_TYPES: dict[str, type[Change]] = {
    cls.__name__: cls
    for cls in (DealCreated, StageMoved, DealWon, DealLost, DealDeleted, PolicyRecorded,
                ContactUpdated, TaskCompleted, DigitalPipelineAction)
}


def dump_change(change: Change) -> dict[str, Any]:
    from dataclasses import fields

    data: dict[str, Any] = {"type": type(change).__name__}
    for f in fields(change):
        value = getattr(change, f.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        data[f.name] = value
    return data


def load_change(data: dict[str, Any]) -> Change:
    from dataclasses import fields

    cls = _CHANGE_TYPES[data["type"]]
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.type in ("datetime", "datetime | None") and isinstance(value, str):
            value = datetime.fromisoformat(value)
        elif isinstance(value, list):
            value = tuple(value)
        values[f.name] = value
    return cls(**values)
