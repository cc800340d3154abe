"""One test per raw fixture: the body goes in over HTTP, the ledger ends in the expected state.

The simulator is loaded with ``tests/fixtures/amocrm/simulator_seed.toml`` — the amoCRM state
the fixtures talk about — so the mirror's API re-reads find it. The body is only a hint: the
ledger shows what amoCRM holds (e.g. the lead's current stage), not what the body claims.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from amo_bridge.devstack import local_stack
from amo_bridge.models import (
    AuditLog,
    Contact,
    ContactPhone,
    Deal,
    InboxEvent,
    Policy,
    StageChange,
    Task,
)
from amo_bridge.settings import load_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "amocrm"
FORM = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "amoCRM-Webhooks/3.0"}


@pytest.fixture
def fx(migrated_url, tmp_path):
    settings = load_settings({"DATABASE_URL": migrated_url, "INSTANCE_PATH": str(tmp_path),
                              "JOB_MODE": "thread"})
    with local_stack(settings, seed=FIXTURES / "simulator_seed.toml") as stack:
        def post(name: str, *, path: str = "") -> list[InboxEvent]:
            body = (FIXTURES / name).read_bytes()
            headers = {"Content-Type": "application/json"} if name.endswith(".json") else FORM
            response = stack.http.post(stack.webhook_url + path, data=body, headers=headers,
                                       timeout=10)
            assert response.status_code == 200
            stack.wait()
            with stack.runtime.session() as session:
                return session.scalars(select(InboxEvent).order_by(InboxEvent.id)).all()

        stack.post = post
        yield stack


def q(stack, statement):
    with stack.runtime.session() as session:
        return session.execute(statement).scalars().all()


def deal(stack, amocrm_id):
    return (q(stack, select(Deal).where(Deal.amocrm_id == amocrm_id)) or [None])[0]


def test_lead_add(fx):
    [row] = fx.post("lead_add.txt")
    assert row.status == "done"
    d = deal(fx, 31870021)
    assert d.name == "КАСКО Toyota Camry — Иванов И.И." and d.price == 8_640_000
    assert d.contact_id is not None


def test_lead_update_custom_fields(fx):
    fx.post("lead_update_custom_fields.txt")
    d = deal(fx, 31870021)
    names = {f["field_name"] for f in d.custom_fields}
    assert {"Вид страхования", "Страховая компания", "Дата окончания полиса"} <= names


def test_lead_status(fx):
    fx.post("lead_status.txt")
    assert deal(fx, 31870021).status_id == 142  # amoCRM's current state, not the body's


def test_lead_status_won_makes_a_policy_line(fx):
    fx.post("lead_status_won.txt")
    d = deal(fx, 31870021)
    assert d.won_at is not None
    [policy] = q(fx, select(Policy).where(Policy.deal_id == d.id))
    assert (policy.product_code, policy.insurer, policy.number) == ("kasko", "Ингосстрах",
                                                                    "AI-2025-0001")
    assert (policy.starts_on, policy.ends_on) == (date(2025, 3, 15), date(2026, 3, 14))
    assert policy.premium == 8_640_000 and policy.commission_pct == Decimal("15")


def test_lead_status_lost(fx):
    fx.post("lead_status_lost.txt")
    d = deal(fx, 31870144)
    assert d.status_id == 143 and d.lost_at is not None and d.won_at is None


def test_lead_delete_then_restore(fx):
    fx.post("lead_add.txt")
    fx.post("lead_status_lost.txt")
    fx.post("lead_delete.txt")
    assert deal(fx, 31870144).is_deleted
    fx.post("lead_restore.txt")
    assert not deal(fx, 31870144).is_deleted


def test_lead_responsible(fx):
    fx.post("lead_responsible.txt")
    assert deal(fx, 31870021).responsible_amocrm_id == 10543210


def test_lead_note_is_ignored_but_stored(fx):
    [row] = fx.post("lead_note.txt")
    assert row.status == "done"
    assert deal(fx, 31870021) is None  # notes trigger no re-read


def test_contact_add(fx):
    fx.post("contact_add.txt")
    [contact] = q(fx, select(Contact).where(Contact.amocrm_id == 48210377))
    assert contact.name == "Иванов Иван Иванович" and contact.email == "ivanov@example.com"
    assert q(fx, select(ContactPhone.phone).where(ContactPhone.contact_id == contact.id)) == [
        "+79161234567"]


def test_contact_update(fx):
    fx.post("contact_update.txt")
    phones = q(fx, select(ContactPhone.phone).join(Contact).where(Contact.amocrm_id == 48210390))
    assert phones == ["+79035551234"]


def test_company_add(fx):
    fx.post("company_add.txt")
    [company] = q(fx, select(Contact).where(Contact.amocrm_id == 48210455))
    assert company.kind == "company" and company.name == "ООО «Автопарк-Север»"


def test_task_add(fx):
    fx.post("task_add.txt")
    [task] = q(fx, select(Task).where(Task.amocrm_id == 90112233))
    assert task.entity_type == "leads" and task.entity_amocrm_id == 31870021


def test_task_update_completed(fx):
    fx.post("task_update_completed.txt")
    [task] = q(fx, select(Task).where(Task.amocrm_id == 90112233))
    assert task.is_completed and task.result_text == "Клиент согласен, оформляем"


def test_tasks_plural_unix(fx):
    fx.post("tasks_plural_unix.txt")
    ids = set(q(fx, select(Task.amocrm_id)))
    assert ids == {90112301, 90112302}


def test_batch_mixed(fx):
    [row] = fx.post("batch_mixed.txt")
    assert row.status == "done"
    assert {d.amocrm_id for d in q(fx, select(Deal))} == {31870021, 31870144, 31870301,
                                                         31870302}
    assert q(fx, select(Task.amocrm_id)) == []  # task 90112400 does not exist in amoCRM
    unsupported = q(fx, select(AuditLog).where(AuditLog.action == "mirror.unsupported_event"))
    assert len(unsupported) == 1 and "customers" in unsupported[0].details["event"]


def test_dp_status(fx):
    fx.post("dp_status.txt")
    assert deal(fx, 31870021).status_id == 142


def test_dp_widget_json(fx):
    [row] = fx.post("dp_widget_json.json", path="/dp")
    assert row.source == "amocrm_dp" and row.status == "done"
    assert deal(fx, 31870021) is not None


def test_unsorted_add_is_ignored(fx):
    [row] = fx.post("unsorted_add.txt")
    assert row.status == "done" and q(fx, select(Deal)) == []


@pytest.mark.parametrize("name", ["truncated.txt", "garbage.txt"])
def test_unparseable_bodies_are_rejected_with_a_reason(fx, name):
    [row] = fx.post(name)
    assert row.status == "rejected" and row.reason


def test_foreign_account_is_refused_at_the_door(fx):
    body = (FIXTURES / "foreign_account.txt").read_bytes()
    response = fx.http.post(fx.webhook_url, data=body, headers=FORM, timeout=5)
    assert response.status_code == 403
    assert q(fx, select(func.count()).select_from(InboxEvent)) == [0]


def test_stage_history_comes_from_events_not_bodies(fx):
    fx.post("lead_status.txt")
    fx.post("lead_status.txt")
    d = deal(fx, 31870021)
    # The seeded lead has no status-change events in amoCRM: bodies alone add no history.
    assert q(fx, select(StageChange).where(StageChange.deal_id == d.id)) == []
