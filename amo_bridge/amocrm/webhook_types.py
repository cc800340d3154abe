"""Typed results of parsing an amoCRM webhook (see :mod:`amo_bridge.amocrm.webhook`).

Every datetime is aware UTC. Identifiers are ``int``; a field amoCRM left out or sent in a shape
we cannot read is ``None`` (vendor payloads are read leniently), and the untouched sub-dict stays
on the event as ``raw`` for debugging.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from amo_bridge.amocrm.errors import AmoError


class WebhookParseError(AmoError):
    """The body is not an amoCRM webhook we can read. Never retryable: the bytes will not change.

    ``reason`` is a sentence for a person (logs, the inbox row); ``code`` is stable for code:
    ``empty``, ``too_large``, ``binary``, ``truncated``, ``malformed``, ``bad_json``,
    ``not_dp_event``, ``no_account``, ``bad_account``.
    """

    retryable = False

    def __init__(self, reason: str, *, code: str = "malformed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Entity(StrEnum):
    LEAD = "lead"
    CONTACT = "contact"
    COMPANY = "company"
    TASK = "task"
    UNSORTED = "unsorted"
    CUSTOMER = "customer"  # only from a Digital Pipeline widget event; the bridge ignores it


class Action(StrEnum):
    ADD = "add"
    UPDATE = "update"
    STATUS = "status"
    DELETE = "delete"
    RESTORE = "restore"
    RESPONSIBLE = "responsible"
    NOTE = "note"
    #: A Digital Pipeline *widget* action fired (the JSON body); the short DP "send webhook"
    #: action is a plain ``status`` event.
    DP = "dp"


#: amoCRM's v2 ``element_type`` numbers (tasks, notes, DP widget events).
ELEMENT_TYPES: dict[int, Entity] = {
    1: Entity.CONTACT,
    2: Entity.LEAD,
    3: Entity.COMPANY,
    12: Entity.CUSTOMER,
}


@dataclass(frozen=True, slots=True)
class CustomFieldValue:
    """One value of a custom field: the text amoCRM sent and, for selects/multitext, the enum id."""

    value: str | None
    enum_id: int | None = None

    def as_int(self) -> int | None:
        try:
            return int(self.value) if self.value is not None else None
        except ValueError:
            return None

    def as_datetime(self) -> datetime | None:
        """A date/date_time/birthday field: unix seconds → aware UTC."""
        seconds = self.as_int()
        return datetime.fromtimestamp(seconds, UTC) if seconds else None

    def as_local_date(self, timezone: str) -> date | None:
        """A ``date`` field holds midnight *of the account's timezone* (AMOCRM.md "API v4")."""
        moment = self.as_datetime()
        return moment.astimezone(ZoneInfo(timezone)).date() if moment else None


@dataclass(frozen=True, slots=True)
class CustomField:
    field_id: int
    name: str | None
    code: str | None
    values: tuple[CustomFieldValue, ...]

    @property
    def first(self) -> CustomFieldValue | None:
        return self.values[0] if self.values else None


@dataclass(frozen=True, slots=True)
class Tag:
    tag_id: int | None
    name: str | None


@dataclass(frozen=True, slots=True)
class LeadFields:
    name: str | None
    status_id: int | None
    pipeline_id: int | None
    old_status_id: int | None
    old_pipeline_id: int | None
    price: int | None
    responsible_user_id: int | None
    created_user_id: int | None
    #: ``0`` means amoCRM's robot or an API integration (possibly the bridge itself).
    modified_user_id: int | None
    account_id: int | None
    date_create: datetime | None
    last_modified: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    custom_fields: tuple[CustomField, ...] = ()
    tags: tuple[Tag, ...] = ()

    @property
    def modified_by_robot(self) -> bool:
        return self.modified_user_id == 0


@dataclass(frozen=True, slots=True)
class ContactFields:
    """A contact or a company: companies come under ``contacts[...]`` with ``type=company``."""

    type: str
    name: str | None
    responsible_user_id: int | None
    created_user_id: int | None
    modified_user_id: int | None
    account_id: int | None
    date_create: datetime | None
    last_modified: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    company_name: str | None = None
    linked_company_id: int | None = None
    linked_leads_ids: tuple[int, ...] = ()
    custom_fields: tuple[CustomField, ...] = ()
    tags: tuple[Tag, ...] = ()

    @property
    def modified_by_robot(self) -> bool:
        return self.modified_user_id == 0


@dataclass(frozen=True, slots=True)
class TaskFields:
    element_id: int | None
    element_type: int | None
    #: ``element_type`` as an entity name; ``None`` for a number we do not know.
    element_entity: Entity | None
    task_type: int | None
    text: str | None
    is_completed: bool
    responsible_user_id: int | None
    created_user_id: int | None
    modified_user_id: int | None
    account_id: int | None
    complete_till: datetime | None
    action_close: int | None
    result_text: str | None
    date_create: datetime | None
    last_modified: datetime | None
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class NoteFields:
    """``leads[note]``/``contacts[note]``: the event's ``entity_id`` is the note's element."""

    note_id: int | None
    note_type: int | None
    text: str | None
    element_id: int | None
    element_type: int | None
    created_user_id: int | None
    responsible_user_id: int | None
    account_id: int | None
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class UnsortedFields:
    """An "Неразобранное" item; the event's ``entity_id`` is the lead it holds, when sent."""

    uid: str | None
    category: str | None
    source: str | None
    source_uid: str | None
    pipeline_id: int | None
    lead_id: int | None
    account_id: int | None
    created_at: datetime | None
    #: On delete: ``accept`` or ``decline`` when amoCRM says which.
    decision: str | None = None


@dataclass(frozen=True, slots=True)
class DigitalPipelineFields:
    """A Digital Pipeline widget action's JSON body (``manifest.dp.webhook_url``)."""

    event_type: str | None
    type_code: str | None
    element_type: int | None
    status_id: int | None
    pipeline_id: int | None
    time: datetime | None
    widget_settings: dict[str, Any] = field(default_factory=dict)


Payload = (
    LeadFields
    | ContactFields
    | TaskFields
    | NoteFields
    | UnsortedFields
    | DigitalPipelineFields
    | None
)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One entity under one action: ``leads[status][1]`` is ``(lead, status, index "1")``.

    ``entity`` and ``action`` are :class:`Entity`/:class:`Action` members when known, otherwise
    the raw text amoCRM used (e.g. ``customers``/``add``), so new event types are reported, not
    lost. ``payload`` is ``None`` for entity groups we do not model.
    """

    entity: str
    action: str
    entity_id: int | None
    payload: Payload
    index: str = "0"
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (str(self.entity), str(self.action))


@dataclass(frozen=True, slots=True)
class ParsedWebhook:
    account_id: int | None
    subdomain: str | None
    events: tuple[WebhookEvent, ...]
    #: ``form`` (account webhooks, DP "send webhook") or ``json`` (DP widget action).
    source: str = "form"
    account_link: str | None = None
