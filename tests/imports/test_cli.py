"""`amo-bridge import-policies` as a broker runs it: a real process, its report and exit code."""

from __future__ import annotations

import shutil

import pytest

from amo_bridge.db import Database
from tests.core.test_cli import run
from tests.imports.conftest import FIXTURES, Ledger, seed


@pytest.fixture
def database(sqlite_url):
    from amo_bridge import migrate

    migrate.upgrade(sqlite_url)
    db = Database(sqlite_url)
    with db.session() as session:
        seed(session)
    db.dispose()
    return sqlite_url


def test_import_prints_the_report_and_writes_the_rejected_rows(database, tmp_path):
    source = tmp_path / "cp1251_semicolon.csv"
    shutil.copy(FIXTURES / "cp1251_semicolon.csv", source)

    result = run("import-policies", str(source), env={"DATABASE_URL": database})

    assert result.returncode == 1  # some rows were rejected
    report = (FIXTURES / "cp1251_semicolon.expected.txt").read_text(encoding="utf-8")
    rejected = tmp_path / "cp1251_semicolon-rejected.csv"
    assert result.stdout == report + f"Отклонённые строки: {rejected}\n" + \
        "Новых клиентов создаст в amoCRM работающий amo-bridge (amo-bridge serve) в течение " \
        "нескольких минут.\n"
    assert rejected.read_bytes() == (FIXTURES / "cp1251_semicolon.rejected.csv").read_bytes()
    assert "Traceback" not in result.stderr

    again = run("import-policies", str(source), "--rejected-out", str(tmp_path / "r.csv"),
                env={"DATABASE_URL": database})
    assert "импортировано 0, обновлено 0, без изменений 4, отклонено 7" in again.stdout


def test_dry_run_map_and_english(database, tmp_path):
    before = Ledger(Database(database), 1, None).snapshot()
    result = run("import-policies", str(FIXTURES / "custom_headers.csv"), "--dry-run",
                 "--map", "Моб.=phone", "--map", "Куратор=manager", "--map", "Служебное=",
                 "--lang", "en", env={"DATABASE_URL": database})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Policy import, dry run (nothing written): custom_headers")
    assert "B “Моб.” → Phone (--map)" in result.stdout
    assert "Summary (dry run): read 3, would import 3" in result.stdout
    assert Ledger(Database(database), 1, None).snapshot() == before
    assert not (FIXTURES / "custom_headers-rejected.csv").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--sheet", "Лист1"], "amo-bridge: error: Листа «Лист1» нет в файле; есть: "
                           "«Полисы 2024», «Справочник»."),
    (["--map", "Номер"], "amo-bridge: error: --map «Номер»: нужно 'Заголовок=поле'."),
    (["--account", "other"], "amo-bridge: error: --account: no connected account 'other'"),
])
def test_problems_are_one_line(database, args, message):
    result = run("import-policies", str(FIXTURES / "merged_serial.xlsx"), *args,
                 env={"DATABASE_URL": database})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in result.stderr
