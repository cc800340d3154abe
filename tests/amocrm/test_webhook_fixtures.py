"""One test per raw fixture in tests/fixtures/amocrm (CONVENTIONS rule 7)."""

from __future__ import annotations

import inspect
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from amo_bridge.amocrm.webhook import (
    ContactFields,
    DigitalPipelineFields,
    Disposition,
    EventKind,
    LeadFields,
    NoteFields,
    ParsedWebhook,
    TaskFields,
    UnsortedFields,
    WebhookEvent,
    WebhookParseError,
    account_id_of,
    classify_event,
    parse_webhook,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "amocrm"
FORM = "application/x-www-form-urlencoded"
ACCOUNT, SUBDOMAIN = 29085712, "demo-broker"
PIPELINE, NEW, CALC, AGREE = 7845210, 63012345, 63012348, 63012351
ANNA, OLEG, ADMIN = 10543210, 10543287, 10541001
LEAD, LEAD2 = 31870021, 31870144
POLICY_END = datetime(2026, 3, 14, 21, 0, tzinfo=UTC)  # 2026-03-15 00:00 Europe/Moscow


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str, content_type: str | None = FORM, **options: str) -> ParsedWebhook:
    parsed = parse_webhook(raw(name), content_type, **options)
    assert account_id_of(raw(name), content_type) == parsed.account_id
    return parsed


def only(parsed: ParsedWebhook) -> WebhookEvent:
    assert len(parsed.events) == 1, parsed.events
    return parsed.events[0]


def field(payload: LeadFields | ContactFields, name: str):
    matches = [item for item in payload.custom_fields if item.name == name]
    assert len(matches) == 1, f"{name!r} in {payload.custom_fields}"
    return matches[0]


def kind_of(event: WebhookEvent) -> EventKind | None:
    verdict = classify_event(event)
    return verdict.kind if verdict.disposition is Disposition.HANDLED else None


def test_lead_add() -> None:
    parsed = parse("lead_add.txt")
    assert (parsed.account_id, parsed.subdomain) == (ACCOUNT, SUBDOMAIN)
    assert parsed.account_link == "https://demo-broker.amocrm.ru"
    event = only(parsed)
    assert (event.entity, event.action, event.entity_id) == ("lead", "add", LEAD)
    assert kind_of(event) is EventKind.LEAD_ADDED
    lead = event.payload
    assert isinstance(lead, LeadFields)
    assert lead.name == "КАСКО Toyota Camry — Иванов И.И."
    assert (lead.status_id, lead.pipeline_id, lead.price) == (NEW, PIPELINE, 0)
    assert lead.created_user_id == 0 and lead.modified_by_robot
    assert lead.date_create == datetime(2025, 3, 10, 6, 15, 42, tzinfo=UTC)
    assert [(tag.tag_id, tag.name) for tag in lead.tags] == [(482205, "Сайт")]
    kind = field(lead, "Вид страхования")
    assert (kind.field_id, kind.first.value, kind.first.enum_id) == (1318451, "КАСКО", 2965541)


def test_lead_update_custom_fields() -> None:
    event = only(parse("lead_update_custom_fields.txt"))
    assert (event.entity, event.action, event.entity_id) == ("lead", "update", LEAD)
    lead = event.payload
    assert isinstance(lead, LeadFields)
    assert [item.field_id for item in lead.custom_fields] == [
        1318451, 1318453, 1318457, 1318459, 1318461, 1318463, 1318465, 1318467, 1318469,
    ]  # fmt: skip
    assert field(lead, "Страховая компания").first.enum_id == 2965603
    end = field(lead, "Дата окончания полиса").first  # a bare values[0]
    assert (end.value, end.enum_id) == ("1773522000", None)
    assert end.as_datetime() == POLICY_END
    assert end.as_local_date("Europe/Moscow") == date(2026, 3, 15)
    assert field(lead, "Премия").first.as_int() == 86400
    assert field(lead, "Комиссия, %").first.value == "12.5"
    assert field(lead, "Номер полиса").first.value == "АС-105-2291884"
    assert field(lead, "Госномер").first.value == "А123ВС777"
    options = field(lead, "Доп. опции").values
    assert [(v.value, v.enum_id) for v in options] == [
        ("GAP", 2965621),
        ("Без франшизы", 2965623),
    ]
    assert "group_id" in event.raw  # unknown key: kept raw, ignored by the payload
    assert lead.modified_user_id == ANNA and not lead.modified_by_robot


