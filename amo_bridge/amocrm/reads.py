"""Reads: lists follow ``_links.next`` at ``limit=250`` (events: 100), 204 means empty.

Id filters are chunked: every id costs ~28 URL characters once bracket-encoded, and 200 of them
stay well under the 8 KB request-line limit common to front proxies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from amo_bridge.amocrm.entities import Company, Contact, Event, Lead, Note, Task
from amo_bridge.amocrm.entities_account import AccountInfo, CustomField, Pipeline, User
from amo_bridge.amocrm.transport import Transport

PAGE_LIMIT = 250
EVENTS_PAGE_LIMIT = 100
ID_CHUNK = 200
#: ``filter[entity_id][]`` takes at most 10 ids, with exactly one entity type (AMOCRM.md events).
EVENT_ID_CHUNK = 10
LEAD_WITH = ("contacts", "catalog_elements", "loss_reason")


def unix(moment: datetime | int | None) -> int | None:
    if moment is None or isinstance(moment, int):
        return moment
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: pass an aware datetime")
    return int(moment.timestamp())


def chunked(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _window(name: str, start: datetime | int | None, end: datetime | int | None
            ) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if start is not None:
        params[f"filter[{name}][from]"] = unix(start)
    if end is not None:
        params[f"filter[{name}][to]"] = unix(end)
    return params


class ReadsMixin:
    transport: Transport

    def account(self) -> AccountInfo:
        return AccountInfo.from_api(self.transport.request("GET", "/api/v4/account") or {})

    def users(self) -> list[User]:
        """All users with rights. Admin-only: a manager's token gets ``Forbidden``."""
        items = self.transport.items("/api/v4/users", embedded="users",
                                     params={"with": "role,group"})
        return [User.from_api(raw) for raw in items]

    def pipelines(self) -> list[Pipeline]:
        body = self.transport.request("GET", "/api/v4/leads/pipelines") or {}
        return [Pipeline.from_api(raw) for raw in (body.get("_embedded") or {})
                .get("pipelines") or []]

    def custom_fields(self, entity_type: str = "leads") -> list[CustomField]:
        items = self.transport.items(f"/api/v4/{entity_type}/custom_fields",
                                     embedded="custom_fields")
        return [CustomField.from_api(raw) for raw in items]

    def _list(
        self,
        entity_type: str,
        *,
        ids: Iterable[int] | None,
        params: dict[str, Any],
    ) -> Iterator[dict[str, Any]]:
        path = f"/api/v4/{entity_type}"
        embedded = entity_type.rsplit("/", 1)[-1]
        if ids is None:
            yield from self.transport.items(path, embedded=embedded, params=params,
                                            limit=PAGE_LIMIT)
            return
        unique = list(dict.fromkeys(int(i) for i in ids))
        for chunk in chunked(unique, ID_CHUNK):
            yield from self.transport.items(path, embedded=embedded, limit=PAGE_LIMIT,
                                            params={**params, "filter[id][]": list(chunk)})

    def leads(
        self,
        *,
        ids: Iterable[int] | None = None,
        updated_from: datetime | int | None = None,
        updated_to: datetime | int | None = None,
        with_: Sequence[str] = LEAD_WITH,
        extra: dict[str, Any] | None = None,
    ) -> Iterator[Lead]:
        """Leads by id list and/or ``updated_at`` window (oldest change first)."""
        params = {**_window("updated_at", updated_from, updated_to), **(extra or {})}
        if with_:
            params["with"] = ",".join(with_)
        if updated_from is not None or updated_to is not None:
            params["order[updated_at]"] = "asc"
        return (Lead.from_api(raw) for raw in self._list("leads", ids=ids, params=params))

    def contacts(
        self,
        *,
        ids: Iterable[int] | None = None,
        updated_from: datetime | int | None = None,
        updated_to: datetime | int | None = None,
        query: str | None = None,
        with_: Sequence[str] = ("leads",),
    ) -> Iterator[Contact]:
        params = _window("updated_at", updated_from, updated_to)
        if query:
            params["query"] = query
        if with_:
            params["with"] = ",".join(with_)
        return (Contact.from_api(raw) for raw in self._list("contacts", ids=ids, params=params))

    def companies(
        self,
        *,
        ids: Iterable[int] | None = None,
        updated_from: datetime | int | None = None,
        updated_to: datetime | int | None = None,
    ) -> Iterator[Company]:
        params = _window("updated_at", updated_from, updated_to)
        return (Company.from_api(raw) for raw in self._list("companies", ids=ids, params=params))

    def tasks(
        self,
        *,
        ids: Iterable[int] | None = None,
        entity_type: str | None = None,
        entity_ids: Iterable[int] | None = None,
        is_completed: bool | None = None,
        updated_from: datetime | int | None = None,
        updated_to: datetime | int | None = None,
    ) -> Iterator[Task]:
        params = _window("updated_at", updated_from, updated_to)
        if entity_type:
            params["filter[entity_type]"] = entity_type
        if entity_ids is not None:
            params["filter[entity_id][]"] = [int(i) for i in entity_ids]
        if is_completed is not None:
            params["filter[is_completed]"] = int(is_completed)
        return (Task.from_api(raw) for raw in self._list("tasks", ids=ids, params=params))

    def notes(
        self,
        entity_type: str,
        *,
        entity_ids: Iterable[int] | None = None,
        note_types: Sequence[str] = (),
    ) -> Iterator[Note]:
        params: dict[str, Any] = {}
        if entity_ids is not None:
            params["filter[entity_id][]"] = [int(i) for i in entity_ids]
        if note_types:
            params["filter[note_type][]"] = list(note_types)
        return (Note.from_api(raw)
                for raw in self._list(f"{entity_type}/notes", ids=None, params=params))

    def events(
        self,
        *,
        types: Sequence[str] = (),
        entity: str | None = None,
        entity_ids: Iterable[int] | None = None,
        created_from: datetime | int | None = None,
        created_to: datetime | int | None = None,
        answered: dict[str, Any] | None = None,
    ) -> Iterator[Event]:
        """``GET /api/v4/events``; ``entity_ids`` (one ``entity``) are sent 10 per request.

        ``answered`` (without ``entity_ids``): gets ``{"date": …}``, amoCRM's clock when it
        answered the first page — the moment the listing is as of (see ``ledger.event_reads``).
        """
        params: dict[str, Any] = _window("created_at", created_from, created_to)
        if types:
            params["filter[type][]"] = list(types)
        if entity:
            params["filter[entity][]"] = [entity]
        if entity_ids is None:
            batches: list[dict[str, Any]] = [params]
        else:
            if not entity:
                raise ValueError("filtering events by entity_ids needs exactly one entity type")
            unique = list(dict.fromkeys(int(i) for i in entity_ids))
            batches = [{**params, "filter[entity_id][]": list(chunk)}
                       for chunk in chunked(unique, EVENT_ID_CHUNK)]
        for batch in batches:
            for raw in self.transport.items("/api/v4/events", embedded="events", params=batch,
                                            limit=EVENTS_PAGE_LIMIT, answered=answered):
                yield Event.from_api(raw)
