"""Reminders before a policy ends (seed 004), with a moving clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from amo_bridge.models import Account, Contact, Deal, Policy, Renewal, SmsMessage, StageChange
from jobs import sms as sms_jobs
from tests.sms import factory
from tests.sms.conftest import NOW

ENDS = date(2025, 4, 17)  # 45 days after NOW


def setup(runtime, **policy_extra):
    with runtime.session() as s:
        account = factory.account(s)
        factory.user(s, account)
        contact = factory.contact(s, account)
        policy = factory.policy(s, account, contact, ends_on=policy_extra.pop("ends_on", ENDS),
                                **policy_extra)
        return account.id, policy.id


def renewal(runtime, policy_id: int, *, status: str = "created", won: bool = False,
            moved: bool = False) -> None:
    with runtime.session() as s:
        policy_row = s.get(Policy, policy_id)
        deal = Deal(account_id=policy_row.account_id, amocrm_id=39000001, name="Пролонгация",
                    pipeline_id=7811002, status_id=142 if won else 61200002,
                    created_by_bridge=True, won_at=NOW if won else None)
        s.add(deal)
        s.flush()
        s.add(Renewal(account_id=policy_row.account_id, policy_id=policy_id,
                      term_end=policy_row.ends_on, status=status, marker=f"r{policy_id}",
                      amocrm_lead_id=39000001, assignee_amocrm_id=factory.MANAGER))
        if moved:
            s.add(StageChange(account_id=policy_row.account_id, deal_id=deal.id,
                              amocrm_event_id="e-r1", from_status_id=61200002,
                              to_status_id=61200003, changed_at=NOW))


def messages(runtime) -> list[SmsMessage]:
    with runtime.session() as s:
        return list(s.scalars(select(SmsMessage).order_by(SmsMessage.id)))


def at(clock, day: date, hour: int = 9) -> None:
    clock.set(datetime.combine(day, datetime.min.time(), tzinfo=NOW.tzinfo)
              + timedelta(hours=hour))  # 12:00 Moscow


def test_kasko_45_days_then_the_last_reminder_at_5(runtime, fake, clock):
    setup(runtime, number="ХХХ 0123456789")
    assert sms_jobs.reminder_scan() == 1
    assert sms_jobs.reminder_scan() == 0  # a re-run changes nothing
    assert fake.sent[0][1].text == (
        "Анна Петровна, ваш полис КАСКО № ХХХ 0123456789 заканчивается 17.04.2025. "
        "Продлить его вы можете у своего менеджера: Дмитрий, +7 999 123-45-67")
    at(clock, ENDS - timedelta(days=30))
    assert sms_jobs.reminder_scan() == 0  # 30 days is not a КАСКО step
    at(clock, ENDS - timedelta(days=5))
    assert sms_jobs.reminder_scan() == 1
    assert [m.template_code for m in messages(runtime)] == ["reminder", "reminder_last"]
    assert "позвоните своему менеджеру" in fake.sent[1][1].text
    assert messages(runtime)[1].idempotency_key.endswith(":2025-04-17:5")


def test_the_last_reminder_is_suppressed_when_the_renewal_was_won(runtime, fake, clock):
    _, policy_id = setup(runtime)
    at(clock, ENDS - timedelta(days=5))
    renewal(runtime, policy_id, won=True)
    assert sms_jobs.reminder_scan() == 0
    assert fake.sent == [] and messages(runtime) == []


@pytest.mark.parametrize("status", ["renewed", "not_renewed", "cancelled"])
def test_no_reminder_once_the_renewal_is_closed(runtime, fake, status):
    _, policy_id = setup(runtime)
    renewal(runtime, policy_id, status=status)
    assert sms_jobs.reminder_scan() == 0 and fake.sent == []


def test_no_reminder_for_a_renewed_or_cancelled_policy(runtime, fake):
    _, policy_id = setup(runtime)
    with runtime.session() as s:
        policy = s.get(Policy, policy_id)
        policy.cancelled_on = NOW.date()
    assert sms_jobs.reminder_scan() == 0 and fake.sent == []


def test_the_last_step_waits_while_the_renewal_is_in_progress(runtime, fake, clock):
    _, policy_id = setup(runtime)
    renewal(runtime, policy_id, moved=True)
    assert sms_jobs.reminder_scan() == 1  # 45 days: no condition on this step
    at(clock, ENDS - timedelta(days=5))
    assert sms_jobs.reminder_scan() == 0  # «при условии отсутствия проекта»
    assert len(fake.sent) == 1


def test_a_queued_reminder_is_dropped_if_the_renewal_is_won_before_morning(runtime, fake,
                                                                          clock):
    _, policy_id = setup(runtime)
    at(clock, ENDS - timedelta(days=5), hour=19)  # 22:00 Moscow: waits for 09:00
    assert sms_jobs.reminder_scan() == 1 and fake.sent == []
    renewal(runtime, policy_id, won=True)
    at(clock, ENDS - timedelta(days=4), hour=7)
    sms_jobs.dispatch_due()
    [message] = messages(runtime)
    assert message.status == "rejected" and "продлён" in message.reason and fake.sent == []


def test_a_missed_scan_still_sends_the_latest_due_step_within_grace(runtime, fake, clock):
    setup(runtime, product="mortgage")
    at(clock, ENDS - timedelta(days=28))  # 45 and 30 were missed; 30 is 2 days late
    assert sms_jobs.reminder_scan() == 1
    [message] = messages(runtime)
    assert message.idempotency_key.endswith(":30")
    assert "ипотечного страхования" in message.text
    at(clock, ENDS - timedelta(days=20))  # 30 is now 10 days late: nothing more
    assert sms_jobs.reminder_scan() == 0


def test_defaults_follow_the_seed_schedule(runtime, fake, clock):
    with runtime.session() as s:
        account = factory.account(s)
        factory.user(s, account)
        contact = factory.contact(s, account)
        for product, days in (("osago", 30), ("ifl", 30), ("mortgage", 45), ("dms", 30)):
            factory.policy(s, account, contact, product=product,
                           ends_on=NOW.date() + timedelta(days=days))
    sms_jobs.reminder_scan()
    assert sorted(m.idempotency_key.split(":")[-1] + ":" + m.text.split(" заканч")[0]
                  .split("ваш полис ")[1] for m in messages(runtime)) == [
        "30:ОСАГО", "30:страхования имущества", "45:ипотечного страхования"]  # no ДМС step


def test_foreign_policies_need_the_switch_and_consent(runtime, fake, clock):
    account_id, _ = setup(runtime, kind="foreign")
    assert sms_jobs.reminder_scan() == 0  # off by default
    with runtime.session() as s:
        account = s.get(Account, account_id)
        factory.section(s, account, "reminders", foreign_policies=True)
    assert sms_jobs.reminder_scan() == 1
    [message] = messages(runtime)
    assert (message.status, message.kind) == ("rejected", "marketing")
    assert "согласия" in message.reason and fake.sent == []


def test_foreign_reminder_goes_out_with_consent(runtime, fake, clock):
    account_id, _ = setup(runtime, kind="foreign")
    with runtime.session() as s:
        factory.section(s, s.get(Account, account_id), "reminders", foreign_policies=True)
        s.scalar(select(Contact)).marketing_consent_at = NOW - timedelta(days=100)
    assert sms_jobs.reminder_scan() == 1
    assert "(Ингосстрах)" in fake.sent[0][1].text and "Надёжный полис" in fake.sent[0][1].text
