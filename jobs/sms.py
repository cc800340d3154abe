"""SMS jobs: thin wrappers that take ids, call one domain function, enqueue after commit.

Also the SMS reactions to the mirror's changes (first contact, task completed): the mirror job
must import this module (``import jobs.sms``) so that they are registered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from amo_bridge.connections import client_for_account
from amo_bridge.ledger.changes import (
    DigitalPipelineAction,
    StageMoved,
    TaskCompleted,
    reacts_to,
)
from amo_bridge.models import (
    Account,
    AccountStatus,
    Contact,
    SmsCallback,
    SmsMessage,
    SmsNote,
    SmsStatus,
    SmsVerification,
)
from amo_bridge.models.sms import NoteStatus
from jobs.queue import JobCall, enqueue_after_commit
from jobs.runtime import Runtime, get_runtime
from jobs.sweeper import Sweepable, register
from sms import callbacks, delivery, notes, reminders, rules, sending
from sms.config import load_config
from sms.outbox import Queued
from sms.registry import GatewaySet, build_gateways

log = logging.getLogger(__name__)
UNKNOWN_GRACE = timedelta(minutes=2)  # let the provider index a message before looking for it

register(Sweepable("sms_sending", SmsMessage, ("sending",), "jobs.sms.send_message"))
register(Sweepable("sms_unknown", SmsMessage, ("unknown",), "jobs.sms.resolve_message"))
register(Sweepable("sms_callbacks", SmsCallback, ("pending",), "jobs.sms.process_callback"))


# --- wiring helpers -------------------------------------------------------------------------


def gateways_for(runtime: Runtime) -> GatewaySet:
    """The process's gateways, built once from settings (tests put their own in ``extras``)."""
    gateways = runtime.extras.get("sms.gateways")
    if gateways is None:
        gateways = runtime.extras["sms.gateways"] = build_gateways(runtime.settings)
    return gateways


def secret_for(runtime: Runtime) -> bytes:
    return secret_from(runtime.settings)


def secret_from(settings: Any) -> bytes:
    """SMS_CALLBACK_SECRET, else SECRET_KEY, else the instance secret the app generated."""
    value = settings.sms_callback_secret or settings.secret_key
    if not value:
        path = Path(settings.instance_path) / "secret_key"
        value = path.read_text().strip() if path.exists() else "amo-bridge-development"
    return value.encode()


def callback_url_for(runtime: Runtime) -> Callable[[str], str | None]:
    """Per-message callback URLs (SMS Aero takes one per message; SMS.ru and SMSC take theirs
    from the cabinet — see ``amo-bridge sms callback-url``)."""
    base, secret = runtime.settings.public_url.rstrip("/"), secret_for(runtime)
    return lambda name: (f"{base}{callbacks.callback_path(secret, name)}"
                         if name == "smsaero" else None)


def _after_queue(session, queued: Queued | None, runtime: Runtime) -> list[JobCall]:
    if queued is None or not queued.created:
        return []
    message = queued.message
    if message.status != SmsStatus.QUEUED:
        return [JobCall("jobs.sms.write_notes", (message.account_id,))]
    if message.not_before is None or message.not_before <= runtime.clock.now():
        return [JobCall("jobs.sms.send_message", (message.id,))]
    return []  # waits for the quiet hours to end; the dispatcher picks it up


# --- reactions to the mirror ----------------------------------------------------------------


@reacts_to(StageMoved, name="sms.first_contact")
def on_stage_moved(session, change: StageMoved) -> list[JobCall]:
    runtime = get_runtime()
    return _after_queue(session, rules.first_contact(session, change, clock=runtime.clock),
                        runtime)


@reacts_to(DigitalPipelineAction, name="sms.dp_action")
def on_dp_action(session, change: DigitalPipelineAction) -> list[JobCall]:
    runtime = get_runtime()
    return _after_queue(session, rules.dp_action(session, change, clock=runtime.clock), runtime)


@reacts_to(TaskCompleted, name="sms.task_completed")
def on_task_completed(session, change: TaskCompleted) -> list[JobCall]:
    runtime = get_runtime()
    return _after_queue(session, rules.task_completed(session, change, clock=runtime.clock),
                        runtime)


# --- jobs -----------------------------------------------------------------------------------


def send_message(message_id: int) -> str:
    """Send one message (or, found stuck in ``sending``, settle it by a status query)."""
    runtime = get_runtime()
    result = sending.send_message(
        runtime.db, message_id, gateways=gateways_for(runtime), clock=runtime.clock,
        stale_after=timedelta(seconds=runtime.settings.sweeper_stale_seconds),
        callback_url=callback_url_for(runtime))
    if result.outcome == "stale":
        return resolve_message(message_id)
    return result.outcome


def resolve_message(message_id: int) -> str:
    runtime = get_runtime()
    with runtime.session() as session:
        message = session.get(SmsMessage, message_id)
        if message is None:
            return "missing"
        if message.status == SmsStatus.SENDING:  # swept: the send job decides (and resolves)
            enqueue_after_commit(session, "jobs.sms.send_message", message_id)
            return "sending"
    return delivery.resolve(runtime.db, message_id, gateways=gateways_for(runtime),
                            clock=runtime.clock)


