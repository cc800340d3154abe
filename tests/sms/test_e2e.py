"""End to end over real sockets: the simulator's webhooks reach the bridge, the rule queues an
SMS, the fake provider gets it once, notes appear in the (simulated) amoCRM card in batches of
at most 50, and delivery callbacks come back through the door."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from amo_bridge.accounts import get_section, set_section
from amo_bridge.devstack import local_stack
from amo_bridge.models import (
    Contact,
    Deal,
    OutboundWrite,
    SmsCallback,
    SmsMessage,
    SmsNote,
    SmsVerification,
    User,
)
from amo_bridge.settings import load_settings
from jobs import sms as sms_jobs
from jobs.queue import enqueue_after_commit
from sms.callbacks import callback_path
from sms.fake import FakeGateway
from sms.notes import add_note
from sms.outbox import Draft, queue_message
from sms.registry import GatewaySet
from sms.smsru import SmsRuGateway

SALES, NEW, IN_WORK = 7811001, 61100002, 61100003


@pytest.fixture
def stack(db_url, tmp_path):
    settings = load_settings({"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path),
                              "JOB_MODE": "thread", "SECRET_KEY": "e2e-secret"})
    with local_stack(settings) as running:
        fake = FakeGateway()
        running.runtime.extras["sms.gateways"] = GatewaySet(fake, SmsRuGateway(api_id="x"))
        running.fake = fake
        with running.runtime.session() as session:
            set_section(session, running.account_id, "sms_rules", {
                **get_section(session, running.account_id, "sms_rules"),
                "first_contact_statuses": [[SALES, NEW]], "company_name": "Надёжный полис"})
            # no quiet hours: the test must not depend on the time of day it runs at
            set_section(session, running.account_id, "sms", {
                **get_section(session, running.account_id, "sms"),
                "quiet_hours_start": "00:00", "quiet_hours_end": "00:00"})
            manager = session.scalar(select(User).where(User.amocrm_id == 8011002))
            manager.profile_name, manager.profile_phone = "Дмитрий", "+79991234567"
        yield running


def _lead(stack) -> int:
    contact = stack.sim("POST", "/contacts", [{
        "name": "Смирнова Анна Петровна", "first_name": "Анна", "last_name": "Смирнова",
        "custom_fields_values": [{"field_code": "PHONE", "values": [
            {"value": "+7 916 123-45-67", "enum_code": "MOB"}]}]}])["ids"][0]
    lead = stack.sim("POST", "/leads", [{
        "name": "КАСКО", "pipeline_id": SALES, "status_id": NEW, "responsible_user_id": 8011002,
        "_embedded": {"contacts": [{"id": contact, "is_main": True}]}}])["ids"][0]
    stack.deliver()
    return lead


def test_the_same_webhook_three_times_sends_one_sms_and_one_note(stack):
    lead = _lead(stack)
    stack.sim("PATCH", f"/leads/{lead}", {"status_id": IN_WORK})
    delivered = stack.http.post(f"{stack.sim_url}/_sim/webhooks/flush", timeout=30).json()
    stack.wait()
    bodies = [d["body"] for d in delivered if "status" in d["body"]]
    for body in bodies * 2:  # amoCRM redelivers the same hook twice more
        stack.http.post(stack.webhook_url, data=body.encode(), timeout=10, headers={
            "Content-Type": "application/x-www-form-urlencoded"}).raise_for_status()
        stack.wait()
    assert len(stack.fake.sent) == 1
    assert stack.fake.sent[0][1].text.startswith("Анна Петровна, здравствуйте!")
    assert sms_jobs.write_notes(stack.account_id) == 1
    notes = [n for n in stack.client().notes("leads", entity_ids=[lead])
             if "SMS клиенту" in n.params.get("text", "")]
    assert len(notes) == 1 and "Дмитрий" in notes[0].params["text"]


def test_notes_go_out_in_batches_of_at_most_fifty(stack):
    lead = _lead(stack)
    now = datetime.now(UTC)
    with stack.runtime.session() as session:
        deal = session.scalar(select(Deal).where(Deal.amocrm_id == lead))
        for n in range(120):
            queued = queue_message(session, Draft(
                account_id=stack.account_id, rule="manual", key=f"bulk-{n}",
                template_code="task_completed", contact_id=deal.contact_id, deal_id=deal.id,
                manager_amocrm_id=8011002), clock=stack.runtime.clock)
            queued.message.status, queued.message.sent_at = "sent", now
            add_note(session, queued.message, "sent", lang="ru", now=now)
    stack.sim("POST", "/stats/reset")
    assert sms_jobs.write_notes(stack.account_id) == 120
    stats = stack.sim("GET", "/stats")
    posts = {k: v for k, v in stats["endpoints"].items() if "notes" in k}
    assert sum(posts.values()) == 3, posts  # 50 + 50 + 20
    with stack.runtime.session() as session:
        assert {n.status for n in session.scalars(select(SmsNote))} == {"written"}


def test_delivery_callbacks_through_the_door_are_idempotent(stack):
    lead = _lead(stack)
    with stack.runtime.session() as session:
        deal = session.scalar(select(Deal).where(Deal.amocrm_id == lead))
        message = queue_message(session, Draft(
            account_id=stack.account_id, rule="manual", key="cb", template_code="task_completed",
            contact_id=deal.contact_id, deal_id=deal.id, manager_amocrm_id=8011002),
            clock=stack.runtime.clock).message
        message.status, message.gateway = "sent", "smsru"
        message.provider_message_id, message.sent_at = "000000-10000000", datetime.now(UTC)
        message_id = message.id
    url = stack.bridge.url + callback_path(b"e2e-secret", "smsru")
    body = urlencode({"data[0]": "sms_status\n000000-10000000\n103\n1700000000"})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answers = [stack.http.post(url, data=body, headers=headers, timeout=10) for _ in range(3)]
    stack.wait()
    assert [(a.status_code, a.text) for a in answers] == [(200, "100")] * 3
    with stack.runtime.session() as session:
        row = session.get(SmsMessage, message_id)
        assert row.status == "delivered" and row.delivered_at is not None
        kinds = session.scalars(select(SmsNote.kind).where(SmsNote.message_id == message_id))
        assert list(kinds) == ["final"]
        statuses = sorted(session.scalars(select(SmsCallback.status)))
        assert statuses == ["done", "duplicate", "duplicate"]
    wrong = stack.http.post(url.rsplit("/", 1)[0] + "/" + "0" * 32, data=body,
                            headers=headers, timeout=10)
    assert wrong.status_code == 404


def test_a_confirmed_phone_is_marked_in_amocrm(stack):
    lead = _lead(stack)
    from sms import verification

    with stack.runtime.session() as session:
        contact = session.scalar(select(Contact).join(Deal, Deal.contact_id == Contact.id)
                                 .where(Deal.amocrm_id == lead))
        row, queued = verification.start(session, stack.account_id, contact.id,
                                         secret=sms_jobs.secret_for(stack.runtime),
                                         clock=stack.runtime.clock)
        enqueue_after_commit(session, "jobs.sms.send_message", queued.message.id)
        verification_id, contact_amocrm_id = row.id, contact.amocrm_id
    stack.wait()
    code = stack.fake.sent[-1][1].text.split(": ")[1][:6]
    with stack.runtime.session() as session:
        assert verification.confirm(session, stack.account_id, verification_id, code,
                                    secret=sms_jobs.secret_for(stack.runtime),
                                    clock=stack.runtime.clock).ok
    assert sms_jobs.sync_verification(verification_id) == "synced"
    sms_jobs.write_notes(stack.account_id)
    with stack.runtime.session() as session:  # what the bridge wrote (and recorded as its own)
        write = session.scalar(select(OutboundWrite).where(
            OutboundWrite.entity_type == "contacts", OutboundWrite.entity_id == contact_amocrm_id))
        assert write.fields["tags_to_add"] == [{"name": "телефон подтверждён"}]
        assert session.get(SmsVerification, verification_id).synced_at is not None
    notes = stack.client().notes("contacts", entity_ids=[contact_amocrm_id])
    texts = [n.params.get("text", "") for n in notes]
    assert any("подтверждён кодом" in t for t in texts) and not any(code in t for t in texts)
