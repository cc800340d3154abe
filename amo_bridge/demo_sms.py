"""Demo step of the SMS engine: messages in the console gateway, notes in the amoCRM card.

Assumes the demo's stack is running (``ctx.stack``: simulator + bridge + connected account,
``ctx.clock`` the bridge's FrozenClock) and, for the reminder part, that the mirror step won
the КАСКО deal ending 15.03.2027 (``demo_mirror.CLIENTS``); without it that part says so.
It moves ``ctx.clock`` forward (to the reminder dates) and leaves it there.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from time import monotonic as _monotonic
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from amo_bridge.accounts import get_section, set_section
from amo_bridge.models import Contact, Deal, Policy, SmsMessage, User
from jobs import sms as sms_jobs
from jobs.queue import enqueue_after_commit
from sms import attention, verification
from sms.console import ConsoleGateway
from sms.registry import GatewaySet

SALES, NEW, IN_WORK = 7811001, 61100002, 61100003
MOSCOW = ZoneInfo("Europe/Moscow")
PROFILES = {8011002: ("Дмитрий", "+7 999 123-45-67"), 8011003: ("Екатерина", "+7 999 765-43-21")}


class _Said:
    """A text stream that prints through the demo's narrator (the console gateway's output)."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def write(self, text: str) -> None:
        if text.strip():
            self.ctx.say(f"    {text.strip()}")

    def flush(self) -> None:
        pass


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=MOSCOW)


def _lead(stack: Any, name: str, phone: str, manager: int) -> int:
    contact = stack.sim("POST", "/contacts", [{"name": name, "custom_fields_values": [
        {"field_code": "PHONE", "values": [{"value": phone, "enum_code": "MOB"}]}]}])["ids"][0]
    return stack.sim("POST", "/leads", [{
        "name": f"{name.split()[0]}: КАСКО", "pipeline_id": SALES, "status_id": NEW,
        "responsible_user_id": manager,
        "_embedded": {"contacts": [{"id": contact, "is_main": True}]}}])["ids"][0]


def _wait_for_message(stack: Any, lead_id: int, *, timeout: float = 60.0) -> SmsMessage:
    """The lead's first-contact message; on a loaded machine a retried job may still be on
    its way after the first wait, so look again for a while before calling it missing."""
    deadline = _monotonic() + timeout
    while True:
        with stack.runtime.db.read_session() as session:
            found = session.scalar(select(SmsMessage).join(Deal, SmsMessage.deal_id == Deal.id)
                                   .where(Deal.amocrm_id == lead_id))
        if found is not None:
            return found
        if _monotonic() > deadline:
            raise RuntimeError(f"no first-contact message for lead {lead_id}")
        stack.deliver()