def test_lead_status() -> None:
    event = only(parse("lead_status.txt"))
    assert (event.entity, event.action, event.entity_id) == ("lead", "status", LEAD)
    assert kind_of(event) is EventKind.LEAD_STATUS_CHANGED
    lead = event.payload
    assert isinstance(lead, LeadFields)
    assert (lead.old_status_id, lead.status_id, lead.pipeline_id) == (NEW, CALC, PIPELINE)
    assert lead.old_pipeline_id is None  # optional, absent here
    assert lead.last_modified == datetime(2025, 3, 10, 6, 47, 3, tzinfo=UTC)


def test_lead_status_won() -> None:
    lead = only(parse("lead_status_won.txt")).payload
    assert isinstance(lead, LeadFields)
    assert (lead.old_status_id, lead.status_id) == (AGREE, 142)
    assert field(lead, "Дата окончания полиса").first.as_datetime() == POLICY_END
    assert lead.price == 86400


def test_lead_status_lost() -> None:
    event = only(parse("lead_status_lost.txt"))
    lead = event.payload
    assert isinstance(lead, LeadFields)
    assert (event.entity_id, lead.old_status_id, lead.status_id) == (LEAD2, CALC, 143)
    assert lead.modified_by_robot
    assert field(lead, "Вид страхования").first.value == "ОСАГО"
    reason = field(lead, "Причина отказа").first
    assert (reason.value, reason.enum_id) == ("Дорого", 2965701)


def test_lead_delete() -> None:
    event = only(parse("lead_delete.txt"))
    assert (event.entity, event.action, event.entity_id) == ("lead", "delete", LEAD2)
    assert kind_of(event) is EventKind.LEAD_DELETED
    lead = event.payload
    assert isinstance(lead, LeadFields)
    assert (lead.status_id, lead.pipeline_id) == (143, PIPELINE)
    assert lead.name is None and lead.custom_fields == () and lead.updated_at is None


def test_lead_restore() -> None:
    event = only(parse("lead_restore.txt"))
    assert (event.entity, event.action, event.entity_id) == ("lead", "restore", LEAD2)
    assert kind_of(event) is EventKind.LEAD_RESTORED
    assert isinstance(event.payload, LeadFields)
    assert event.payload.modified_user_id == ADMIN


def test_lead_responsible() -> None:
    event = only(parse("lead_responsible.txt"))
    assert (event.action, event.entity_id) == ("responsible", LEAD)
    assert kind_of(event) is EventKind.LEAD_RESPONSIBLE_CHANGED
    assert isinstance(event.payload, LeadFields)
    assert event.payload.responsible_user_id == OLEG


def test_lead_note() -> None:
    event = only(parse("lead_note.txt", timezone="Europe/Moscow"))
    assert (event.entity, event.action, event.entity_id) == ("lead", "note", LEAD)
    assert classify_event(event).disposition is Disposition.IGNORED
    note = event.payload
    assert isinstance(note, NoteFields)
    assert (note.note_id, note.note_type, note.element_type) == (220145577, 4, 2)
    assert note.text == "Клиент просит рассчитать КАСКО с франшизой 15 000 ₽, звонить после 18:00"
    assert (note.created_user_id, note.responsible_user_id) == (ANNA, ANNA)
    assert note.created_at == datetime(2025, 3, 12, 8, 30, tzinfo=UTC)  # unix date_create
    assert note.updated_at == datetime(2025, 3, 12, 8, 30, tzinfo=UTC)  # MSK string


def test_contact_add() -> None:
    event = only(parse("contact_add.txt"))
    assert (event.entity, event.action, event.entity_id) == ("contact", "add", 48210377)
    assert kind_of(event) is EventKind.CONTACT_ADDED
    contact = event.payload
    assert isinstance(contact, ContactFields)
    assert (contact.type, contact.name) == ("contact", "Иванов Иван Иванович")
    assert (contact.company_name, contact.linked_company_id) == ('ООО "Ромашка-Логистик"', 48210455)
    assert contact.linked_leads_ids == (LEAD,)
    phone = field(contact, "Телефон")
    assert phone.code == "PHONE"
    assert [(v.value, v.enum_id) for v in phone.values] == [
        ("+7 (916) 123-45-67", 2965401),
        ("+79031234567", 2965405),
    ]
    assert field(contact, "Email").code == "EMAIL"
    assert field(contact, "Дата рождения").first.as_local_date("Europe/Moscow") == date(1980, 3, 5)


