"""The mirror: webhook events (or a reconcile poll) → batched API re-reads → ledger upserts.

Webhook bodies are only a hint of *what* changed; the current state is always re-read through
the API (AMOCRM.md: no signature, re-read rather than trust the body), in batches — one request
per up to 250 leads, never one per entity — and stage history comes from the events list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.accounts import get_section, products_for, set_section
from amo_bridge.amocrm.client import AmoClient
from amo_bridge.amocrm.entities import Company, Event, Lead
from amo_bridge.amocrm.entities import Contact as AmoContact
from amo_bridge.amocrm.entities import Task as AmoTask
from amo_bridge.amocrm.webhook_dispatch import Disposition, EventKind, classify_event
from amo_bridge.amocrm.webhook_types import DigitalPipelineFields, WebhookEvent
from amo_bridge.clock import Clock
from amo_bridge.ledger.changes import Change, DigitalPipelineAction
from amo_bridge.ledger.event_reads import EventReads, dated_events_reader
from amo_bridge.ledger.policies import PolicySkipped, policy_from_deal
from amo_bridge.ledger.stages import (
    RESPONSIBLE_EVENT,
    STATUS_EVENT,
    assign_participants,
    record_stage_events,
)
from amo_bridge.ledger.upsert import (
    WON,
    from_unix,
    mark_leads_deleted,
    upsert_companies,
    upsert_contacts,
    upsert_leads,
    upsert_tasks,
)
from amo_bridge.models import Account, AuditLog, Deal, OutboundWrite, SyncState

#: Stage events are read for the window the batch's own timestamps span, widened below by this
#: much (an earlier move whose hook is late or lost; the reconcile poll covers anything older)…
EVENT_MARGIN = timedelta(seconds=30)
#: …and above by this much only: a lead re-read now has had no change after its ``updated_at``,
#: and amoCRM stamps the event and ``updated_at`` at the same moment, give or take. A later move
#: sends its own hook, and a later batch reads it.
EVENT_MARGIN_AFTER = timedelta(seconds=5)
PIPELINES_TTL = timedelta(hours=1)


@dataclass
class Wanted:
    """The entity ids one batch of events asks the mirror to look at."""

    leads: set[int] = field(default_factory=set)
    deleted_leads: set[int] = field(default_factory=set)
    contacts: set[int] = field(default_factory=set)
    companies: set[int] = field(default_factory=set)
    tasks: set[int] = field(default_factory=set)
    stamps: list[datetime] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    #: Digital Pipeline widget actions: (lead id, pipeline id, status id, widget settings).
    dp_actions: list[tuple[int, int | None, int | None, dict]] = field(default_factory=list)

    def add(self, events: Iterable[WebhookEvent]) -> None:
        for event in events:
            verdict = classify_event(event)
            if verdict.disposition is Disposition.UNSUPPORTED:
                self.unsupported.append(f"{event.entity}[{event.action}]: {verdict.reason}")
                continue
            if verdict.disposition is Disposition.IGNORED or event.entity_id is None:
                continue
            kind = verdict.kind
            stamp = getattr(event.payload, "updated_at", None) or getattr(
                event.payload, "last_modified", None)
            if isinstance(stamp, datetime):
                self.stamps.append(stamp)
            if isinstance(event.payload, DigitalPipelineFields) and event.entity == "lead":
                self.dp_actions.append((event.entity_id, event.payload.pipeline_id,
                                        event.payload.status_id,
                                        dict(event.payload.widget_settings or {})))
            if kind is EventKind.LEAD_DELETED:
                self.deleted_leads.add(event.entity_id)
            elif event.entity == "lead":
                self.leads.add(event.entity_id)
            elif event.entity == "contact":
                self.contacts.add(event.entity_id)
            elif event.entity == "company":
                self.companies.add(event.entity_id)
            elif event.entity == "task":
                self.tasks.add(event.entity_id)
        self.leads -= self.deleted_leads


@dataclass
class MirrorResult:
    changes: list[Change] = field(default_factory=list)
    skipped: list[PolicySkipped] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


@dataclass
class Fetched:
    """Everything one mirror run needs from amoCRM, read before any database write."""

    leads: list[Lead] = field(default_factory=list)
    contacts: list[AmoContact] = field(default_factory=list)
    companies: list[Company] = field(default_factory=list)
    tasks: list[AmoTask] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    status_names: dict[int, str] | None = None


def fetch(client: AmoClient, wanted: Wanted, *, status_names: dict[int, str] | None = None,
          reads: EventReads | None = None, now: datetime | None = None,
          stored_before: datetime | None = None,
          settle: Callable[[float], None] | None = None) -> Fetched:
    """The API half of the mirror: batched re-reads, no database access at all.

    Remote calls never run inside a database transaction (a slow amoCRM must not hold locks,
    and SQLite would deadlock on the bridge's own bookkeeping writes). With ``reads`` (and
    ``now``, and when the batch's newest hook was stored), the events window is taken from
    earlier reads where they can serve it (see :mod:`amo_bridge.ledger.event_reads`); with
    ``settle`` (a sleep), a burst is read once it has settled there.
    """
    got = Fetched(status_names=status_names)
    got.leads = list(client.leads(ids=wanted.leads)) if wanted.leads else []
    contact_ids = set(wanted.contacts) | {c.id for lead in got.leads for c in lead.contacts}
    company_ids = set(wanted.companies) | {i for lead in got.leads for i in lead.company_ids}
    got.companies = list(client.companies(ids=company_ids)) if company_ids else []
    got.contacts = list(client.contacts(ids=contact_ids)) if contact_ids else []
    stamps = wanted.stamps + [s for lead in got.leads if (s := from_unix(lead.updated_at))]
    if got.leads and stamps:
        read = dated_events_reader(client, types=[STATUS_EVENT, RESPONSIBLE_EVENT],
                                   entity="lead", settle=settle)
        start = int((min(stamps) - EVENT_MARGIN).timestamp())
        end = int((max(stamps) + EVENT_MARGIN_AFTER).timestamp())
        got.events = read(start, end)[0] if reads is None or now is None else reads.window(
            client.base_url, start, end, now=now, stored_before=stored_before, read=read)
    if got.status_names is None and any(lead.status_id == WON for lead in got.leads):
        got.status_names = {s.id: s.name for p in client.pipelines() for s in p.statuses}
    got.tasks = list(client.tasks(ids=wanted.tasks)) if wanted.tasks else []
    return got


def apply(session: Session, account: Account, wanted: Wanted, got: Fetched, *, clock: Clock
          ) -> MirrorResult:
    """The database half of the mirror: upserts, stage history, policies. No remote calls."""
    result = MirrorResult(unsupported=list(wanted.unsupported))
    if got.companies:
        upsert_companies(session, account, got.companies)
    if got.contacts:
        result.changes += upsert_contacts(
            session, account, got.contacts,
            by_bridge=_bridge_created(session, account, "contacts", (c.id for c in got.contacts)))
    deals, changes = upsert_leads(
        session, account, got.leads,
        by_bridge=_bridge_created(session, account, "leads", {lead.id for lead in got.leads}))
    result.changes += changes
    result.changes += mark_leads_deleted(session, account, wanted.deleted_leads)
    for lead_id, pipeline_id, status_id, widget_settings in wanted.dp_actions:
        if lead_id in deals:
            result.changes.append(DigitalPipelineAction(
                account_id=account.id, deal_id=deals[lead_id].id, pipeline_id=pipeline_id,
                status_id=status_id, settings=widget_settings))
    if got.events:
        result.changes += record_stage_events(session, account, got.events,
                                              _deals_for_events(session, account, deals,
                                                                got.events))
    if got.status_names is not None:
        _cache_status_names(session, account, got.status_names, clock=clock)
    _after_stages(session, account, deals.values(), result, names=got.status_names or {},
                  clock=clock)
    if got.tasks:
        result.changes += upsert_tasks(
            session, account, got.tasks,
            by_bridge=_bridge_created(session, account, "tasks", (t.id for t in got.tasks)))
    _log_problems(session, account, result, clock=clock)
    return result


def _deals_for_events(session: Session, account: Account, deals: dict[int, Deal],
                      events: list[Event]) -> dict[int, Deal]:
    """Events in the window may concern other known deals too: their history is welcome.

    Looked up in one query per 500 leads: in a burst the window holds thousands of other leads'
    events, and a query per lead cost more than the whole batch.
    """
    known = dict(deals)
    others = sorted({e.entity_id for e in events if e.entity_id is not None} - known.keys())
    for start in range(0, len(others), 500):
        known.update((deal.amocrm_id, deal) for deal in session.scalars(select(Deal).where(
            Deal.account_id == account.id, Deal.amocrm_id.in_(others[start:start + 500]))))
    return known


def _after_stages(session: Session, account: Account, deals: Iterable[Deal],
                  result: MirrorResult, *, names: dict[int, str], clock: Clock) -> None:
    deals = list(deals)
    won = [d for d in deals if d.status_id == WON and not d.is_deleted]
    for deal in deals:
        if deal not in won:
            outcome = policy_from_deal(session, account, deal, mapping={}, products=None,
                                       clock=clock)
            if outcome is not None:
                result.changes.append(outcome)
    if not won:
        return
    rules = dict(get_section(session, account.id, "field_mapping"))
    for key in ("seller", "issuer"):
        rules[key] = {**(rules.get(key) or {}), "_status_names": names}
    products = products_for(session, account.id)
    for deal in won:
        assign_participants(session, account, deal, rules)
        outcome = policy_from_deal(session, account, deal, mapping=rules.get("policy", {}),
                                   products=products, clock=clock)
        if isinstance(outcome, PolicySkipped):
            result.skipped.append(outcome)
        elif outcome is not None:
            result.changes.append(outcome)


def cached_status_names(session: Session, account: Account, *, clock: Clock
                        ) -> dict[int, str] | None:
    """Stage names by status id from the account's cache, or None when it is stale."""
    cached = get_section_or_none(session, account.id, "amocrm_pipelines")
    if cached and datetime.fromisoformat(cached["fetched_at"]) > clock.now() - PIPELINES_TTL:
        return {int(k): v for k, v in cached["statuses"].items()}
    return None


def _cache_status_names(session: Session, account: Account, names: dict[int, str], *,
                        clock: Clock) -> None:
    set_section(session, account.id, "amocrm_pipelines", {
        "fetched_at": clock.now().isoformat(),
        "statuses": {str(k): v for k, v in names.items()},
    })


def get_section_or_none(session: Session, account_id: int, section: str):
    try:
        return get_section(session, account_id, section)
    except KeyError:
        return None


def _bridge_created(session: Session, account: Account, entity_type: str, ids: Iterable[int]
                    ) -> set[int]:
    """Which of these entities the bridge itself created: their echoes trigger no rule."""
    ids = list(ids)
    if not ids:
        return set()
    return set(session.scalars(
        select(OutboundWrite.entity_id).where(
            OutboundWrite.account_id == account.id, OutboundWrite.entity_type == entity_type,
            OutboundWrite.action == "create", OutboundWrite.entity_id.in_(ids),
        )
    ))


def _log_problems(session: Session, account: Account, result: MirrorResult, *, clock: Clock
                  ) -> None:
    """Skipped policies and unsupported events are visible to admins in the audit log."""
    now = clock.now()
    for skipped in result.skipped:
        session.add(AuditLog(account_id=account.id, at=now, action="mirror.policy_skipped",
                             target=f"deal:{skipped.deal_id}", details={"reason": skipped.reason}))
    for text in result.unsupported:
        session.add(AuditLog(account_id=account.id, at=now, action="mirror.unsupported_event",
                             details={"event": text}))


# --- reconcile -----------------------------------------------------------------------------


def reconcile_wanted(session: Session, account: Account, *, clock: Clock
                     ) -> tuple[Wanted, datetime]:
    """What a reconcile run must ask for: the window since the watermark (with an overlap)."""
    settings = get_section(session, account.id, "mirror")
    overlap = timedelta(minutes=int(settings.get("reconcile_overlap_minutes", 10)))
    lookback = timedelta(days=int(settings.get("events_lookback_days", 7)))
    now = clock.now()
    since = _watermark(session, account, "reconcile", default=now - lookback) - overlap
    wanted = Wanted()
    wanted.stamps = [since, now]
    return wanted, now


def fetch_updated(client: AmoClient, wanted: Wanted) -> Wanted:
    """Fill a reconcile's wanted ids from amoCRM's ``updated_at`` filters (API only)."""
    since = min(wanted.stamps)
    wanted.leads = {lead.id for lead in client.leads(updated_from=since, with_=())}
    wanted.contacts = {c.id for c in client.contacts(updated_from=since, with_=())}
    wanted.tasks = {t.id for t in client.tasks(updated_from=since)}
    return wanted


def finish_reconcile(session: Session, account: Account, until: datetime) -> None:
    _set_watermark(session, account, "reconcile", until)


def _watermark(session: Session, account: Account, name: str, *, default: datetime) -> datetime:
    row = session.scalar(select(SyncState).where(SyncState.account_id == account.id,
                                                 SyncState.name == name))
    return datetime.fromisoformat(row.value) if row and row.value else default


def _set_watermark(session: Session, account: Account, name: str, value: datetime) -> None:
    row = session.scalar(select(SyncState).where(SyncState.account_id == account.id,
                                                 SyncState.name == name))
    if row is None:
        session.add(SyncState(account_id=account.id, name=name, value=value.isoformat()))
    elif datetime.fromisoformat(row.value or value.isoformat()) <= value:
        row.value = value.isoformat()

