"""Stage history from amoCRM's events list, and the seller/issuer of a deal.

Stage moves are taken from ``lead_status_changed`` events, never from webhook bodies: each event
has its own id, so a move A→B, B→A, A→B gives three rows even though two of its short-form
hooks are byte-identical, and a redelivered or replayed hook adds nothing. Rows are inserted
with ``ON CONFLICT DO NOTHING … RETURNING``, so only the process that actually inserted a move
reports it — changes are emitted exactly once even when two jobs race on the same events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from amo_bridge.amocrm import fields as amo_fields
from amo_bridge.amocrm.entities import Event
from amo_bridge.ledger.changes import Change, DealLost, DealWon, StageMoved
from amo_bridge.ledger.upsert import LOST, WON, from_unix
from amo_bridge.models import Account, Deal, OutboundWrite, StageChange

STATUS_EVENT = "lead_status_changed"
RESPONSIBLE_EVENT = "entity_responsible_changed"
#: How close our recorded write and amoCRM's event must be to call the move our own echo.
ECHO_WINDOW = timedelta(minutes=2)


def _status(values: tuple[Mapping[str, Any], ...]) -> tuple[int | None, int | None]:
    for value in values:
        status = value.get("lead_status") if isinstance(value, Mapping) else None
        if isinstance(status, Mapping):
            return _int(status.get("pipeline_id")), _int(status.get("id"))
    return None, None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _insert_ignore(session: Session):
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(StageChange)


def record_stage_events(
    session: Session, account: Account, events: Iterable[Event], deals: Mapping[int, Deal]
) -> list[Change]:
    """Insert the stage moves of known deals; returns changes for the newly inserted ones."""
    events = list(events)
    handovers = _responsible_timeline(events)
    rows: list[dict[str, Any]] = []
    for event in events:
        if event.type != STATUS_EVENT or event.entity_id not in deals or not event.created_at:
            continue
        deal = deals[event.entity_id]
        from_pipeline, from_status = _status(event.value_before)
        to_pipeline, to_status = _status(event.value_after)
        rows.append({
            "account_id": account.id, "deal_id": deal.id, "amocrm_event_id": event.id,
            "from_pipeline_id": from_pipeline, "from_status_id": from_status,
            "to_pipeline_id": to_pipeline, "to_status_id": to_status,
            "changed_at": from_unix(event.created_at),
            "changed_by_amocrm_id": event.created_by,
            "responsible_amocrm_id": _responsible_at(
                handovers.get(event.entity_id, []), event.created_at,
                default=deal.responsible_amocrm_id),
        })
    if not rows:
        return []
    statement = (
        _insert_ignore(session)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["account_id", "amocrm_event_id"])
        .returning(StageChange.amocrm_event_id)
    )
    inserted = set(session.scalars(statement).all())
    fresh = sorted((r for r in rows if r["amocrm_event_id"] in inserted),
                   key=lambda r: (r["changed_at"], r["amocrm_event_id"]))
    echoes = _bridge_status_writes(session, account, {r["deal_id"] for r in fresh}, deals)
    by_id = {deal.id: deal for deal in deals.values()}
    changes: list[Change] = []
    for row in fresh:
        deal = by_id[row["deal_id"]]
        ours = any(
            status == row["to_status_id"] and abs(at - row["changed_at"]) <= ECHO_WINDOW
            for status, at in echoes.get(deal.amocrm_id, ())
        )
        changes.append(StageMoved(
            account_id=account.id, deal_id=deal.id, event_id=row["amocrm_event_id"],
            from_pipeline_id=row["from_pipeline_id"], from_status_id=row["from_status_id"],
            to_pipeline_id=row["to_pipeline_id"], to_status_id=row["to_status_id"],
            changed_at=row["changed_at"], changed_by_amocrm_id=row["changed_by_amocrm_id"],
            by_bridge=ours or deal.created_by_bridge,
        ))
        if row["to_status_id"] == WON:
            changes.append(DealWon(account_id=account.id, deal_id=deal.id,
                                   won_at=row["changed_at"], by_bridge=ours))
        elif row["to_status_id"] == LOST:
            changes.append(DealLost(account_id=account.id, deal_id=deal.id,
                                    lost_at=row["changed_at"], loss_reason=deal.loss_reason,
                                    by_bridge=ours))
    return changes


Handover = tuple[int, int | None, int | None]  # (when, responsible before, responsible after)


def _responsible_timeline(events: list[Event]) -> dict[int, list[Handover]]:
    """``{lead id: [(when, responsible before, responsible after)]}`` from the events list."""
    timeline: dict[int, list[Handover]] = {}
    for event in events:
        if event.type != RESPONSIBLE_EVENT or event.entity_id is None or not event.created_at:
            continue
        timeline.setdefault(event.entity_id, []).append(
            (event.created_at, _user(event.value_before), _user(event.value_after)))
    for entries in timeline.values():
        entries.sort(key=lambda entry: entry[0])
    return timeline


def _user(values: tuple[Mapping[str, Any], ...]) -> int | None:
    for value in values:
        user = value.get("responsible_user") if isinstance(value, Mapping) else None
        if isinstance(user, Mapping):
            return _int(user.get("id"))
    return None


def _responsible_at(entries: list[Handover], moment: int, *,
                    default: int | None) -> int | None:
    """Who was responsible at ``moment``: a hand-over at the same second counts as done (the
    manager who hands a deal to the issuer moves it to «Оформление» in the same save)."""
    before = [after for when, _, after in entries if when <= moment]
    if before:
        return before[-1]
    later = [previous for when, previous, _ in entries if when > moment]
    return later[0] if later else default


def _bridge_status_writes(
    session: Session, account: Account, deal_ids: set[int], deals: Mapping[int, Deal]
) -> dict[int, list[tuple[int, Any]]]:
    """Status values the bridge itself wrote to these leads: ``{lead id: [(status, when)]}``."""
    lead_ids = [d.amocrm_id for d in deals.values() if d.id in deal_ids]
    if not lead_ids:
        return {}
    writes = session.scalars(
        select(OutboundWrite).where(
            OutboundWrite.account_id == account.id,
            OutboundWrite.entity_type == "leads",
            OutboundWrite.entity_id.in_(lead_ids),
        )
    )
    found: dict[int, list[tuple[int, Any]]] = {}
    for write in writes:
        status = _int((write.fields or {}).get("status_id"))
        if status is not None and write.entity_id is not None:
            found.setdefault(write.entity_id, []).append((status, write.written_at))
    return found


def assign_participants(session: Session, account: Account, deal: Deal, rules: Mapping) -> None:
    """Set the deal's seller and issuer from the account's rules (seed 002: two employees)."""
    deal.seller_amocrm_id = _participant(session, deal, rules.get("seller") or {})
    deal.issuer_amocrm_id = _participant(session, deal, rules.get("issuer") or {})


def _participant(session: Session, deal: Deal, rule: Mapping) -> int | None:
    kind = rule.get("rule", "responsible_at_win")
    if kind == "field" and rule.get("field"):
        value = amo_fields.read_text(_values(deal), str(rule["field"]))
        if value and value.strip().isdigit():
            return int(value)
    if kind == "responsible_at_stage":
        wanted = {amo_fields.normalize_name(s) for s in rule.get("statuses", ())}
        wanted_ids = {int(s) for s in rule.get("status_ids", ())}
        names = rule.get("_status_names", {})
        moves = session.scalars(
            select(StageChange).where(StageChange.deal_id == deal.id)
            .order_by(StageChange.changed_at)
        ).all()
        for move in moves:
            name = amo_fields.normalize_name(names.get(move.to_status_id, ""))
            if move.to_status_id in wanted_ids or (name and name in wanted):
                return move.responsible_amocrm_id
    return deal.responsible_amocrm_id


def _values(deal: Deal) -> tuple:
    from amo_bridge.amocrm.entities import CustomFieldValue

    return tuple(CustomFieldValue.from_api(raw) for raw in deal.custom_fields or ())
