"""Duplicated, reordered and concurrent deliveries of the same webhooks leave one correct state.

The simulator makes real changes and queues amoCRM's webhooks for them; the test takes those
bodies and delivers each of them three times, shuffled, from eight threads at once — in three
rounds, so a later move can be mirrored before an earlier one arrives. After each round several
"workers" process the inbox concurrently, every row woken twice (a retry and a sweep racing the
original job), and a job that loses a race is run again, as RQ's retry would. The ledger must
end exactly where amoCRM is: each deal's status and price, and one stage-change row per
``lead_status_changed`` event — three for a lead moved A→B→A→B within one second, although two of
its hooks are byte-identical.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from amo_bridge.devstack import SUBDOMAIN, local_stack
from amo_bridge.ledger.changes import DealCreated, StageMoved
from amo_bridge.models import Contact, ContactPhone, Deal, InboxEvent, Policy, StageChange
from jobs.inbox import process_inbox

from .conftest import IN_WORK, ISSUING, LOST, NEW, SALES, WON, bridge_settings

FORM = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "amoCRM-Webhooks/3.0"}
COPIES, ROUNDS, POSTERS, WORKERS = 3, 3, 8, 4
POLICY_FIELDS = [
    {"field_id": 1101001, "values": [{"enum_id": 1102002}]},  # Вид страхования: КАСКО
    {"field_id": 1101002, "values": [{"enum_id": 1102101}]},  # Страховая компания
    {"field_id": 1101003, "values": [{"value": "AI-777"}]},  # Номер полиса
]


@pytest.fixture
def stack(migrated_url, tmp_path):
    with local_stack(bridge_settings(migrated_url, tmp_path, JOB_MODE="thread")) as running:
        running.runtime.queue.stop()  # the test plays the workers itself, several at once
        yield running


def _make_history(stack) -> dict[str, int]:
    """Changes in the simulator, one frozen second at a time; returns the lead ids by role."""
    sim = stack.simulator.simulator
    sim.clock.freeze()

    def create(**lead) -> int:
        return sim.ui_create(SUBDOMAIN, "leads", [{"pipeline_id": SALES, "status_id": NEW,
                                                   "responsible_user_id": 8011002, **lead}])[0]

    def move(lead_id: int, **changes) -> None:
        sim.ui_update(SUBDOMAIN, "leads", [{"id": lead_id, **changes}])

    [person] = sim.ui_create(SUBDOMAIN, "contacts", [{
        "name": "Иванова Анна", "custom_fields_values": [{"field_code": "PHONE", "values": [
            {"value": "8 (999) 123-45-67", "enum_code": "MOB"}]}]}])
    leads = {"bounced": create(name="ОСАГО", price=7000,
                               _embedded={"contacts": [{"id": person, "is_main": True}]})}
    for status in (IN_WORK, NEW, IN_WORK):  # A→B→A→B within one second
        move(leads["bounced"], status_id=status)
    sim.advance(seconds=61)
    leads["won"] = create(name="КАСКО", price=86400, custom_fields_values=POLICY_FIELDS)
    move(leads["won"], price=90000)
    sim.advance(seconds=61)
    move(leads["won"], status_id=ISSUING, responsible_user_id=8011003)
    sim.advance(seconds=61)
    move(leads["won"], status_id=WON, responsible_user_id=8011002)
    leads["lost"] = create(name="ИФЛ", price=3000)
    sim.advance(seconds=61)
    move(leads["lost"], status_id=LOST)
    return leads


def _post_all(url: str, bodies: list[bytes]) -> list[int]:
    local = threading.local()

    def post(body: bytes) -> int:
        if not hasattr(local, "http"):
            local.http = requests.Session()
        return local.http.post(url, data=body, headers=FORM, timeout=30).status_code

    with ThreadPoolExecutor(POSTERS) as pool:
        return list(pool.map(post, bodies))


def _work(stack, rng: random.Random) -> None:
    """Several workers at once; every waiting row gets two wake-ups; a failed job runs again."""
    with stack.runtime.db.read_session() as session:
        ids = list(session.scalars(select(InboxEvent.id).where(
            InboxEvent.status.in_(("pending", "processing")))))
    wakeups = ids * 2
    rng.shuffle(wakeups)

    def job(inbox_id: int) -> None:
        for attempt in range(6):
            try:
                process_inbox(inbox_id)
                return
            except Exception:  # noqa: BLE001 - a lost race (unique key, deadlock): retried
                if attempt == 5:
                    raise

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(job, wakeups))


def test_duplicated_shuffled_concurrent_deliveries_converge_on_amocrms_state(stack, recorded):
    sim = stack.simulator.simulator
    leads = _make_history(stack)
    hooks = [d for d in sim.deliveries(SUBDOMAIN) if d["state"] == "pending"]
    bodies = [d["body"].encode() for d in hooks]
    bounced_moves = [b for b in bodies if f"leads%5Bstatus%5D%5B0%5D%5Bid%5D={leads['bounced']}&"
                     .encode() in b]
    assert len(bounced_moves) == 3 and bounced_moves[0] == bounced_moves[2]  # byte-identical

    rng = random.Random(4)
    copies = bodies * COPIES
    rng.shuffle(copies)
    for start in range(ROUNDS):
        statuses = _post_all(stack.webhook_url, copies[start::ROUNDS])
        assert Counter(statuses) == {200: len(copies[start::ROUNDS])}
        _work(stack, rng)

    with stack.runtime.session() as session:
        rows = session.scalars(select(InboxEvent)).all()
        deals = {d.amocrm_id: d for d in session.scalars(select(Deal))}
        moves = session.scalars(select(StageChange).order_by(StageChange.amocrm_event_id)).all()
        policies = session.scalars(select(Policy)).all()
        phones = session.scalars(select(ContactPhone.phone)).all()
        contacts = session.scalars(select(Contact)).all()
        by_deal = {d.id: amocrm_id for amocrm_id, d in deals.items()}

    assert len(rows) == len(copies)
    assert {r.status for r in rows} <= {"done", "duplicate"}
    # Deals: exactly amoCRM's current state.
    expected = {lead_id: sim.account(SUBDOMAIN).leads[lead_id] for lead_id in leads.values()}
    assert set(deals) == set(expected)
    for lead_id, lead in expected.items():
        deal = deals[lead_id]
        assert (deal.status_id, deal.price, deal.name) == (
            lead["status_id"], lead["price"] * 100, lead["name"]), lead_id
    assert deals[leads["won"]].won_at is not None and deals[leads["lost"]].lost_at is not None
    # Stage history: one row per amoCRM event, in amoCRM's order.
    events = [e for e in sim.account(SUBDOMAIN).events if e["type"] == "lead_status_changed"]
    assert [(m.amocrm_event_id, by_deal[m.deal_id], m.from_status_id, m.to_status_id)
            for m in moves] == sorted(
        (e["id"], e["entity_id"], e["value_before"][0]["lead_status"]["id"],
         e["value_after"][0]["lead_status"]["id"]) for e in events)
    assert [(m.from_status_id, m.to_status_id) for m in moves
            if by_deal[m.deal_id] == leads["bounced"]] == [
        (NEW, IN_WORK), (IN_WORK, NEW), (NEW, IN_WORK)]
    # One policy for the won deal, one contact with one normalised phone.
    assert [(p.deal_id, p.number, p.premium) for p in policies] == [
        (deals[leads["won"]].id, "AI-777", 9_000_000)]
    assert len(contacts) == 1 and phones == ["+79991234567"]
    # The mirror reported each new deal and each move once, however many jobs raced.
    assert Counter(type(c).__name__ for c in recorded if isinstance(c, DealCreated)) == {
        "DealCreated": len(leads)}
    assert sorted(c.event_id for c in recorded if isinstance(c, StageMoved)) == sorted(
        e["id"] for e in events)



def test_a_wake_up_for_a_row_in_another_jobs_batch_costs_no_api_call(stack):
    """With several workers, the other hooks of a burst are in the first job's batch: their own
    wake-ups must neither re-read amoCRM nor run the rows a second time."""
    sim = stack.simulator.simulator
    leads = sim.ui_create(SUBDOMAIN, "leads", [
        {"name": f"ОСАГО {i}", "pipeline_id": SALES, "status_id": NEW} for i in range(3)],
        skip_webhooks=True)
    for lead_id in leads:
        sim.ui_update(SUBDOMAIN, "leads", [{"id": lead_id, "status_id": IN_WORK}])
    bodies = [d["body"].encode() for d in sim.deliveries(SUBDOMAIN) if d["state"] == "pending"]
    assert _post_all(stack.webhook_url, bodies) == [200, 200, 200]
    with stack.runtime.db.read_session() as session:
        first, *others = session.scalars(select(InboxEvent.id).order_by(InboxEvent.id)).all()

    sim.add_fault(SUBDOMAIN, match="GET /api/v4/leads", latency=1.0)  # the first job is slow
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(process_inbox, first)
        while sim.stats(SUBDOMAIN)["endpoints"].get("GET /api/v4/leads", 0) == 0:
            assert not running.done(), running.result()
        assert [process_inbox(row_id) for row_id in others] == ["nothing to do"] * 2
        running.result(timeout=30)
    assert sim.stats(SUBDOMAIN)["endpoints"]["GET /api/v4/leads"] == 1
    with stack.runtime.session() as session:
        rows = session.scalars(select(InboxEvent)).all()
        assert {(r.status, r.attempts) for r in rows} == {("done", 1)}
        assert session.query(StageChange).count() == 3
