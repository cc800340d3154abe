"""The client against the simulator over real HTTP: reads, writes, tokens and the error policy."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from amo_bridge.amocrm import (
    AccountBlocked,
    Forbidden,
    IntegrationDisabled,
    OutcomeUnknown,
    RateLimited,
    Unavailable,
)
from amo_bridge.amocrm.fields import (
    FieldCatalog,
    date_to_amo,
    field_value,
    read_choice,
    read_date,
    read_phones,
)
from amo_bridge.amocrm.http import make_session
from amo_bridge.amocrm.memory import MemoryTokenStore
from amo_bridge.amocrm.oauth import exchange_code, long_lived_token
from amo_bridge.amocrm.payloads import contact_payload, lead_payload, note_payload, task_payload
from amo_bridge.amocrm.transport import RetryPolicy
from tests.contract.conftest import CREDENTIALS, ClientKit, oauth_pair
from tests.contract.sim import DATE_FIELD_ID, FIRST_STATUS, MANAGER_ID, PIPELINE_ID, SimControl

pytestmark = pytest.mark.slow


def make_leads(kit: ClientKit, count: int, *, prefix: str = "Lead") -> dict[str, int]:
    items = [lead_payload(request_id=f"{prefix}-{n}", name=f"{prefix} {n}", price=n,
                          pipeline_id=PIPELINE_ID, status_id=FIRST_STATUS) for n in range(count)]
    result = kit.client.create_leads(items)
    assert result.ok, result
    return dict(result.ids)


def test_pagination_over_a_thousand_leads(kit: ClientKit, sim: SimControl) -> None:
    created = make_leads(kit, 1000)
    assert len(set(created.values())) == 1000
    sim.reset_stats()
    leads = list(kit.client.leads(with_=()))
    assert sorted(lead.id for lead in leads) == sorted(created.values())
    stats = sim.stats()
    # 4 full pages; a full page always has a next link, and the page after the last is a 204.
    assert stats["endpoints"]["GET /api/v4/leads"] == 5
    assert stats["statuses"]["204"] == 1
    by_ids = list(kit.client.leads(ids=list(created.values())[:300], with_=()))
    assert len(by_ids) == 300


def test_empty_results_are_204(kit: ClientKit, sim: SimControl) -> None:
    assert list(kit.client.leads(ids=[999_999_999])) == []
    future = datetime.now(UTC) + timedelta(days=3650)
    assert list(kit.client.events(created_from=future)) == []
    assert sim.stats()["statuses"].get("204", 0) >= 2


def test_batch_create_with_one_invalid_item(kit: ClientKit) -> None:
    items = [lead_payload(request_id=f"ok-{n}", name=f"Ok {n}", pipeline_id=PIPELINE_ID,
                          status_id=FIRST_STATUS) for n in range(4)]
    items.insert(2, lead_payload(request_id="bad", name="Bad", pipeline_id=PIPELINE_ID,
                                 status_id=12345))
    result = kit.client.create_leads(items)
    assert set(result.ids) == {"ok-0", "ok-1", "ok-2", "ok-3"}
    assert list(result.errors) == ["bad"]
    assert result.errors["bad"][0].path.endswith("status_id")
    leads = list(kit.client.leads(ids=result.ids.values(), with_=()))
    assert sorted(lead.name for lead in leads) == ["Ok 0", "Ok 1", "Ok 2", "Ok 3"]
    assert {w.request_id for w in kit.recorder.writes} == set(result.ids)


def test_expired_token_is_refreshed_before_the_call(kit: ClientKit, sim: SimControl) -> None:
    assert kit.store.pair is not None
    kit.store.pair = replace(kit.store.pair, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    old_refresh = kit.store.pair.refresh_token
    assert kit.client.account().id == sim.account_id
    stats = sim.stats()
    assert stats["token_refreshes"] == 1 and stats["statuses"].get("401", 0) == 0
    assert kit.store.pair.refresh_token != old_refresh and kit.store.pair.version == 2


def test_401_refreshes_once_and_retries(kit: ClientKit, sim: SimControl) -> None:
    sim.advance_clock(hours=25)  # amoCRM's view: the 24 h access token has died
    try:
        info = kit.client.account()
    finally:
        sim.advance_clock(hours=-25)
    assert info.id == sim.account_id
    stats = sim.stats()
    assert stats["statuses"]["401"] == 1 and stats["token_refreshes"] == 1


def test_revoked_integration_disconnects_without_looping(kit: ClientKit, sim: SimControl) -> None:
    sim.revoke()
    with pytest.raises(IntegrationDisabled):
        kit.client.account()
    stats = sim.stats()
    assert stats["token_refresh_attempts"] == 1 and stats["token_refreshes"] == 0
    assert kit.store.disconnected and "revoked" in kit.store.disconnected.lower()
    with pytest.raises(IntegrationDisabled):
        kit.client.account()
    assert sim.stats()["total_requests"] == stats["total_requests"]


def test_events_by_type_entity_and_ids(kit: ClientKit, sim: SimControl) -> None:
    created = make_leads(kit, 25)
    ids = sorted(created.values())
    for lead_id in ids[:12]:
        answer = requests.patch(f"{sim.url}/_sim/accounts/{sim.subdomain}/leads/{lead_id}",
                                json={"status_id": 142}, timeout=5)
        answer.raise_for_status()
    sim.reset_stats()
    events = list(kit.client.events(types=["lead_status_changed"], entity="lead",
                                    entity_ids=ids))
    assert sorted(e.entity_id for e in events) == ids[:12]
    assert all(e.lead_status() == (PIPELINE_ID, 142) for e in events)
    assert all(e.lead_status(after=False) == (PIPELINE_ID, FIRST_STATUS) for e in events)
    assert len({e.id for e in events}) == 12
    assert sim.stats()["endpoints"]["GET /api/v4/events"] == 3  # 10 + 10 + 5 ids
    added = list(kit.client.events(types=["lead_added"], entity="lead", entity_ids=ids[:3]))
    assert sorted(e.entity_id for e in added) == ids[:3]


def test_date_field_round_trip_in_moscow(kit: ClientKit) -> None:
    account = kit.client.account()
    assert account.timezone == "Europe/Moscow"
    catalog = FieldCatalog(kit.client.custom_fields("leads"))
    end_field = catalog.require("дата окончания полиса")
    assert end_field.id == DATE_FIELD_ID
    kind = catalog.require("Вид страхования")
    day = date(2026, 1, 31)
    result = kit.client.create_leads([lead_payload(
        request_id="dated", name="Полис", pipeline_id=PIPELINE_ID, status_id=FIRST_STATUS,
        custom_fields_values=[field_value(end_field, day, tz=account.timezone),
                              field_value(kind, "каско")])])
    (lead,) = kit.client.leads(ids=result.ids.values())
    assert read_date(lead.custom_fields, end_field, tz=account.timezone) == day
    raw = [v for v in lead.custom_fields if v.field_id == DATE_FIELD_ID][0].values[0].value
    assert int(raw) == date_to_amo(day, "Europe/Moscow")
    assert datetime.fromtimestamp(int(raw), UTC) == datetime(2026, 1, 30, 21, 0, tzinfo=UTC)
    assert read_choice(lead.custom_fields, kind).value == "КАСКО"


def test_tasks_notes_tags_and_links(kit: ClientKit, sim: SimControl) -> None:
    (lead_id,) = make_leads(kit, 1).values()
    contact = kit.client.create_contacts([contact_payload(
        request_id="c", name="Иван Петров", phones=[("+79001234567", "MOB")])])
    assert contact.ok
    kit.client.link_contacts(lead_id, [contact.ids["c"]], main_contact_id=contact.ids["c"])
    tags = kit.client.add_tags("leads", [lead_id], ["пролонгация"])
    assert tags.ok
    due = datetime.now(UTC) + timedelta(days=1)
    tasks = kit.client.create_tasks([task_payload(request_id="t", text="Позвонить клиенту",
                                                  complete_till=due, entity_type="leads",
                                                  entity_id=lead_id)])
    assert tasks.ok
    notes = kit.client.add_notes("leads", [note_payload(request_id="n", entity_id=lead_id,
                                                        text="Создано мостом")])
    assert notes.ok
    (person,) = kit.client.contacts(ids=[contact.ids["c"]])
    assert [(p.value, p.enum_code) for p in read_phones(person.custom_fields)] == [
        ("+79001234567", "MOB")]
    (lead,) = kit.client.leads(ids=[lead_id])
    assert [c.id for c in lead.contacts] == [contact.ids["c"]] and lead.contacts[0].is_main
    assert [t.name for t in lead.tags] == ["пролонгация"]
    (task,) = kit.client.tasks(entity_type="leads", entity_ids=[lead_id])
    assert task.id == tasks.ids["t"] and task.complete_till == int(due.timestamp())
    (note,) = kit.client.notes("leads", entity_ids=[lead_id])
    assert note.params["text"] == "Создано мостом"
    actions = [(w.entity_type, w.action) for w in kit.recorder.writes]
    assert actions == [("leads", "create"), ("contacts", "create"), ("leads", "link"),
                       ("leads", "update"), ("tasks", "create"), ("leads/notes", "create")]


def test_users_need_an_admin_token(kit: ClientKit, sim: SimControl) -> None:
    users = {u.id: u for u in kit.client.users()}
    assert users[MANAGER_ID].rights.leads.view == "A" and not users[MANAGER_ID].rights.is_admin
    manager_pair = exchange_code(make_session(), sim.base_url, CREDENTIALS,
                                 code=sim.issue_code(user_id=MANAGER_ID))
    manager = ClientKit(sim, rate=5, limiter=kit.limiter, store=MemoryTokenStore(manager_pair))
    with pytest.raises(Forbidden):
        manager.client.users()
    assert manager.alerts == [] and kit.limiter.circuit(str(sim.account_id)) is None


def test_pipelines_key_statuses_by_pipeline(kit: ClientKit) -> None:
    (pipeline,) = kit.client.pipelines()
    keys = {s.key for s in pipeline.statuses}
    assert {(PIPELINE_ID, 142), (PIPELINE_ID, 143), (PIPELINE_ID, FIRST_STATUS)} <= keys


def test_429_cools_down_and_is_retryable(kit_factory, sim: SimControl) -> None:
    sim.set_limits(per_second=2, block_after=100)
    kit = kit_factory(rate=7)
    kit.client.transport.policy = RetryPolicy(cool_down=0.5)
    with pytest.raises(RateLimited) as info:
        for _ in range(10):
            kit.client.account()
    assert info.value.retryable and info.value.retry_after == 0.5
    assert sim.stats()["rate_limited"] == 1
    # The cool-down is shared: the next slot is at least half a second away.
    permit = kit.limiter.reserve(str(sim.account_id), max_wait=0)
    assert not permit.granted and permit.wait > 0.3
    time.sleep(1.2)  # the job would be rescheduled; afterwards the call succeeds
    sim.set_limits(per_second=7)
    assert kit.client.account().id == sim.account_id
    assert not sim.stats()["blocked"]


def test_403_block_opens_the_circuit(kit_factory, sim: SimControl) -> None:
    kit = kit_factory(rate=7)
    kit.client.transport.policy = RetryPolicy(cool_down=0.01)
    sim.set_limits(per_second=1, block_after=1)
    time.sleep(1.05)  # let the token exchange leave the simulator's one-second window
    kit.client.account()
    with pytest.raises(RateLimited):
        kit.client.account()  # the violation that makes amoCRM block the account
    with pytest.raises(AccountBlocked):
        kit.client.account()
    assert [a.kind for a in kit.alerts] == ["blocked"]
    assert kit.limiter.circuit(str(sim.account_id))
    before = sim.stats()["total_requests"]
    with pytest.raises(AccountBlocked):
        kit.client.leads(ids=[1]).__next__()
    assert sim.stats()["total_requests"] == before  # nothing more reaches amoCRM
    sim.reset_limits()


def test_lost_answer_to_a_post_is_outcome_unknown(kit: ClientKit, sim: SimControl) -> None:
    sim.add_fault(match="POST /api/v4/leads", drop_count=1, drop_mode="drop")
    items = [lead_payload(request_id=f"u{n}", name=f"Unknown {n}", pipeline_id=PIPELINE_ID,
                          status_id=FIRST_STATUS) for n in range(3)]
    result = kit.client.create_leads(items)
    assert isinstance(result.failure, OutcomeUnknown)
    assert result.unknown == ("u0", "u1", "u2") and result.ids == {}
    assert sim.stats()["endpoints"]["POST /api/v4/leads"] == 1  # never blindly repeated
    # The write did happen: the caller reconciles by reading.
    names = {lead.name for lead in kit.client.leads(with_=())}
    assert {"Unknown 0", "Unknown 1", "Unknown 2"} <= names
    sim.clear_faults()


def test_get_5xx_is_retried_then_unavailable(kit: ClientKit, sim: SimControl) -> None:
    sim.add_fault(match="GET /api/v4/account", error_rate=1.0, error_status=503)
    with pytest.raises(Unavailable) as info:
        kit.client.account()
    assert info.value.retryable
    assert sim.stats()["injected_errors"] == 3
    sim.clear_faults()
    assert kit.client.account().id == sim.account_id


def test_long_lived_token(kit_factory, sim: SimControl) -> None:
    token = sim.long_lived_token(days=30)
    store = MemoryTokenStore(long_lived_token(token, expires_at=datetime.now(UTC)
                                              + timedelta(days=30)))
    kit = kit_factory(store=store)
    assert kit.client.account().id == sim.account_id
    sim.revoke(every_token=True)
    with pytest.raises(IntegrationDisabled):
        kit.client.account()
    assert sim.stats()["token_refresh_attempts"] == 0  # nothing to refresh: disconnected
    assert kit.store.disconnected


def test_oauth_pair_helper(sim: SimControl) -> None:
    pair = oauth_pair(sim)
    assert pair.refresh_token and pair.expires_at > datetime.now(UTC) + timedelta(hours=23)
