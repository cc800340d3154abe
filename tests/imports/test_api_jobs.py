"""The widget's import API over real HTTP, the background job, and the new clients created in
the amoCRM simulator in batches of ≤ 50 — the whole path on loopback (``local_stack``)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import jwt
import pytest
from sqlalchemy import select

from amo_bridge.devstack import local_stack
from amo_bridge.imports import runs
from amo_bridge.models import Contact, ImportContact, ImportRun, Policy, User
from amo_bridge.settings import load_settings
from tests.imports.conftest import FIXTURES

SECRET = "import-tests-client-secret-0123456789"
AUDIENCE = "https://bridge.example.com"
ADMIN, MANAGER, FINANCE = 8011001, 8011002, 8011003


@pytest.fixture
def stack(migrated_url, tmp_path):
    settings = load_settings({"DATABASE_URL": migrated_url, "INSTANCE_PATH": str(tmp_path),
                              "JOB_MODE": "thread", "AMOCRM_CLIENT_SECRET": SECRET,
                              "PUBLIC_URL": AUDIENCE})
    with local_stack(settings) as running:
        with running.runtime.session() as session:
            finance = session.scalar(select(User).where(User.amocrm_id == FINANCE))
            finance.is_finance = True
        yield running


def _token(stack, user_id: int) -> str:
    now = int(time.time())
    return jwt.encode({"aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 600,
                       "account_id": stack.amocrm_account_id, "user_id": user_id}, SECRET,
                      algorithm="HS256")


def _call(stack, method: str, path: str, user: int | None = ADMIN, **kwargs):
    headers = {"X-Auth-Token": _token(stack, user)} if user else {}
    return stack.http.request(method, f"{stack.bridge.url}/widget/api/imports{path}",
                              headers=headers, timeout=30, **kwargs)


def _upload(stack, name: str | None = None, *, content: bytes | None = None,
            user: int | None = ADMIN, **form):
    data = content if content is not None else (FIXTURES / name).read_bytes()
    return _call(stack, "POST", "", user, files={"file": (name or "base.csv", data)}, data=form)


def _finished(stack, run_id: int) -> dict:
    stack.wait(timeout=120)
    body = _call(stack, "GET", f"/{run_id}").json()
    assert body["status"] in ("done", "failed"), body
    return body


def test_upload_progress_result_rejected_rows_and_clients_in_amocrm(stack):
    answer = _upload(stack, "merged_serial.xlsx")
    assert answer.status_code == 202, answer.text
    started = answer.json()
    assert started["status"] in ("queued", "running", "done")
    assert started["links"]["self"] == f"{AUDIENCE}/widget/api/imports/{started['id']}"

    body = _finished(stack, started["id"])

    assert body["status"] == "done" and body["status_text"] == "готово"
    assert body["summary"]["imported"] == 6 and body["summary"]["rejected"] == 6
    assert body["progress"] == {"rows_done": 19, "rows_total": 19, "percent": 100}
    assert body["issues"][0]["text"].startswith("строка 9, столбец F «Дата начала»: даты")
    assert body["report"]["header_row"] == 3
    english = _call(stack, "GET", f"/{started['id']}?lang=en").json()
    assert english["issues"][0]["text"].startswith("row 9, column F “Дата начала”")
    rejected = _call(stack, "GET", f"/{started['id']}/rejected.csv")
    assert rejected.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert rejected.content == (FIXTURES / "merged_serial.rejected.csv").read_bytes()

    # The clients the import created were sent to amoCRM by the follow-up job, and the
    # imported policies now point at amoCRM contacts.
    with stack.runtime.session() as session:
        statuses = set(session.scalars(select(ImportContact.status)))
        linked = session.execute(select(Policy.number, Contact.amocrm_id).join(
            Contact, Contact.id == Policy.contact_id).where(Policy.source == "import")).all()
        run = session.get(ImportRun, started["id"])
        assert run.content is None  # the uploaded base does not stay in the database
    assert statuses == {"created"}
    assert len(linked) == 6 and all(amocrm_id for _, amocrm_id in linked)
    found = list(stack.client().contacts(query="+79161112233", with_=()))
    assert [c.name for c in found] == ["Иванов Иван Иванович"]


def test_new_clients_go_to_amocrm_fifty_per_request(stack):
    stack.sim("POST", "/stats/reset")
    lines = ["ФИО;Телефон;Вид страхования;Дата окончания;Премия"]
    lines += [f"Клиент {n};+7 999 100-{n // 100:02d}-{n % 100:02d};ОСАГО;01.02.2025;1000"
              for n in range(120)]
    answer = _upload(stack, "base.csv", content="\n".join(lines).encode("utf-8"))
    body = _finished(stack, answer.json()["id"])
    assert body["summary"]["contacts_created"] == 120

    stats = stack.sim("GET", "/stats")
    assert stats["endpoints"]["POST /api/v4/contacts"] == 3  # 50 + 50 + 20
    assert stats["rate_limited"] == 0 and stats["max_requests_per_second"] <= 7
    with stack.runtime.session() as session:
        assert session.scalars(select(Contact.amocrm_id).where(
            Contact.amocrm_id.is_(None))).all() == []


def test_a_lost_answer_is_looked_up_not_sent_twice(stack):
    """A contact whose create call's answer was lost is found by phone and adopted."""
    from jobs.imports import create_contacts

    lines = "ФИО;Телефон;Вид страхования;Дата окончания;Премия\n" \
            "Потерянный Ответ;+7 999 555-00-01;ОСАГО;01.02.2025;1000\n"
    with stack.runtime.session() as session:
        run = runs.create_run(session, account_id=stack.account_id, filename="a.csv",
                              content=lines.encode(), kind="ours", dry_run=False, sheet=None,
                              mapping=[], lang="ru", requested_by=None,
                              now=stack.runtime.clock.now())
        run_id = run.id
    # The contact already exists in amoCRM (our first request got through, its answer did not).
    stack.client().create_contacts([{"name": "Потерянный Ответ", "custom_fields_values": [
        {"field_code": "PHONE", "values": [{"value": "+79995550001", "enum_code": "MOB"}]}]}])
    from jobs.imports import run_import

    stack.runtime.queue.stop()  # run the jobs by hand, in order
    run_import(run_id)
    with stack.runtime.session() as session:
        item = session.scalar(select(ImportContact))
        item.status = "creating"
        item.updated_at = stack.runtime.clock.now() - timedelta(hours=1)
    stack.sim("POST", "/stats/reset")

    assert create_contacts(stack.account_id) == {"adopted": 1, "created": 0, "failed": 0,
                                                 "retry": 0}
    assert "POST /api/v4/contacts" not in stack.sim("GET", "/stats")["endpoints"]
    assert len(list(stack.client().contacts(query="+79995550001", with_=()))) == 1


