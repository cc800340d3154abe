"""Batch writes (≤ 50 items per request), each item tracked by our ``request_id``.

amoCRM echoes each item's ``request_id`` and points validation errors at it (AMOCRM.md "Batch
writes"). Every write is recorded through the :class:`WriteRecorder` port so that its echo (a
webhook about our own change) is recognised later. A batch stops at the first failure that is
not per-item; what was done so far is still returned (``BatchResult.failure``), so a job can
save the created ids and reschedule only the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from amo_bridge.amocrm.errors import AmoError, ApiError, FieldError, OutcomeUnknown
from amo_bridge.amocrm.reads import chunked
from amo_bridge.amocrm.transport import Transport
from amo_bridge.clock import Clock

BATCH_SIZE = 50


@dataclass(frozen=True, slots=True)
class WriteRecord:
    entity_type: str
    entity_id: int | None
    action: str
    fields: Mapping[str, Any]
    at: datetime
    request_id: str | None = None
    #: ``ok``, or ``unknown`` when the answer was lost (the entity may or may not exist).
    outcome: str = "ok"


class WriteRecorder(Protocol):
    def record(self, writes: Sequence[WriteRecord]) -> None: ...


class MemoryRecorder:
    """Keeps records in a list (tests, demos)."""

    def __init__(self) -> None:
        self.writes: list[WriteRecord] = []

    def record(self, writes: Sequence[WriteRecord]) -> None:
        self.writes.extend(writes)


@dataclass(frozen=True, slots=True)
class BatchResult:
    #: request_id → entity id, for every item amoCRM accepted (created or updated).
    ids: Mapping[str, int] = field(default_factory=dict)
    #: request_id → validation errors; those items were not written.
    errors: Mapping[str, tuple[FieldError, ...]] = field(default_factory=dict)
    #: request_ids whose request was sent but whose answer was lost: reconcile these.
    unknown: tuple[str, ...] = ()
    #: request_ids never sent because the batch stopped (see ``failure``).
    unsent: tuple[str, ...] = ()
    failure: AmoError | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and not self.unknown and not self.unsent and self.failure is None

    def raise_failure(self) -> BatchResult:
        if self.failure is not None:
            raise self.failure
        return self


class WritesMixin:
    transport: Transport
    recorder: WriteRecorder
    clock: Clock

    def create(self, entity_type: str, items: Sequence[Mapping[str, Any]]) -> BatchResult:
        """POST ``/api/v4/{entity_type}`` (``leads``, ``contacts``, ``tasks``, ``leads/notes``…)."""
        return self._batch("POST", entity_type, items, action="create")

    def update(self, entity_type: str, items: Sequence[Mapping[str, Any]]) -> BatchResult:
        """PATCH by id; each item must carry ``id`` (its request_id defaults to the id)."""
        for item in items:
            if not item.get("id"):
                raise ValueError(f"update of {entity_type} needs an id in every item: {item!r}")
        return self._batch("PATCH", entity_type, items, action="update")

    def create_leads(self, items: Sequence[Mapping[str, Any]]) -> BatchResult:
        return self.create("leads", items)

    def update_leads(self, items: Sequence[Mapping[str, Any]]) -> BatchResult:
        return self.update("leads", items)

    def create_contacts(self, items: Sequence[Mapping[str, Any]]) -> BatchResult:
        return self.create("contacts", items)

    def update_contacts(self, items: Sequence[Mapping[str, Any]]) -> BatchResult:
        return self.update("contacts", items)

    def create_tasks(self, items: Sequence[Mapping[str, Any]]) -> BatchResult:
        return self.create("tasks", items)

    def update_tasks(self, items: Sequence[Mapping[str, Any]]) -> BatchResult:
        return self.update("tasks", items)

    def add_notes(self, entity_type: str, items: Sequence[Mapping[str, Any]]) -> BatchResult:
        """``POST /api/v4/{leads|contacts|companies}/notes``, items from ``note_payload``."""
        return self.create(f"{entity_type}/notes", items)

    def add_tags(self, entity_type: str, ids: Sequence[int], tags: Sequence[str]) -> BatchResult:
        """Add tags without touching the others (``tags_to_add``; a present tag is a no-op)."""
        names = [{"name": t} for t in tags]
        return self.update(entity_type, [{"id": int(i), "tags_to_add": names} for i in ids])

    def link_contacts(
        self, lead_id: int, contact_ids: Sequence[int], *, main_contact_id: int | None = None
    ) -> None:
        """``POST /api/v4/leads/{id}/link`` with contacts (≤ 50 links per request)."""
        links = [{"to_entity_id": int(c), "to_entity_type": "contacts",
                  **({"metadata": {"is_main": True}} if c == main_contact_id else {})}
                 for c in contact_ids]
        for chunk in chunked(links, BATCH_SIZE):
            self.transport.request("POST", f"/api/v4/leads/{int(lead_id)}/link", json=list(chunk),
                                   request_ids=[f"link:{lead_id}:{c['to_entity_id']}"
                                                for c in chunk])
            self.recorder.record([WriteRecord(
                entity_type="leads", entity_id=int(lead_id), action="link",
                fields={"contacts": [c["to_entity_id"] for c in chunk]}, at=self.clock.now())])

    # --- the batch engine ----------------------------------------------------------------

    def _batch(self, method: str, entity_type: str, items: Sequence[Mapping[str, Any]], *,
               action: str) -> BatchResult:
        prepared = _with_request_ids(items, method=method)
        ids: dict[str, int] = {}
        errors: dict[str, tuple[FieldError, ...]] = {}
        unknown: list[str] = []
        chunks = list(chunked(prepared, BATCH_SIZE))
        for position, chunk in enumerate(chunks):
            try:
                self._send_chunk(method, entity_type, list(chunk), action=action, ids=ids,
                                 errors=errors)
            except OutcomeUnknown as exc:
                unknown.extend(exc.request_ids)
                self._record(entity_type, action, chunk, {}, outcome="unknown")
                rest = [i["request_id"] for c in chunks[position + 1 :] for i in c]
                return BatchResult(ids=ids, errors=errors, unknown=tuple(unknown),
                                   unsent=tuple(rest), failure=exc)
            except AmoError as exc:
                rest = [i["request_id"] for c in chunks[position:] for i in c
                        if i["request_id"] not in ids and i["request_id"] not in errors]
                return BatchResult(ids=ids, errors=errors, unsent=tuple(rest), failure=exc)
        return BatchResult(ids=ids, errors=errors)

    def _send_chunk(self, method: str, entity_type: str, chunk: list[dict[str, Any]], *,
                    action: str, ids: dict[str, int],
                    errors: dict[str, tuple[FieldError, ...]]) -> None:
        path = f"/api/v4/{entity_type}"
        embedded = entity_type.rsplit("/", 1)[-1]
        for attempt in range(2):
            request_ids = [item["request_id"] for item in chunk]
            if method != "POST" and attempt == 0:
                # Updates are recorded before sending: their echo may arrive before our answer.
                self._record(entity_type, action, chunk, {item["request_id"]: int(item["id"])
                                                          for item in chunk})
            try:
                body = self.transport.request(method, path, json=chunk, request_ids=request_ids)
            except ApiError as exc:
                if exc.status != 400 or not exc.validation:
                    raise
                bad = _attribute(exc.validation, request_ids)
                errors.update(bad)
                done = _accepted(exc.detail, embedded, request_ids)
                ids.update(done)
                if method == "POST":
                    self._record(entity_type, action, chunk, done)
                # amoCRM rejects the whole request on a validation error (when it reports no
                # created items): send the valid rest once more, without the faulty items.
                chunk = [i for i in chunk if i["request_id"] not in bad and
                         i["request_id"] not in done]
                if not chunk:
                    return
                continue
            done = _accepted(body, embedded, request_ids)
            ids.update(done)
            if method == "POST":
                self._record(entity_type, action, chunk, done)
            return
        raise ApiError(f"{method} {path}: validation failed twice", status=400)

    def _record(self, entity_type: str, action: str, chunk: Sequence[Mapping[str, Any]],
                done: Mapping[str, int], *, outcome: str = "ok") -> None:
        now = self.clock.now()
        records = [WriteRecord(entity_type=entity_type, entity_id=done.get(item["request_id"]),
                               action=action, at=now, request_id=item["request_id"],
                               fields={k: v for k, v in item.items() if k != "request_id"},
                               outcome=outcome)
                   for item in chunk if outcome != "ok" or item["request_id"] in done]
        if records:
            self.recorder.record(records)


def _with_request_ids(items: Sequence[Mapping[str, Any]], *, method: str) -> list[dict[str, Any]]:
    prepared = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        copy = dict(item)
        default = str(copy["id"]) if method != "POST" and copy.get("id") else f"r{index}"
        copy["request_id"] = str(copy.get("request_id") or default)
        if copy["request_id"] in seen:
            raise ValueError(f"duplicate request_id {copy['request_id']!r} in one batch")
        seen.add(copy["request_id"])
        prepared.append(copy)
    return prepared


def _accepted(body: Any, embedded: str, request_ids: Sequence[str]) -> dict[str, int]:
    """request_id → id from ``_embedded.<entity>`` (ordinal when request_id is missing)."""
    if not isinstance(body, Mapping):
        return {}
    done: dict[str, int] = {}
    for index, item in enumerate((body.get("_embedded") or {}).get(embedded) or []):
        if not isinstance(item, Mapping) or item.get("id") is None:
            continue
        key = item.get("request_id")
        if isinstance(key, list):  # /leads/complex answers request_id as an array
            key = key[0] if key else None
        key = str(key) if key is not None else (request_ids[index] if index < len(request_ids)
                                                else None)
        if key in request_ids:
            done[key] = int(item["id"])
    return done


def _attribute(validation: Mapping[str, tuple[FieldError, ...]], request_ids: Sequence[str]
               ) -> dict[str, tuple[FieldError, ...]]:
    """Map validation entries to our request_ids; an ordinal or unknown key is resolved."""
    bad: dict[str, tuple[FieldError, ...]] = {}
    for key, errors in validation.items():
        if key in request_ids:
            target = [key]
        elif key.isdigit() and int(key) < len(request_ids):
            target = [request_ids[int(key)]]
        else:
            target = list(request_ids)  # cannot tell which item: the whole chunk failed
        for request_id in target:
            bad[request_id] = bad.get(request_id, ()) + errors
    return bad