def step_sms(ctx: Any) -> None:
    stack, runtime = ctx.stack, ctx.stack.runtime
    runtime.extras["sms.gateways"] = GatewaySet(ConsoleGateway(stream=_Said(ctx)))
    account_id = stack.account_id
    with runtime.session() as session:
        rules = get_section(session, account_id, "sms_rules")
        set_section(session, account_id, "sms_rules", {
            **rules, "first_contact_statuses": [[SALES, NEW]],
            "company_name": "Надёжный полис", "company_phone": "+7 495 123-45-67"})
        for user in session.scalars(select(User).where(User.amocrm_id.in_(PROFILES))):
            user.profile_name, user.profile_phone = PROFILES[user.amocrm_id]
    local = ctx.clock.now().astimezone(MOSCOW)
    if not time(9) <= local.time() < time(20, 30):  # the demo should not wait for the morning
        ctx.clock.set(_noon(local.date() + timedelta(days=local.hour >= 9)))
        ctx.say("(The bridge's clock moved to noon in Moscow: SMS go out 09:00–21:00.)")
    ctx.say("The admin set «Новый лид» as the first-contact stage and filled two managers'")
    ctx.say("SMS profiles (amoCRM's API has no user phone). SMS go to the console gateway.")

    first = _lead(stack, "Смирнова Анна Петровна", "+7 916 123-45-67", 8011002)
    waiting = _lead(stack, "Кузнецов Олег Ильич", "+7 905 111-22-33", 8011004)
    stack.deliver()
    for lead in (first, waiting):
        stack.sim("PATCH", f"/leads/{lead}", {"status_id": IN_WORK})
    ctx.say("Two new leads were taken into work; the first-contact rule sent:")
    stack.deliver()
    held = _wait_for_message(stack, waiting)
    with runtime.session() as session:
        held = session.merge(held)
        ctx.say(f"The other one waits ({held.status}): {held.reason}")
        user = session.scalar(select(User).where(User.amocrm_id == 8011004))
        user.profile_name, user.profile_phone = "Сергей", "+7 999 000-11-22"
        for message_id in attention.requeue_for_manager(session, account_id, 8011004,
                                                        clock=ctx.clock):
            enqueue_after_commit(session, "jobs.sms.send_message", message_id)
    stack.wait()
    ctx.say("…and went out as soon as Сергей's profile was filled in.")
    ctx.clock.advance(minutes=5)
    sms_jobs.poll_statuses()  # the console gateway reports every message delivered
    stack.wait()
    written = sms_jobs.write_notes(account_id)
    notes = stack.client().notes("leads", entity_ids=[first])
    texts = [n.params.get("text", "") for n in notes if "SMS" in n.params.get("text", "")]
    ctx.say(f"The bridge wrote {written} notes to amoCRM (in batches of up to 50); in the card")
    ctx.say(f"of lead {first} the manager sees:")
    for text in texts:
        ctx.say(f"  • {text.splitlines()[0]}")

    _reminders(ctx)
    _verification(ctx, first)
    stack.wait()
    sms_jobs.write_notes(account_id)


def _reminders(ctx: Any) -> None:
    with ctx.stack.runtime.db.read_session() as session:
        policy = session.scalar(select(Policy).where(Policy.product_code == "kasko")
                                .order_by(Policy.ends_on))
        ends = policy.ends_on if policy else None
    if ends is None:
        ctx.say("No КАСКО policy in the ledger: the reminder part is skipped.")
        return
    for days in (45, 5):
        ctx.clock.set(_noon(ends - timedelta(days=days)))
        ctx.say(f"The clock moves to {ends - timedelta(days=days):%d.%m.%Y}, {days} days before "
                "the КАСКО policy ends; the reminder scan runs:")
        queued = sms_jobs.reminder_scan()
        ctx.stack.wait()
        if not queued:
            ctx.say("    (nothing: the renewal is already in progress, as seed 004 asks)")


def _verification(ctx: Any, lead: int) -> None:
    runtime = ctx.stack.runtime
    with runtime.session() as session:
        contact = session.scalar(select(Contact).join(Deal, Deal.contact_id == Contact.id)
                                 .where(Deal.amocrm_id == lead))
        row, queued = verification.start(session, ctx.stack.account_id, contact.id,
                                         secret=sms_jobs.secret_for(runtime), clock=ctx.clock,
                                         requested_by=8011002)
        enqueue_after_commit(session, "jobs.sms.send_message", queued.message.id)
    ctx.say("The manager asked the client to confirm the phone by SMS code:")
    ctx.stack.wait()
    sent = runtime.extras["sms.gateways"].primary.sent[-1][1].text
    code = "".join(ch for ch in sent if ch.isdigit())[:6]
    with runtime.session() as session:
        result = verification.confirm(session, ctx.stack.account_id, row.id, code,
                                      secret=sms_jobs.secret_for(runtime), clock=ctx.clock)
    sms_jobs.sync_verification(row.id)
    ctx.say(f"The client read the code aloud; confirmed: {result.ok}. The contact is marked")
    ctx.say("«телефон подтверждён» in amoCRM (a tag, or a mapped checkbox) with a note;")
    ctx.say("only a keyed hash of the code was ever stored.")