def test_contact_update() -> None:
    parsed = parse("contact_update.txt")
    assert [(e.entity, e.action, e.entity_id, e.index) for e in parsed.events] == [
        ("contact", "update", 48210377, "0"),
        ("contact", "update", 48210390, "1"),
    ]
    first, second = (event.payload for event in parsed.events)
    assert isinstance(first, ContactFields) and isinstance(second, ContactFields)
    assert first.linked_leads_ids == (LEAD, LEAD2)
    assert field(first, "Телефон").first.value == "+7 (916) 765-43-21"
    assert second.name == "Смирнова Елена Павловна" and second.modified_by_robot


def test_company_add() -> None:
    event = only(parse("company_add.txt"))
    assert (event.entity, event.action, event.entity_id) == ("company", "add", 48210455)
    assert kind_of(event) is EventKind.COMPANY_ADDED
    company = event.payload
    assert isinstance(company, ContactFields)
    assert (company.type, company.name) == ("company", 'ООО "Ромашка-Логистик"')
    assert field(company, "ИНН").first.value == "7714123456"


def test_task_add() -> None:
    utc_event = only(parse("task_add.txt"))
    msk_event = only(parse("task_add.txt", timezone="Europe/Moscow"))
    assert (msk_event.entity, msk_event.action, msk_event.entity_id) == ("task", "add", 90112233)
    assert kind_of(msk_event) is EventKind.TASK_ADDED
    task = msk_event.payload
    assert isinstance(task, TaskFields)
    assert (task.element_id, task.element_type, task.element_entity) == (LEAD, 2, "lead")
    assert (task.task_type, task.is_completed, task.responsible_user_id) == (1, False, ANNA)
    assert task.text == "Позвонить клиенту: пролонгация КАСКО, полис истекает 15.03.2026"
    # "2026-02-13 23:59:00" in the account's timezone; in UTC when no timezone is given.
    assert task.complete_till == datetime(2026, 2, 13, 20, 59, tzinfo=UTC)
    assert isinstance(utc_event.payload, TaskFields)
    assert utc_event.payload.complete_till == datetime(2026, 2, 13, 23, 59, tzinfo=UTC)
    assert task.result_text is None and task.action_close is None


def test_task_update_completed() -> None:
    event = only(parse("task_update_completed.txt", timezone="Europe/Moscow"))
    assert (event.action, event.entity_id) == ("update", 90112233)
    assert kind_of(event) is EventKind.TASK_UPDATED
    task = event.payload
    assert isinstance(task, TaskFields)
    assert task.is_completed and task.action_close == 1
    assert task.result_text == "Клиент согласен на пролонгацию, выслать расчёт на почту"
    assert task.last_modified == datetime(2025, 3, 17, 7, 5, tzinfo=UTC)


def test_tasks_plural_unix() -> None:
    parsed = parse("tasks_plural_unix.txt", timezone="Europe/Moscow")
    assert [(e.entity, e.action, e.entity_id) for e in parsed.events] == [
        ("task", "add", 90112301),
        ("task", "add", 90112302),
    ]
    first, second = (event.payload for event in parsed.events)
    assert isinstance(first, TaskFields) and isinstance(second, TaskFields)
    assert (first.element_entity, second.element_entity) == ("contact", "company")
    assert first.complete_till == datetime.fromtimestamp(1742331540, UTC)
    assert second.complete_till == datetime(2025, 3, 20, 8, 0, tzinfo=UTC)
    assert second.task_type == 2 and second.text == "Встреча: страхование автопарка"


def test_unsorted_add() -> None:
    event = only(parse("unsorted_add.txt"))
    assert (event.entity, event.action, event.entity_id) == ("unsorted", "add", 31870233)
    assert classify_event(event).disposition is Disposition.IGNORED
    item = event.payload
    assert isinstance(item, UnsortedFields)
    assert (item.category, item.source, item.pipeline_id) == ("forms", "Форма на сайте", PIPELINE)
    assert item.uid == "b8a3f1e2c4d5e6f708192a3b4c5d6e7f8091a2b3"