def dispatch_due(limit: int = 1000) -> int:
    """Periodic: enqueue a send for every queued message whose time has come."""
    runtime = get_runtime()
    now = runtime.clock.now()
    with runtime.session() as session:
        ids = session.scalars(select(SmsMessage.id).where(
            SmsMessage.status == SmsStatus.QUEUED, SmsMessage.not_before <= now)
            .order_by(SmsMessage.not_before).limit(limit)).all()
        for message_id in ids:
            enqueue_after_commit(session, "jobs.sms.send_message", message_id)
    return len(ids)


def poll_statuses() -> int:
    """Periodic: ask providers about sent messages and settle unknown ones."""
    runtime = get_runtime()
    gateways = gateways_for(runtime)
    changed = delivery.poll(runtime.db, gateways=gateways, clock=runtime.clock)
    with runtime.session() as session:
        unknown = session.scalars(select(SmsMessage.id).where(
            SmsMessage.status == SmsStatus.UNKNOWN,
            SmsMessage.updated_at < runtime.clock.now() - UNKNOWN_GRACE).limit(200)).all()
    for message_id in unknown:
        delivery.resolve(runtime.db, message_id, gateways=gateways, clock=runtime.clock)
    return changed + len(unknown)


def reminder_scan() -> int:
    """Periodic: queue the reminders due today in every active account."""
    runtime = get_runtime()
    total = 0
    with runtime.session() as session:
        account_ids = session.scalars(select(Account.id).where(
            Account.status == AccountStatus.ACTIVE)).all()
    for account_id in account_ids:
        with runtime.session() as session:
            created = reminders.scan_account(session, session.get(Account, account_id),
                                             clock=runtime.clock)
            for call in {c for q in created for c in _after_queue(session, q, runtime)}:
                enqueue_after_commit(session, call.func, *call.args)
            total += len(created)
    return total


def write_notes(account_id: int) -> int:
    """Write pending notes of one account to amoCRM, ≤ 50 per request (the client chunks)."""
    runtime = get_runtime()
    now = runtime.clock.now()
    with runtime.session() as session:
        account = session.get(Account, account_id)
        claimed = notes.claim_pending(session, account_id, now)
        groups = notes.payloads(claimed)
    if not claimed or account is None:
        return 0
    if account.status != AccountStatus.ACTIVE:  # disconnected or blocked: keep them for later
        with runtime.session() as session:
            notes.record_written(session, {}, {}, runtime.clock.now(), transient={
                f"sms-note-{n.id}": f"account {account.status}" for n in claimed})
        return 0
    client = client_for_account(runtime.db, account, runtime.settings, redis=runtime.redis,
                                clock=runtime.clock)
    written = 0
    for entity_type, items in groups.items():
        result = client.add_notes(entity_type, items)
        refused = {rid: "; ".join(e.detail for e in errs) for rid, errs in result.errors.items()}
        transient = {rid: str(result.failure) for rid in (*result.unsent, *result.unknown)}
        with runtime.session() as session:
            notes.record_written(session, result.ids, refused, runtime.clock.now(),
                                 transient=transient)
        written += len(result.ids)
    return written


def flush_notes() -> int:
    """Periodic: release notes of dead workers, then write every account's pending notes."""
    runtime = get_runtime()
    now = runtime.clock.now()
    with runtime.session() as session:
        notes.release_stale(session, now - timedelta(seconds=runtime.settings
                                                     .sweeper_stale_seconds))
        account_ids = session.scalars(select(SmsNote.account_id).where(
            SmsNote.status == NoteStatus.PENDING).distinct()).all()
        for account_id in account_ids:
            enqueue_after_commit(session, "jobs.sms.write_notes", account_id)
    return len(account_ids)


def process_callback(callback_id: int) -> int:
    runtime = get_runtime()
    with runtime.session() as session:
        row = session.get(SmsCallback, callback_id)
        if row is None:
            return 0
        gateway = gateways_for(runtime).by_name(row.gateway)
        if gateway is None:
            row.status, row.reason = "rejected", "gateway no longer configured"
            return 0
        changed = callbacks.process(session, row, gateway, runtime.clock.now())
        enqueue_after_commit(session, "jobs.sms.write_notes", row.account_id)
        return changed


def sync_verification(verification_id: int) -> str:
    """Mark a confirmed phone in amoCRM: the mapped checkbox field, else a tag (the note goes
    with the other notes)."""
    runtime = get_runtime()
    with runtime.session() as session:
        row = session.get(SmsVerification, verification_id)
        if row is None or row.verified_at is None or row.synced_at is not None:
            return "done"
        account = session.get(Account, row.account_id)
        contact = session.get(Contact, row.contact_id)
        config = load_config(session, account)
    if contact is None or not contact.amocrm_id:
        return "skipped"
    client = client_for_account(runtime.db, account, runtime.settings, redis=runtime.redis,
                                clock=runtime.clock)
    if config.verification_field_id:
        client.update("contacts", [{"id": contact.amocrm_id, "custom_fields_values": [
            {"field_id": config.verification_field_id, "values": [{"value": True}]}]}]
        ).raise_failure()
    else:
        client.add_tags("contacts", [contact.amocrm_id], [config.verification_tag]
                        ).raise_failure()
    with runtime.session() as session:
        session.get(SmsVerification, verification_id).synced_at = runtime.clock.now()
        enqueue_after_commit(session, "jobs.sms.write_notes", account.id)
    return "synced"
