"""parse_webhook / account_id_of / to_json_lines / dispatch beyond the stored fixtures."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from amo_bridge.amocrm.webhook import (
    EVENT_KINDS,
    IGNORED_EVENTS,
    MAX_BODY_BYTES,
    Disposition,
    EventKind,
    LeadFields,
    NoteFields,
    TaskFields,
    UnsortedFields,
    WebhookEvent,
    WebhookParseError,
    account_id_of,
    classify_event,
    parse_webhook,
    to_json_lines,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "amocrm"
FORM = "application/x-www-form-urlencoded"
ACCOUNT = [("account[subdomain]", "demo-broker"), ("account[id]", "29085712")]


def body(*pairs: tuple[str, str], account: bool = True) -> bytes:
    return urlencode(list(pairs) + (ACCOUNT if account else [])).encode()


def make_huge_body(size: int) -> bytes:
    """A well-formed hook of many ``leads[update][i]`` items, at least ``size`` bytes long.

    Built on the fly: a 16 MB fixture does not belong in git (see the fixtures README).
    """
    template = urlencode(
        [
            ("leads[update][INDEX][id]", "ID"),
            ("leads[update][INDEX][name]", "КАСКО — Иванов Иван Иванович"),
            ("leads[update][INDEX][status_id]", "63012348"),
        ]
    )
    chunks, length, index = [], 0, 0
    while length < size:
        chunk = template.replace("INDEX", str(index)).replace("=ID&", f"={40000000 + index}&")
        chunks.append(chunk)
        length += len(chunk) + 1
        index += 1
    return ("&".join(chunks) + "&" + urlencode(ACCOUNT)).encode()


def reason_of(raw: bytes, content_type: str | None = FORM) -> tuple[str, str]:
    with pytest.raises(WebhookParseError) as caught:
        parse_webhook(raw, content_type)
    return caught.value.code, caught.value.reason


# --- negative bodies -------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"   \r\n", "\ufeff".encode()])
def test_empty_body(raw: bytes) -> None:
    assert reason_of(raw) == ("empty", "empty body")


def test_huge_body_is_refused_but_its_account_is_still_readable() -> None:
    huge = make_huge_body(MAX_BODY_BYTES + 1)  # 16 MiB + 1: just over the door's default
    assert len(huge) > MAX_BODY_BYTES
    code, reason = reason_of(huge)
    assert code == "too_large" and f"{MAX_BODY_BYTES}-byte limit" in reason
    assert account_id_of(huge, FORM) == 29085712


def test_large_but_plausible_body_parses() -> None:
    big = make_huge_body(512 * 1024)  # a bulk change of ~2000 deals
    with pytest.raises(WebhookParseError, match="over the 4096-byte limit"):
        parse_webhook(big, FORM, max_bytes=4096)
    parsed = parse_webhook(big, FORM)
    assert len(parsed.events) > 1500
    assert parsed.events[-1].entity_id == 40000000 + len(parsed.events) - 1


def test_text_junk_is_not_a_form() -> None:
    code, reason = reason_of(b"hello, this is not a webhook", "text/plain")
    assert code == "malformed"
    assert "declared text/plain" in reason and "has no '='" in reason


def test_missing_account_block() -> None:
    code, reason = reason_of(body(("leads[add][0][id]", "1"), account=False))
    assert code == "no_account" and "account[id]" in reason


@pytest.mark.parametrize("value", ["abc", "-5", "0", "29085712.5"])
def test_unreadable_account_id(value: str) -> None:
    raw = urlencode([("leads[add][0][id]", "1"), ("account[id]", value)]).encode()
    code, reason = reason_of(raw)
    assert code == "bad_account" and value in reason
    assert account_id_of(raw, FORM) is None


def test_conflicting_account_ids() -> None:
    raw = body(("account[id]", "31000001"), ("leads[add][0][id]", "1"))
    assert reason_of(raw)[0] == "bad_account"
    assert account_id_of(raw, FORM) is None


def test_subdomain_only_account_block_parses_without_id() -> None:
    raw = urlencode([("leads[add][0][id]", "7"), ("account[subdomain]", "demo-broker")]).encode()
    parsed = parse_webhook(raw, FORM)
    assert (parsed.account_id, parsed.subdomain) == (None, "demo-broker")
    assert account_id_of(raw, FORM) is None


@pytest.mark.parametrize(
    "tail",
    [
        "&leads%5Bupdate%5D%5B0%5D%5Bname%5D=%D0%98%D0%B2%D0",  # cut inside a UTF-8 sequence
        "&leads%5Bupdate%5D%5B0%5D%5Bname%5D=%D0%98%D",  # cut inside a percent-escape
        "&leads%5Bupdate%5D%5B0%5D%5Bna",  # cut inside a key
    ],
)
def test_truncated_bodies(tail: str) -> None:
    raw = body(("leads[update][0][id]", "1")) + tail.encode()
    code, reason = reason_of(raw)
    assert code == "truncated" and reason.startswith("body looks truncated")


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ("leads[add=1", "unclosed '['"),
        ("[add]=1", "no name before '['"),
        ("leads[add]x=1", "text after a closing ']'"),
        ("name=%ZZ", "broken percent-escape"),
        ("name=%FF", "not valid UTF-8"),
        ("a" + "[x]" * 40 + "=1", "nests deeper than"),
    ],
)
def test_malformed_pairs(pairs: str, expected: str) -> None:
    code, reason = reason_of(f"leads%5Badd%5D%5B0%5D%5Bid%5D=1&{pairs}&account%5Bid%5D=1".encode())
    assert code == "malformed" and expected in reason


def test_control_characters_mean_binary() -> None:
    assert reason_of(b"leads[add][0][id]=1\x00\x01&account[id]=1")[0] == "binary"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"event": {"type": 1', "bad_json"),
        (b"[1, 2, 3]", "bad_json"),
        (b'{"leads": {"status": []}}', "not_dp_event"),
        (b'{"event": {"data": {"id": 1}}}', "no_account"),
        (b'{"event": {"data": {"id": 1}}, "account_id": "x"}', "bad_account"),
        (b"[" * 100000, "bad_json"),
    ],
)
def test_bad_json_bodies(raw: bytes, code: str) -> None:
    assert reason_of(raw, "application/json")[0] == code


def test_every_prefix_of_a_fixture_parses_or_raises_a_parse_error() -> None:
    raw = (FIXTURES / "lead_update_custom_fields.txt").read_bytes()
    outcomes = set()
    for end in range(len(raw) + 1):
        try:
            parse_webhook(raw[:end], FORM)
            outcomes.add("parsed")
        except WebhookParseError as error:
            outcomes.add(error.code)
    assert outcomes <= {"parsed", "empty", "truncated", "no_account", "bad_account", "malformed"}
    assert {"truncated", "no_account", "parsed"} <= outcomes


def test_random_bytes_never_escape_as_another_error() -> None:
    rng = random.Random(20250314)
    alphabet = b'%[]&=+{}0123456789abcdefABCDEF"\xd0\x98 '
    for _ in range(2000):
        raw = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
        try:
            parse_webhook(raw, rng.choice([FORM, "application/json", None]))
        except WebhookParseError:
            pass
        account_id_of(raw, None)  # never raises


# --- content sniffing, encodings, leniency -----------------------------------------------------


def test_json_content_type_with_a_form_body_is_read_as_a_form() -> None:
    parsed = parse_webhook(body(("leads[status][0][id]", "5")), "application/json")
    assert parsed.source == "form" and parsed.events[0].entity_id == 5


def test_bom_and_trailing_newline_are_tolerated() -> None:
    raw = "\ufeff".encode() + body(("leads[status][0][id]", "5")) + b"\r\n"
    assert parse_webhook(raw, FORM).subdomain == "demo-broker"
    dp = (FIXTURES / "dp_widget_json.json").read_bytes()
    assert account_id_of("\ufeff".encode() + dp, "application/json") == 29085712


def test_unencoded_cyrillic_and_plus_signs() -> None:
    raw = (
        "contacts[add][0][id]=9&contacts[add][0][name]=Иванов+Иван+Иванович"
        "&contacts[add][0][custom_fields][0][id]=1318401"
        "&contacts[add][0][custom_fields][0][values][0][value]=%2B7+916+123-45-67"
        "&contacts[add][0][custom_fields][0][code]=PHONE&account[id]=29085712"
    ).encode()
    contact = parse_webhook(raw, FORM).events[0].payload
    assert contact.name == "Иванов Иван Иванович"
    assert contact.custom_fields[0].first.value == "+7 916 123-45-67"


def test_custom_field_value_shapes() -> None:
    prefix = "leads[update][0][custom_fields]"
    raw = body(
        ("leads[update][0][id]", "1"),
        (f"{prefix}[0][id]", "10"),
        (f"{prefix}[0][values][0][value]", "КАСКО"),
        (f"{prefix}[0][values][0][enum]", "2965541"),
        (f"{prefix}[1][id]", "11"),
        (f"{prefix}[1][values][0]", "1773522000"),  # bare value
        (f"{prefix}[1][values][1]", "1773608400"),
        (f"{prefix}[2][id]", "12"),
        (f"{prefix}[2][values][0][enum]", "222"),  # enum without text
        (f"{prefix}[3][id]", "13"),
        (f"{prefix}[3][values]", "scalar"),  # undocumented: read as one value
        (f"{prefix}[4][name]", "no id"),  # skipped: nothing could map it
        (f"{prefix}[5][id]", "15"),
        (f"{prefix}[5][values][0][value]", "x"),
        (f"{prefix}[5][values][0][subtype]", "address_line_1"),  # unknown key ignored
    )
    lead = parse_webhook(raw, FORM).events[0].payload
    assert isinstance(lead, LeadFields)
    shapes = {f.field_id: [(v.value, v.enum_id) for v in f.values] for f in lead.custom_fields}
    assert shapes == {
        10: [("КАСКО", 2965541)],
        11: [("1773522000", None), ("1773608400", None)],
        12: [(None, 222)],
        13: [("scalar", None)],
        15: [("x", None)],
    }


def test_unknown_keys_are_ignored_and_kept_raw() -> None:
    raw = body(
        ("foo", "bar"),  # top-level scalar
        ("leads", "oops"),  # overwritten below: PHP's last-wins
        ("leads[status][0][id]", "5"),
        ("leads[status][0][brand_new_field][deep]", "x"),
        ("leads[status][0][price]", "35000.00"),
        ("leads[status][meta]", "scalar under an action"),
        ("leads[frobnicate][0][id]", "6"),
    )
    parsed = parse_webhook(raw, FORM)
    assert [(e.entity, e.action, e.entity_id) for e in parsed.events] == [
        ("lead", "status", 5),
        ("lead", "frobnicate", 6),
    ]
    status, unknown = parsed.events
    assert status.raw["brand_new_field"] == {"deep": "x"}
    assert isinstance(status.payload, LeadFields) and status.payload.price == 35000
    assert isinstance(unknown.payload, LeadFields)
    verdict = classify_event(unknown)
    assert (verdict.disposition, verdict.reason) == (
        Disposition.UNSUPPORTED,
        "no handler for lead/frobnicate",
    )


def test_both_task_spellings_and_several_actions_in_one_body() -> None:
    raw = body(
        ("task[add][0][id]", "1"),
        ("task[add][0][complete_till]", "2026-02-13 23:59:00"),
        ("tasks[update][0][id]", "2"),
        ("tasks[update][0][complete_till]", "1771016340"),
        ("tasks[update][0][status]", "1"),
        ("task[delete][0][id]", "3"),
    )
    parsed = parse_webhook(raw, FORM, timezone="Europe/Moscow")
    assert [(e.entity, e.action, e.entity_id) for e in parsed.events] == [
        ("task", "add", 1),
        ("task", "delete", 3),
        ("task", "update", 2),
    ]
    added, _, updated = (e.payload for e in parsed.events)
    assert isinstance(added, TaskFields) and isinstance(updated, TaskFields)
    assert added.complete_till == updated.complete_till == datetime(2026, 2, 13, 20, 59, tzinfo=UTC)
    assert updated.is_completed and not added.is_completed


@pytest.mark.parametrize(
    ("value", "timezone", "expected"),
    [
        ("2026-02-13 23:59:00", None, datetime(2026, 2, 13, 23, 59, tzinfo=UTC)),
        ("2026-02-13 23:59:00", "Europe/Moscow", datetime(2026, 2, 13, 20, 59, tzinfo=UTC)),
        ("2026-02-13 23:59:00", "Asia/Yekaterinburg", datetime(2026, 2, 13, 18, 59, tzinfo=UTC)),
        ("1771016340", "Asia/Yekaterinburg", datetime(2026, 2, 13, 20, 59, tzinfo=UTC)),
        ("2026-02-13T23:59:00+03:00", None, datetime(2026, 2, 13, 20, 59, tzinfo=UTC)),
        ("2026-02-13", "Europe/Moscow", datetime(2026, 2, 12, 21, 0, tzinfo=UTC)),
        ("0", None, None),
        ("", None, None),
        ("soon", None, None),
    ],
)
def test_task_date_formats(value: str, timezone: str | None, expected: datetime | None) -> None:
    raw = body(("task[add][0][id]", "1"), ("task[add][0][complete_till]", value))
    task = parse_webhook(raw, FORM, timezone=timezone).events[0].payload
    assert isinstance(task, TaskFields)
    assert task.complete_till == expected
    assert task.complete_till is None or task.complete_till.tzinfo is UTC


def test_unknown_timezone_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="unknown timezone"):
        parse_webhook(body(("task[add][0][id]", "1")), FORM, timezone="Mars/Olympus")


def test_contact_note_on_a_company_and_a_flat_note() -> None:
    raw = body(
        ("contacts[note][0][note][element_id]", "48210455"),
        ("contacts[note][0][note][element_type]", "3"),
        ("contacts[note][0][note][note_type]", "4"),
        ("contacts[note][0][note][text]", "Запросили список ТС автопарка"),
        ("contacts[note][1][element_id]", "48210377"),
        ("contacts[note][1][element_type]", "1"),
        ("contacts[note][1][text]", "flat"),
    )
    company, contact = parse_webhook(raw, FORM).events
    assert (company.entity, company.entity_id) == ("company", 48210455)
    assert (contact.entity, contact.entity_id) == ("contact", 48210377)
    assert isinstance(contact.payload, NoteFields) and contact.payload.text == "flat"
    assert classify_event(company).disposition is Disposition.IGNORED


def test_unsorted_delete_decision() -> None:
    raw = body(("unsorted[delete][0][uid]", "abc"), ("unsorted[delete][0][action]", "decline"))
    event = parse_webhook(raw, FORM).events[0]
    assert isinstance(event.payload, UnsortedFields)
    assert (event.entity_id, event.payload.decision) == (None, "decline")
    assert classify_event(event).disposition is Disposition.IGNORED


@pytest.mark.parametrize(
    ("element_type", "entity", "disposition"),
    [(2, "lead", "handled"), (None, "lead", "handled"), (12, "customer", "unsupported"),
     (99, "element_type_99", "unsupported")],
)  # fmt: skip
def test_dp_widget_element_types(element_type: int | None, entity: str, disposition: str) -> None:
    data: dict[str, object] = {"id": "31870021", "status_id": "1", "pipeline_id": "2"}
    if element_type is not None:
        data["element_type"] = element_type
    raw = json.dumps({"event": {"data": data}, "account_id": "29085712"}).encode()
    event = parse_webhook(raw, None).events[0]
    assert (event.entity, event.action, event.entity_id) == (entity, "dp", 31870021)
    assert classify_event(event).disposition == disposition


# --- dispatch ----------------------------------------------------------------------------------


def test_dispatch_tables_are_disjoint_and_cover_the_documented_actions() -> None:
    assert not set(EVENT_KINDS) & set(IGNORED_EVENTS)
    assert len(set(EVENT_KINDS.values())) == len(EVENT_KINDS) == len(EventKind)
    documented = [
        *(("lead", a) for a in ("add", "update", "status", "delete", "restore", "responsible")),
        *(("contact", a) for a in ("add", "update", "delete", "restore", "responsible")),
        *(("company", a) for a in ("add", "update", "delete", "restore", "responsible")),
        *(("task", a) for a in ("add", "update", "delete")),
    ]
    assert all(pair in EVENT_KINDS for pair in documented)
    assert ("lead", "note") in IGNORED_EVENTS and ("unsorted", "add") in IGNORED_EVENTS


def test_classify_reports_a_handled_kind_without_an_id_as_unsupported() -> None:
    event = WebhookEvent(entity="lead", action="status", entity_id=None, payload=None)
    verdict = classify_event(event)
    assert verdict.disposition is Disposition.UNSUPPORTED
    assert verdict.kind is EventKind.LEAD_STATUS_CHANGED
    assert "without a readable id" in (verdict.reason or "")


def test_classify_accepts_other_tables() -> None:
    event = WebhookEvent(entity="lead", action="note", entity_id=1, payload=None)
    verdict = classify_event(event, kinds={("lead", "note"): EventKind.LEAD_UPDATED})
    assert (verdict.disposition, verdict.kind) == (Disposition.HANDLED, EventKind.LEAD_UPDATED)


# --- JSON lines --------------------------------------------------------------------------------


def test_json_lines_one_object_per_event() -> None:
    parsed = parse_webhook((FIXTURES / "batch_mixed.txt").read_bytes(), FORM)
    lines = list(to_json_lines(parsed))
    assert len(lines) == len(parsed.events) == 8
    records = [json.loads(line) for line in lines]
    assert all("\n" not in line for line in lines)
    first = records[0]
    assert {k: first[k] for k in ("entity", "action", "entity_id", "kind", "disposition")} == {
        "entity": "lead",
        "action": "add",
        "entity_id": 31870301,
        "kind": "lead_added",
        "disposition": "handled",
    }
    assert first["account_id"] == 29085712 and first["subdomain"] == "demo-broker"
    assert first["fields"]["name"] == "ИФЛ квартира — Кузнецов А.В."
    assert first["fields"]["updated_at"] == "2025-03-17T07:05:00+00:00"
    assert "ИФЛ" in lines[0]  # not \u-escaped
    assert records[4]["fields"]["custom_fields"][0]["values"][0] == {
        "value": "+7 (916) 123-45-67",
        "enum_id": 2965401,
    }
    assert records[-1]["disposition"] == "unsupported" and records[-1]["fields"] is None
    assert records[-1]["reason"] == "no handler for customers/add"
    assert "raw" not in first


def test_json_lines_with_raw_and_dp_settings() -> None:
    parsed = parse_webhook((FIXTURES / "dp_widget_json.json").read_bytes(), "application/json")
    (line,) = to_json_lines(parsed, include_raw=True)
    record = json.loads(line)
    assert record["fields"]["widget_settings"]["send_sms"] == "1"
    assert record["fields"]["time"] == "2025-03-11T11:02:10+00:00"
    assert record["raw"]["subdomain"] == "demo-broker"


# --- account_id_of -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=1&account%5bid%5d=29085712", 29085712),
        (b"account[id]=29085712&leads[status][0][id]=1", 29085712),
        (b"leads[status][0][account[id]]=1&account[id]=29085712", 29085712),
        (b"leads[status][0][account_id]=29085712", None),
        (b"leads[status][0][name]=xaccount[id]=1&account[id]=29085712", 29085712),
        (b"leads[status][0][name]=my+account[id]=5", None),
        (b"account[id]=29085712abc", None),
        (b"account[id]=1&account[id]=2", None),
        (b"account[id]=1&account[id]=1", 1),
        (b'{"account_id": "29085712"}', 29085712),
        (b'{"account_id": 29085712.0}', 29085712),
        (b'{"account_id": -1}', None),
        (b'{"account_id": ', None),
        (b"[", None),
        (b"\xff\xfe", None),
        (b"", None),
        ("account[id]=7", 7),
        (None, None),
        (12, None),
    ],
)
def test_account_id_of(raw: object, expected: int | None) -> None:
    assert account_id_of(raw, FORM) == expected  # type: ignore[arg-type]
