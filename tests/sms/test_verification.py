"""Phone confirmation by SMS code (seed 000): 6 digits, hashed at rest, 5 minutes, 5 attempts,
60 s between codes; success marks the contact verified."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from amo_bridge.models import Contact, SmsMessage, SmsNote, SmsVerification
from jobs.queue import enqueue_after_commit
from sms import verification
from tests.sms import factory

SECRET = b"test-secret"


def start(runtime, contact_id=None, **kwargs):
    with runtime.session() as s:
        if contact_id is None:
            account = factory.account(s)
            factory.user(s, account)
            contact_id = factory.contact(s, account).id
        account_id = s.get(Contact, contact_id).account_id
        row, queued = verification.start(s, account_id, contact_id, secret=SECRET,
                                         clock=runtime.clock, requested_by=factory.MANAGER,
                                         **kwargs)
        enqueue_after_commit(s, "jobs.sms.send_message", queued.message.id)
        return account_id, contact_id, row.id


def confirm(runtime, account_id, verification_id, code):
    with runtime.session() as s:
        return verification.confirm(s, account_id, verification_id, code, secret=SECRET,
                                    clock=runtime.clock)


def sent_code(fake) -> str:
    return re.search(r"\b(\d{6})\b", fake.sent[-1][1].text).group(1)


def test_code_is_sent_at_once_and_never_stored_in_clear(runtime, fake, clock):
    clock.set(clock.now().replace(hour=20))  # 23:00 Moscow: the client is waiting anyway
    account_id, contact_id, vid = start(runtime)
    code = sent_code(fake)
    assert fake.sent[-1][1].text == f"Код подтверждения: {code}. Никому его не сообщайте. " \
                                    "Надёжный полис"
    with runtime.session() as s:
        row = s.get(SmsVerification, vid)
        message = s.get(SmsMessage, row.sms_message_id)
        assert code not in row.code_hash and len(row.code_hash) == 64
        assert code not in message.text and "••••••" in message.text
        assert code not in str(message.details)
        notes = s.scalars(select(SmsNote.text)).all()
        assert notes and all(code not in text for text in notes)


def test_right_code_marks_the_phone_verified(runtime, fake):
    account_id, contact_id, vid = start(runtime)
    assert not confirm(runtime, account_id, vid, "000000" if sent_code(fake) != "000000"
                       else "111111").ok
    result = confirm(runtime, account_id, vid, sent_code(fake))
    assert result.ok
    with runtime.session() as s:
        contact = s.get(Contact, contact_id)
        assert contact.verified_phone == "+79161234567" and contact.phone_verified_at
        assert s.scalar(select(SmsNote.kind).where(SmsNote.kind == "verified")) == "verified"
    assert confirm(runtime, account_id, vid, sent_code(fake)).key == "sms.verify.done"


def test_five_wrong_attempts_lock_the_code_and_each_one_counts(runtime, fake):
    account_id, _, vid = start(runtime)
    wrong = "999999" if sent_code(fake) != "999999" else "888888"
    answers = [confirm(runtime, account_id, vid, wrong) for _ in range(5)]
    assert [a.values.get("left") for a in answers[:4]] == [4, 3, 2, 1]
    assert answers[4].key == "sms.verify.locked"
    assert confirm(runtime, account_id, vid, sent_code(fake)).key == "sms.verify.locked"
    with runtime.session() as s:
        assert s.get(SmsVerification, vid).attempts == 5


def test_the_code_expires_after_five_minutes(runtime, fake, clock):
    account_id, _, vid = start(runtime)
    clock.advance(minutes=5)
    assert confirm(runtime, account_id, vid, sent_code(fake)).key == "sms.verify.expired"


def test_a_new_code_after_sixty_seconds_replaces_the_old_one(runtime, fake, clock):
    account_id, contact_id, first = start(runtime)
    old_code = sent_code(fake)
    clock.advance(seconds=30)
    with pytest.raises(verification.VerificationRefused) as info:
        start(runtime, contact_id)
    assert info.value.key == "sms.verify.cooldown" and info.value.values["seconds"] == 31
    clock.advance(seconds=31)
    _, _, second = start(runtime, contact_id)
    assert confirm(runtime, account_id, first, old_code).key == "sms.verify.locked"
    assert confirm(runtime, account_id, second, sent_code(fake)).ok


def test_at_most_five_codes_per_number_per_hour(runtime, fake, clock):
    _, contact_id, _ = start(runtime)
    for _ in range(4):
        clock.advance(seconds=61)
        start(runtime, contact_id)
    clock.advance(seconds=61)
    with pytest.raises(verification.VerificationRefused) as info:
        start(runtime, contact_id)
    assert info.value.key == "sms.verify.too_many" and len(fake.sent) == 5
    clock.advance(hours=1)
    start(runtime, contact_id)
    assert len(fake.sent) == 6


def test_only_a_mobile_can_be_confirmed(runtime, fake):
    with pytest.raises(verification.VerificationRefused):
        start(runtime, phone="+74951234567")
    assert fake.sent == []