@pytest.mark.parametrize(("user", "status"), [(None, 401), (MANAGER, 403), (FINANCE, 403)])
def test_only_admins_import(stack, user, status):
    answer = _upload(stack, "custom_headers.csv", user=user)
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert _call(stack, "GET", "", user).status_code == status


def test_strict_input_and_clear_refusals(stack):
    unknown = _upload(stack, "custom_headers.csv", colour="red")
    assert unknown.status_code == 422 and "colour" in unknown.json()["errors"]
    bad_kind = _upload(stack, "custom_headers.csv", kind="theirs")
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json()["errors"]
    no_file = _call(stack, "POST", "", data={"kind": "ours"})
    assert no_file.status_code == 422 and "file" in no_file.json()["errors"]
    xls = _upload(stack, "old.xls", content=bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 64)
    assert xls.status_code == 422
    assert xls.json()["messages"]["ru"].startswith("Это файл старого формата Excel (.xls)")
    bad_map = _upload(stack, "custom_headers.csv", map="Моб.=телепорт")
    assert bad_map.status_code == 422 and "телепорт" in bad_map.json()["detail"]
    assert _call(stack, "GET", "/999999").status_code == 404


def test_one_import_at_a_time_and_the_list(stack):
    with stack.runtime.session() as session:
        runs.create_run(session, account_id=stack.account_id, filename="x.csv", content=b"x",
                        kind="ours", dry_run=False, sheet=None, mapping=[], lang="ru",
                        requested_by=ADMIN, now=stack.runtime.clock.now())
    busy = _upload(stack, "custom_headers.csv")
    assert busy.status_code == 409 and "Уже идёт импорт" in busy.json()["detail"]
    listed = _call(stack, "GET", "?limit=5").json()["items"]
    assert [item["filename"] for item in listed] == ["x.csv"]


def test_a_file_that_cannot_be_imported_fails_once_with_the_reason(stack):
    answer = _upload(stack, "x.csv", content="Колонка;Другая\n1;2\n".encode())
    body = _finished(stack, answer.json()["id"])
    assert body["status"] == "failed" and body["attempts"] == 1
    assert body["error"].startswith("В первых 30 строках не найдена строка заголовка")
    with stack.runtime.session() as session:
        run = session.get(ImportRun, answer.json()["id"])
        assert run.content is None and run.finished_at <= datetime.now(run.finished_at.tzinfo)
