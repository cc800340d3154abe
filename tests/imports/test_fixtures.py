"""Every messy fixture prints exactly its committed report and writes exactly its rejected rows;
importing it again changes nothing; a corrected file updates only the corrected rows. On both
SQLite and PostgreSQL (``migrated_url``)."""

from __future__ import annotations

from datetime import date

import pytest

from amo_bridge.imports import render_text
from amo_bridge.imports.keys import numbered_key
from tests.imports.cases import CASES, Case, run_case
from tests.imports.conftest import FIXTURES


def _counts_add_up(summary) -> None:
    assert summary.read == (summary.imported + summary.updated + summary.unchanged
                            + summary.rejected + summary.skipped)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.stem)
def test_report_and_rejected_rows_match_the_committed_ones(ledger, case: Case):
    result, rejected = run_case(ledger, case)

    assert render_text(result, case.lang) == case.report.read_text(encoding="utf-8")
    if result.summary.rejected:
        assert rejected == case.rejected.read_bytes().decode("utf-8")
    else:
        assert not case.rejected.exists()
        assert rejected.count("\r\n") == 1  # the header only
    _counts_add_up(result.summary)


@pytest.mark.parametrize("case", [c for c in CASES if c.lang == "ru"], ids=lambda c: c.stem)
def test_importing_the_same_file_again_changes_nothing(ledger, case: Case):
    first, _ = run_case(ledger, case)
    before = ledger.snapshot()

    again, _ = ledger.run(FIXTURES / case.file, **case.options)

    assert (again.summary.imported, again.summary.updated) == (0, 0)
    assert again.summary.unchanged == (first.summary.imported + first.summary.updated
                                       + first.summary.unchanged)
    assert again.summary.rejected == first.summary.rejected
    assert again.summary.contacts_created == 0
    assert again.summary.money_lines == 0
    assert ledger.snapshot() == before


def test_a_corrected_file_updates_only_the_corrected_rows(ledger):
    ledger.run(FIXTURES / "cp1251_semicolon.csv")
    before = ledger.snapshot()

    result, _ = ledger.run(FIXTURES / "cp1251_semicolon.corrected.csv")

    after = ledger.snapshot()
    old = {row[1]: row for row in before["policy"]}
    new = {row[1]: row for row in after["policy"]}
    changed = {key for key in old if old[key] != new[key]}
    added = set(new) - set(old)
    petrova = numbered_key("Согласие", "КС-2024-77")
    assert changed == {petrova}  # the premium 65 000 → 66 500
    premium = 7  # column position in the snapshot
    assert (old[petrova][premium], new[petrova][premium]) == (6_500_000, 6_650_000)
    assert {new[key][4] for key in added} == {"osago", "mortgage"}  # Соколов, Морозова
    morozova = numbered_key("Сбербанк страхование", "ИП-1")
    assert new[morozova][12:14] == (date(2024, 2, 29), date(2025, 2, 28))
    # The money of the corrected policy: its sale reversed and booked again; nothing else moved.
    lines_before = set(before["money_line"])
    lines_after = set(after["money_line"])
    assert lines_before <= lines_after
    assert [line[3] for line in sorted(lines_after - lines_before)
            if line[1] == new[petrova][0]] == ["reversal", "correction"]
    assert (result.summary.imported, result.summary.updated, result.summary.unchanged) == (2, 1, 3)


def test_a_dry_run_reports_the_same_and_writes_nothing(ledger):
    before = ledger.snapshot()
    dry, _ = ledger.run(FIXTURES / "merged_serial.xlsx", dry_run=True)
    assert ledger.snapshot() == before

    real, _ = ledger.run(FIXTURES / "merged_serial.xlsx")
    assert (dry.summary.money_lines, real.summary.money_lines) == (0, 5)  # nothing is booked
    real.summary.money_lines = 0
    assert dry.summary == real.summary
    report = render_text(dry).splitlines()
    assert report[0] == "Пробный импорт полисов (ничего не записано): merged_serial.xlsx"


def test_rejected_rows_fixed_by_the_broker_import_again(ledger):
    _, rejected = ledger.run(FIXTURES / "cp1251_semicolon.csv")
    # The broker opens the CSV, fixes two cells and imports that very file.
    fixed = rejected.replace('"=""123-45-67"""', '"=""8 903 123-45-69"""') \
        .replace("Каско плюс", "КАСКО")
    assert fixed != rejected

    result, still = ledger.run(fixed.encode("utf-8"), filename="fixed.csv")

    assert result.summary.imported == 2  # Соколов and Лебедев
    # Орлов's repeat names row 3's policy in other spellings: nothing to change there.
    assert (result.summary.updated, result.summary.unchanged) == (0, 1)
    assert result.summary.rejected == 4
    assert result.columns[0].field is None and result.columns[1].field is None  # reason, row
    # What is still wrong keeps its cells, formulas still disarmed.
    assert "'=HYPERLINK" in still and "'-2+3+cmd" in still
