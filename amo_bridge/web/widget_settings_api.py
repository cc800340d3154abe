"""The settings sections no other capability owns: field mapping (amoCRM fields → ledger), the
cancelled stages, amoCRM's own field and pipeline lists for those editors, and the inbox of
rejected webhooks. Admins only; every change goes to the audit log.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import func, select

from amo_bridge.accounts import get_section, set_section
from amo_bridge.amocrm.errors import AmoError
from amo_bridge.connections import client_for_account
from amo_bridge.models import Account, AccountSetting, InboxEvent, InboxStatus, Role
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.money_common import (
    ApiProblem,
    audit,
    identity,
    iso,
    load_body,
    load_query,
    runtime,
)
from amo_bridge.web.money_schemas import LangQuery
from amo_bridge.web.widget_schemas import (
    LEDGER_FIELDS,
    CancellationSchema,
    FieldMappingSchema,
    InboxQuery,
)
from jobs.queue import enqueue_after_commit

bp = Blueprint("widget_settings_api", __name__)
ADMIN = Role.ADMIN.value
#: Settings sections edited here, with their schema.
SECTIONS = {"field-mapping": ("field_mapping", FieldMappingSchema),
            "cancellation": ("cancellation", CancellationSchema)}
BODY_PREVIEW = 600


def _meta(session, section: str) -> dict[str, Any]:
    row = session.scalar(select(AccountSetting).where(
        AccountSetting.account_id == identity().account_id, AccountSetting.section == section))
    if row is None:
        return {"version": 0, "updated_at": None, "updated_by": None}
    return {"version": row.version, "updated_at": iso(row.updated_at),
            "updated_by": row.updated_by}


def _clean(section: str, value: dict[str, Any]) -> dict[str, Any]:
    """Only what the schema knows, defaults filled: what the page edits is what is stored."""
    return SECTIONS[section][1]().load(_known(section, value))


def _known(section: str, value: dict[str, Any]) -> dict[str, Any]:
    schema = SECTIONS[section][1]()
    known = {k: v for k, v in (value or {}).items() if k in schema.fields}
    if section == "field-mapping":
        known["policy"] = {k: v for k, v in (known.get("policy") or {}).items()
                           if k in LEDGER_FIELDS}
        for role in ("seller", "issuer"):
            rule = dict(known.get(role) or {"rule": "responsible_at_win"})
            known[role] = {k: v for k, v in rule.items() if not k.startswith("_")}
    return known


def _get_section(section: str):
    load_query(LangQuery())
    name = SECTIONS[section][0]
    with runtime().db.read_session() as session:
        value = _clean(section, get_section(session, identity().account_id, name))
        body: dict[str, Any] = {"value": value, **_meta(session, name)}
    if section == "field-mapping":
        body["ledger_fields"] = list(LEDGER_FIELDS)
    return jsonify(body)


def _put_section(section: str):
    name, schema = SECTIONS[section]
    value = load_body(schema())
    with runtime().session() as session:
        before = get_section(session, identity().account_id, name)
        row = set_section(session, identity().account_id, name, value,
                          by=identity().amocrm_user_id)
        audit(session, f"settings.{name}", target=f"settings:{name}", before=before,
              after=value)
        body = {"value": value, "version": row.version, "updated_at": iso(row.updated_at),
                "updated_by": row.updated_by}
    return jsonify(body)


@bp.get("/settings/field-mapping")
@widget_auth(ADMIN)
def get_field_mapping():
    """Which amoCRM lead fields fill which ledger field; how seller and issuer are found."""
    return _get_section("field-mapping")


@bp.put("/settings/field-mapping")
@widget_auth(ADMIN)
def put_field_mapping():
    """Replace the field mapping; the mirror uses it from the next webhook on."""
    return _put_section("field-mapping")


@bp.get("/settings/cancellation")
@widget_auth(ADMIN)
def get_cancellation():
    """The stages that cancel a deal's policies, and the fields with the date and refund."""
    return _get_section("cancellation")


@bp.put("/settings/cancellation")
@widget_auth(ADMIN)
def put_cancellation():
    """Replace the cancellation settings."""
    return _put_section("cancellation")


@bp.get("/amocrm/lead-fields")
@widget_auth(ADMIN)
def amocrm_lead_fields():
    """amoCRM's lead fields and pipelines, read live: the mapping and stage editors list them."""
    load_query(LangQuery())
    with runtime().db.read_session() as session:
        account = session.get(Account, identity().account_id)
    client = client_for_account(runtime().db, account, runtime().settings,
                                redis=runtime().redis, clock=runtime().clock)
    try:
        found = client.custom_fields("leads")
        pipelines = client.pipelines()
    except AmoError as exc:
        raise ApiProblem(502, "widget.amocrm_unavailable", reason=type(exc).__name__) from None
    return jsonify(
        fields=[{"id": f.id, "name": f.name, "code": f.code, "type": f.type,
                 "enums": [{"id": e.id, "value": e.value} for e in f.enums]} for f in found],
        pipelines=[{"id": p.id, "name": p.name, "statuses": [
            {"id": s.id, "name": s.name} for s in p.statuses]} for p in pipelines],
    )


# --- the inbox of webhooks ----------------------------------------------------------------------


def _event(row: InboxEvent) -> dict[str, Any]:
    body = bytes(row.body or b"")
    return {"id": row.id, "source": row.source, "status": row.status, "reason": row.reason,
            "received_at": iso(row.received_at), "processed_at": iso(row.processed_at),
            "attempts": row.attempts, "content_type": row.content_type,
            "size_bytes": len(body),
            "body_preview": body[:BODY_PREVIEW].decode("utf-8", errors="replace")}


@bp.get("/inbox")
@widget_auth(ADMIN)
def inbox():
    """Stored webhooks of one status (rejected by default: those amoCRM sent that the bridge
    could not read), newest first, with the count of each status."""
    data = load_query(InboxQuery())
    account_id = identity().account_id
    statement = (select(InboxEvent).where(InboxEvent.account_id == account_id,
                                          InboxEvent.status == data["status"])
                 .order_by(InboxEvent.id.desc()).limit(data["limit"]))
    if data["before_id"] is not None:
        statement = statement.where(InboxEvent.id < data["before_id"])
    with runtime().db.read_session() as session:
        rows = session.scalars(statement).all()
        counts = dict(session.execute(
            select(InboxEvent.status, func.count()).where(InboxEvent.account_id == account_id)
            .group_by(InboxEvent.status)).all())
        events = [_event(r) for r in rows]
    return jsonify(events=events, counts={s.value: int(counts.get(s.value, 0))
                                          for s in InboxStatus},
                   next_before_id=events[-1]["id"] if len(events) == data["limit"] else None)


@bp.post("/inbox/<int:event_id>/retry")
@widget_auth(ADMIN)
def retry_event(event_id: int):
    """Process a rejected (or failed) webhook again — after a fix, it may now be read."""
    with runtime().session() as session:
        row = session.get(InboxEvent, event_id)
        if row is None or row.account_id != identity().account_id:
            raise ApiProblem(404, "widget.not_found", what=f"inbox event {event_id}")
        if row.status not in (InboxStatus.REJECTED, InboxStatus.FAILED):
            raise ApiProblem(409, "widget.inbox.not_rejected", id=event_id)
        audit(session, "inbox.retried", target=f"inbox:{event_id}", reason=row.reason)
        row.status = InboxStatus.PENDING
        row.updated_at = runtime().clock.now()
        enqueue_after_commit(session, "jobs.inbox.process_inbox", event_id)
        body = _event(row)
    return jsonify(body), 202
