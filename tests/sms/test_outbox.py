"""The outbox: gates at queue and send time, typed provider errors, channels, failover, and the
state machine."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from amo_bridge.ledger.changes import TaskCompleted
from amo_bridge.models import AuditLog, Contact, SmsChannel, SmsMessage, SmsStatus, Task
from jobs import sms as sms_jobs
from jobs.queue import enqueue_after_commit
from sms import gateway as port
from sms.fake import AcceptThenRaise, FailBefore, FakeGateway
from sms.outbox import Draft, queue_message
from sms.registry import GatewaySet
from sms.states import TRANSITIONS, IllegalTransition, move
from tests.sms import factory
from tests.sms.conftest import NOW


def queue(runtime, *, key: str = "k1", phones=(("+79161234567", "MOB"),), template="reminder",
          send: bool = True, **contact_extra) -> int:
    with runtime.session() as s:
        account = s.scalar(select(factory.Account)) or factory.account(s)
        if s.scalar(select(factory.User)) is None:
            factory.user(s, account)
        contact = factory.contact(s, account, amocrm_id=abs(hash(key)) % 10**8, phones=phones,
                                  **contact_extra)
        policy = factory.policy(s, account, contact, ends_on=NOW.date() + timedelta(days=30),
                                key=f"p-{key}")
        queued = queue_message(s, Draft(account_id=account.id, rule="manual", key=key,
                                        template_code=template, contact_id=contact.id,
                                        policy_id=policy.id,
                                        manager_amocrm_id=factory.MANAGER), clock=runtime.clock)
        if send and queued.message.status == SmsStatus.QUEUED:
            enqueue_after_commit(s, "jobs.sms.send_message", queued.message.id)
        return queued.message.id


def message(runtime, message_id: int) -> SmsMessage:
    with runtime.session() as s:
        return s.get(SmsMessage, message_id)


@pytest.mark.parametrize(("phones", "reason"), [
    ((), "нет номера"),
    ((("12345", "MOB"),), "недействителен"),
    ((("+74951234567", "WORK"),), "не мобильный"),
    ((("+77011234567", "MOB"),), "KZ"),
])
def test_unfit_numbers_are_visible_rejections(runtime, fake, phones, reason):
    message_id = queue(runtime, phones=phones)
    row = message(runtime, message_id)
    assert row.status == "rejected" and reason in row.reason and fake.sent == []


def test_a_mobile_is_preferred_over_a_landline(runtime, fake):
    queue(runtime, phones=(("+74957654321", "HOME"), ("+79265550102", "MOB")))
    assert fake.phones() == ["+79265550102"]


def test_opt_out_is_honoured_at_queue_and_at_send_time(runtime, fake, clock):
    message_id = queue(runtime, key="a", opted_out_at=NOW)
    assert message(runtime, message_id).status == "rejected"
    clock.set(NOW.replace(hour=19))  # 22:00 Moscow: queued for the morning
    waiting = queue(runtime, key="b", phones=(("+79031112233", "MOB"),))
    assert message(runtime, waiting).status == "queued"
    with runtime.session() as s:
        s.get(Contact, message(runtime, waiting).contact_id).opted_out_at = clock.now()
    clock.set(NOW + timedelta(days=1))
    sms_jobs.dispatch_due()
    row = message(runtime, waiting)
    assert row.status == "rejected" and "отказался" in row.reason and fake.sent == []


def test_a_number_the_provider_calls_invalid_is_suppressed(runtime, fake):
    fake.script.append(FailBefore(port.NumberError("Неправильно указан номер", code="202")))
    first = queue(runtime, key="a")
    assert message(runtime, first).status == "failed"
    second = queue(runtime, key="b")  # same phone
    row = message(runtime, second)
    assert row.status == "rejected" and "стоп-листе" in row.reason and fake.calls == 1


def test_a_message_error_fails_only_that_message(runtime, fake):
    fake.script.append(FailBefore(port.MessageError("Сообщение слишком длинное", code="205")))
    assert message(runtime, queue(runtime, key="a")).status == "failed"
    assert message(runtime, queue(runtime, key="b")).status == "sent"


def test_an_account_error_pauses_the_channel_alerts_and_messages_wait(runtime, fake, clock):
    fake.script.append(FailBefore(port.AccountError("Не хватает средств", code="201")))
    first = queue(runtime, key="a")
    row = message(runtime, first)
    assert row.status == "queued" and "приостановлен" in row.reason
    second = queue(runtime, key="b", phones=(("+79031112233", "MOB"),))
    assert message(runtime, second).status == "queued" and fake.calls == 1  # not even tried
    with runtime.session() as s:
        channel = s.scalar(select(SmsChannel))
        assert (channel.gateway, channel.status) == ("fake", "paused")
        assert s.scalar(select(AuditLog.action)) == "sms.channel_paused"
    clock.advance(minutes=31)  # the probe: money is back, the channel reopens by itself
    sms_jobs.dispatch_due()
    assert fake.calls == 3 and len(fake.sent) == 2
    with runtime.session() as s:
        assert s.scalar(select(SmsChannel.status)) == "active"


def test_failover_after_a_definitive_failure(runtime):
    primary, backup = FakeGateway(name="primary"), FakeGateway(name="backup")
    runtime.extras["sms.gateways"] = GatewaySet(primary, backup)
    primary.script.extend([FailBefore(port.AccountError("sender not approved")),
                           FailBefore(port.RetryableError("Сервис временно недоступен"))])
    a, b = queue(runtime, key="a"), queue(runtime, key="b", phones=(("+79031112233", "MOB"),))
    assert [message(runtime, i).gateway for i in (a, b)] == ["backup", "backup"]
    assert primary.calls == 1  # paused after "sender not approved": b went straight to backup
    with runtime.session() as s:
        s.scalar(select(SmsChannel)).status = "active"
    c = queue(runtime, key="c", phones=(("+79857778899", "MOB"),))
    assert message(runtime, c).gateway == "backup" and primary.calls == 2
    assert len(backup.sent) == 3 and primary.sent == []


def test_unknown_outcome_and_number_error_never_fail_over(runtime):
    primary, backup = FakeGateway(name="primary"), FakeGateway(name="backup")
    runtime.extras["sms.gateways"] = GatewaySet(primary, backup)
    primary.script.extend([AcceptThenRaise(port.OutcomeUnknown("read timeout")),
                           FailBefore(port.NumberError("no route"))])
    unknown = queue(runtime, key="a")
    failed = queue(runtime, key="b", phones=(("+79031112233", "MOB"),))
    assert message(runtime, unknown).status == "unknown"
    assert message(runtime, failed).status == "failed"
    assert backup.calls == 0 and len(primary.sent) == 1


def test_retryable_errors_back_off_then_send(runtime, fake, clock):
    fake.script.append(FailBefore(port.RetryableError("Сервис временно недоступен",
                                                      retry_after=300)))
    message_id = queue(runtime)
    row = message(runtime, message_id)
    assert row.status == "queued" and row.not_before == NOW + timedelta(seconds=300)
    clock.advance(seconds=299)
    sms_jobs.dispatch_due()
    assert fake.sent == []
    clock.advance(seconds=2)
    sms_jobs.dispatch_due()
    assert message(runtime, message_id).status == "sent" and message(runtime,
                                                                      message_id).attempts == 2


def test_a_lost_answer_is_resolved_by_asking_never_by_resending(runtime, fake, clock):
    fake.script.append(AcceptThenRaise(port.OutcomeUnknown("read timeout")))
    message_id = queue(runtime)
    assert message(runtime, message_id).status == "unknown" and len(fake.sent) == 1
    sms_jobs.dispatch_due()
    sms_jobs.send_message(message_id)
    assert len(fake.sent) == 1
    clock.advance(minutes=3)
    sms_jobs.poll_statuses()
    row = message(runtime, message_id)
    assert row.status == "sent" and row.provider_message_id == fake.sent[0][0]
    fake.deliver(row.provider_message_id)
    clock.advance(minutes=3)
    sms_jobs.poll_statuses()
    assert message(runtime, message_id).status == "delivered" and len(fake.sent) == 1


def test_a_lost_answer_the_provider_does_not_know_needs_a_person(runtime, fake, clock):
    fake.script.append(FailBefore(port.OutcomeUnknown("connection reset")))
    message_id = queue(runtime)
    clock.advance(minutes=3)
    sms_jobs.poll_statuses()
    row = message(runtime, message_id)
    assert row.status == "needs_attention" and "вручную" in row.reason and fake.sent == []


def test_a_provider_that_cannot_look_up_leaves_it_to_a_person(runtime, fake, clock):
    fake.can_lookup = False
    fake.script.append(AcceptThenRaise(port.OutcomeUnknown("timeout")))
    message_id = queue(runtime)
    clock.advance(minutes=3)
    sms_jobs.poll_statuses()
    assert message(runtime, message_id).status == "needs_attention" and len(fake.sent) == 1


def test_a_stale_message_expires_instead_of_going_out(runtime, fake, clock):
    with runtime.session() as s:
        account = factory.account(s)
        factory.user(s, account)
        contact = factory.contact(s, account)
        queued = queue_message(s, Draft(account_id=account.id, rule="manual", key="x",
                                        template_code="task_completed", contact_id=contact.id,
                                        manager_amocrm_id=factory.MANAGER,
                                        expires_at=NOW + timedelta(hours=1)),
                               clock=runtime.clock)
        message_id = queued.message.id
    runtime.extras["sms.gateways"].primary.script.append(
        FailBefore(port.AccountError("no money")))
    sms_jobs.send_message(message_id)
    clock.advance(hours=2)
    sms_jobs.dispatch_due()
    row = message(runtime, message_id)
    assert row.status == "failed" and "Устарело" in row.reason and fake.sent == []


def test_task_completed_sends_the_configured_template_once(runtime, fake):
    with runtime.session() as s:
        account = factory.account(s)
        factory.rules(s, account, task_completed_templates={"2": "task_completed"})
        factory.user(s, account)
        deal = factory.deal(s, account, factory.contact(s, account))
        meeting = Task(account_id=account.id, amocrm_id=1, task_type_id=2, is_completed=True,
                       completed_at=NOW, responsible_amocrm_id=factory.MANAGER)
        call = Task(account_id=account.id, amocrm_id=2, task_type_id=1, is_completed=True,
                    completed_at=NOW)
        s.add_all([meeting, call])
        s.flush()
        changes = [TaskCompleted(account_id=account.id, task_id=t.id, deal_id=deal.id,
                                 task_type_id=t.task_type_id) for t in (meeting, call, meeting)]
    for change in changes:
        with runtime.session() as s:
            for job in sms_jobs.on_task_completed(s, change):
                enqueue_after_commit(s, job.func, *job.args)
    assert len(fake.sent) == 1 and "спасибо, что выбрали Надёжный полис" in fake.sent[0][1].text


def test_every_state_has_its_transitions_written_down():
    assert set(TRANSITIONS) == set(SmsStatus)
    row = SmsMessage(id=1, status=SmsStatus.DELIVERED)
    with pytest.raises(IllegalTransition):
        move(row, SmsStatus.QUEUED, now=NOW)
    row.status = SmsStatus.UNKNOWN
    with pytest.raises(IllegalTransition):  # an unknown message is never sent again
        move(row, SmsStatus.SENDING, now=NOW)
    move(row, SmsStatus.SENT, now=NOW)
    assert row.status == "sent"