def test_batch_mixed() -> None:
    parsed = parse("batch_mixed.txt")
    assert [(e.entity, e.action, e.entity_id, e.index) for e in parsed.events] == [
        ("lead", "add", 31870301, "0"),
        ("lead", "update", LEAD, "0"),
        ("lead", "update", LEAD2, "1"),
        ("lead", "status", 31870302, "0"),
        ("contact", "update", 48210377, "0"),
        ("company", "update", 48210455, "1"),
        ("task", "add", 90112400, "0"),
        ("customers", "add", 5512, "0"),
    ]
    verdicts = [classify_event(event) for event in parsed.events]
    assert [v.disposition for v in verdicts].count(Disposition.HANDLED) == 7
    assert verdicts[-1].disposition is Disposition.UNSUPPORTED
    assert verdicts[-1].reason == "no handler for customers/add"
    assert parsed.events[-1].payload is None
    update2 = parsed.events[2].payload
    assert isinstance(update2, LeadFields) and update2.modified_by_robot


def test_dp_status() -> None:
    parsed = parse("dp_status.txt")
    assert parsed.account_link is None  # the short DP form has no _links
    event = only(parsed)
    assert (event.entity, event.action, event.entity_id) == ("lead", "status", LEAD)
    assert kind_of(event) is EventKind.LEAD_STATUS_CHANGED
    lead = event.payload
    assert isinstance(lead, LeadFields)
    assert (lead.old_status_id, lead.status_id) == (CALC, AGREE)
    assert (lead.old_pipeline_id, lead.pipeline_id) == (PIPELINE, PIPELINE)
    assert lead.name is None


@pytest.mark.parametrize("content_type", ["application/json", FORM, None])
def test_dp_widget_json(content_type: str | None) -> None:
    parsed = parse("dp_widget_json.json", content_type)
    assert (parsed.source, parsed.account_id, parsed.subdomain) == ("json", ACCOUNT, SUBDOMAIN)
    event = only(parsed)
    assert (event.entity, event.action, event.entity_id) == ("lead", "dp", LEAD)
    assert kind_of(event) is EventKind.LEAD_DP_ACTION
    dp = event.payload
    assert isinstance(dp, DigitalPipelineFields)
    assert (dp.event_type, dp.type_code) == ("14", "lead_appeared_in_status")
    assert (dp.element_type, dp.status_id, dp.pipeline_id) == (2, AGREE, PIPELINE)
    assert dp.time == datetime(2025, 3, 11, 11, 2, 10, tzinfo=UTC)
    assert dp.widget_settings["send_sms"] == "1"
    assert dp.widget_settings["sms_template"].startswith("Здравствуйте, {{name}}!")


def test_foreign_account() -> None:
    parsed = parse("foreign_account.txt")  # parses fine: refusing it is the door's job
    assert (parsed.account_id, parsed.subdomain) == (31000001, "other-agency")
    assert account_id_of(raw("foreign_account.txt"), FORM) == 31000001
    assert only(parsed).entity_id == 5530917


def test_truncated() -> None:
    with pytest.raises(WebhookParseError) as caught:
        parse_webhook(raw("truncated.txt"), FORM)
    assert caught.value.code == "truncated"
    assert "truncated" in caught.value.reason and "custom_fields" in caught.value.reason
    assert account_id_of(raw("truncated.txt"), FORM) is None  # the account block was lost


def test_garbage() -> None:
    with pytest.raises(WebhookParseError) as caught:
        parse_webhook(raw("garbage.txt"), FORM)
    assert caught.value.code == "binary"
    assert "not UTF-8" in caught.value.reason
    assert not caught.value.retryable
    assert account_id_of(raw("garbage.txt"), FORM) is None


def test_every_fixture_has_a_test() -> None:
    module = sys.modules[__name__]
    tested = {
        name.removeprefix("test_")
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("test_")
    }
    # Raw bodies only: the README and the simulator seed behind them are not webhook bodies.
    stored = {path.stem for path in FIXTURES.iterdir()
              if path.suffix in (".txt", ".json")}
    assert stored - tested == set(), "fixtures without a test"
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    assert [path.name for path in FIXTURES.iterdir() if f"`{path.name}`" not in readme] == [
        "README.md"
    ]
