"""First contact (seed 002 part 3): a lead leaves "new lead" → one SMS with the manager's
contacts, once, never for the bridge's own deals; quiet hours in the client's local time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from amo_bridge.ledger.changes import StageMoved
from amo_bridge.models import Deal, SmsMessage, SmsNote, User
from jobs import sms as sms_jobs
from jobs.queue import enqueue_after_commit
from tests.sms import factory
from tests.sms.conftest import NOW


def react(runtime, change, reaction=sms_jobs.on_stage_moved) -> None:
    """What the mirror job does with a change: run the reaction, enqueue its jobs after commit."""
    with runtime.session() as session:
        for call in reaction(session, change) or ():
            enqueue_after_commit(session, call.func, *call.args)


def setup(runtime, **contact_extra):
    with runtime.session() as s:
        account = factory.account(s)
        factory.user(s, account)
        contact = factory.contact(s, account, **contact_extra)
        deal = factory.deal(s, account, contact)
        return account.id, deal.id


def moved(account_id: int, deal_id: int, *, at=NOW, event="ev1", to=factory.IN_WORK,
          frm=factory.NEW_LEAD[1], by_bridge=False) -> StageMoved:
    return StageMoved(account_id=account_id, deal_id=deal_id, event_id=event,
                      from_pipeline_id=factory.NEW_LEAD[0], from_status_id=frm,
                      to_pipeline_id=factory.NEW_LEAD[0], to_status_id=to, changed_at=at,
                      by_bridge=by_bridge)


def messages(runtime) -> list[SmsMessage]:
    with runtime.session() as s:
        return list(s.scalars(select(SmsMessage).order_by(SmsMessage.id)))


def test_leaving_new_lead_sends_the_managers_contacts_once(runtime, fake):
    account_id, deal_id = setup(runtime)
    for _ in range(3):  # the same webhook delivered three times
        react(runtime, moved(account_id, deal_id))
    assert len(fake.sent) == 1
    _, sms = fake.sent[0]
    assert sms.phone == "+79161234567"
    assert sms.text == ("Анна Петровна, здравствуйте! Вашей заявкой занимается Дмитрий, "
                        "Надёжный полис. Телефон для связи: +7 999 123-45-67")
    [message] = messages(runtime)
    assert (message.status, message.rule, message.idempotency_key) == \
        ("sent", "first_contact", f"first_contact:deal:{deal_id}")
    assert (message.segments, message.encoding) == (2, "UCS-2")
    # a later move of the same lead (another event) sends nothing more
    react(runtime, moved(account_id, deal_id, event="ev2", frm=factory.IN_WORK, to=61100004))
    assert len(fake.sent) == 1
    with runtime.session() as s:
        note = s.scalar(select(SmsNote).where(SmsNote.message_id == message.id))
        assert note.kind == "sent" and note.entity_type == "leads" and "Дмитрий" in note.text


def test_no_message_for_echoes_bridge_deals_lost_leads_and_old_moves(runtime, fake):
    account_id, deal_id = setup(runtime)
    react(runtime, moved(account_id, deal_id, by_bridge=True))
    react(runtime, moved(account_id, deal_id, to=143))  # straight to "lost": junk lead
    react(runtime, moved(account_id, deal_id, at=NOW - timedelta(days=3)))  # a replayed move
    react(runtime, moved(account_id, deal_id, frm=factory.IN_WORK, to=61100004))
    with runtime.session() as s:
        s.get(Deal, deal_id).created_by_bridge = True
    react(runtime, moved(account_id, deal_id))  # a renewal deal the bridge created
    assert fake.sent == [] and messages(runtime) == []


def test_missing_manager_phone_waits_visibly_then_goes_out(runtime, fake):
    with runtime.session() as s:
        account = factory.account(s)
        factory.user(s, account, profile_phone=None)
        deal = factory.deal(s, account, factory.contact(s, account))
        account_id, deal_id = account.id, deal.id
    react(runtime, moved(account_id, deal_id))
    [message] = messages(runtime)
    assert message.status == "needs_attention" and fake.sent == []
    assert "Дмитрий Волков" in message.reason and "телефон" in message.reason
    assert message.details["missing"] == ["manager_phone"]
    with runtime.session() as s:  # a "blocked" note tells the manager in the card
        assert s.scalar(select(SmsNote.kind).where(SmsNote.message_id == message.id)) \
            == "blocked"
    from sms.attention import requeue_for_manager

    with runtime.session() as s:
        s.scalar(select(User)).profile_phone = "+79990001122"
        ids = requeue_for_manager(s, account_id, factory.MANAGER, clock=runtime.clock)
        for message_id in ids:
            enqueue_after_commit(s, "jobs.sms.send_message", message_id)
    assert len(fake.sent) == 1 and "+7 999 000-11-22" in fake.sent[0][1].text


def test_quiet_hours_wait_for_the_morning_across_midnight(runtime, fake, clock):
    account_id, deal_id = setup(runtime)
    late = NOW.replace(hour=20, minute=30)  # 23:30 in Moscow
    clock.set(late)
    react(runtime, moved(account_id, deal_id, at=late))
    [message] = messages(runtime)
    assert message.status == "queued" and fake.sent == []
    assert message.not_before == NOW.replace(day=4, hour=6)  # 09:00 Moscow next day
    for hours in (0.5, 3, 8.4):  # 00:00, 02:30 (after midnight), 08:54 — still quiet
        clock.set(late + timedelta(hours=hours))
        sms_jobs.dispatch_due()
        assert fake.sent == []
    clock.set(NOW.replace(day=4, hour=6, minute=1))
    assert sms_jobs.dispatch_due() == 1
    assert len(fake.sent) == 1 and messages(runtime)[0].status == "sent"


def test_quiet_hours_are_the_clients_local_time(runtime, fake, clock):
    # 12:00 in Moscow is 16:00 in Novosibirsk; at 18:30 Moscow it is 22:30 there: wait.
    account_id, deal_id = setup(runtime, city="г. Новосибирск")
    clock.set(NOW.replace(hour=15, minute=30))
    react(runtime, moved(account_id, deal_id, at=clock.now()))
    [message] = messages(runtime)
    assert message.status == "queued" and message.details["zone"] == "Asia/Novosibirsk"
    assert message.not_before == NOW.replace(day=4, hour=2)  # 09:00 Novosibirsk


def test_a_send_job_killed_after_the_provider_accepted_sends_exactly_once(runtime, fake,
                                                                         clock):
    from sms.fake import AcceptThenRaise

    account_id, deal_id = setup(runtime)
    runtime.queue.hold.add("jobs.sms.send_message")  # a worker runs it, not the committer
    react(runtime, moved(account_id, deal_id))
    [call] = [c for c in runtime.queue.held if c.func == "jobs.sms.send_message"]
    runtime.queue.hold.discard("jobs.sms.send_message")
    fake.script.append(AcceptThenRaise(SystemExit("worker killed")))
    with pytest.raises(SystemExit):
        sms_jobs.send_message(*call.args)
    [message] = messages(runtime)
    assert message.status == "sending" and len(fake.sent) == 1
    sms_jobs.send_message(message.id)  # a duplicate wake-up while it may still be in flight
    assert len(fake.sent) == 1 and messages(runtime)[0].status == "sending"
    clock.advance(minutes=10)
    from jobs.sweeper import sweep

    assert sweep().get("sms_sending") == 1  # the sweeper finds it; the job asks the provider
    [message] = messages(runtime)
    assert message.status == "sent" and message.provider_message_id == fake.sent[0][0]
    sms_jobs.dispatch_due()
    sms_jobs.send_message(message.id)
    assert len(fake.sent) == 1
    with runtime.session() as s:
        assert s.scalar(select(func.count()).select_from(SmsMessage)) == 1
