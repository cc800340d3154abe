"""The import run's states: queued → running → done | failed; retried, then given up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from amo_bridge.imports import runs
from amo_bridge.imports.problems import ImportFileError
from amo_bridge.models import ImportStatus
from tests.imports.conftest import NOW


def _run(session, account_id):
    return runs.create_run(session, account_id=account_id, filename="a.csv", content=b"x",
                           kind="ours", dry_run=False, sheet=None, mapping=[], lang="ru",
                           requested_by=None, now=NOW - timedelta(minutes=1))


def test_retried_until_max_attempts_then_failed(ledger):
    with ledger.db.session() as session:
        run = _run(session, ledger.account_id)
        for attempt in range(1, runs.MAX_ATTEMPTS + 1):
            assert runs.begin(session, run, now=NOW + timedelta(minutes=10 * attempt))
            runs.interrupted(run, "OperationalError: database is locked", now=NOW)
            expected = ImportStatus.FAILED if attempt == runs.MAX_ATTEMPTS else \
                ImportStatus.QUEUED
            assert run.status == expected and run.attempts == attempt
        assert run.content is None and not runs.begin(session, run, now=NOW)


def test_a_running_import_is_not_started_twice_unless_it_went_silent(ledger):
    with ledger.db.session() as session:
        run = _run(session, ledger.account_id)
        assert runs.begin(session, run, now=NOW)
        assert not runs.begin(session, run, now=NOW + timedelta(minutes=1))  # alive elsewhere
        assert runs.running_for(session, ledger.account_id, now=NOW) is run
        assert runs.begin(session, run, now=NOW + runs.STALE_AFTER * 2)  # its worker died
        assert run.attempts == 2


def test_finished_runs_do_not_move_and_failures_keep_the_reason(ledger):
    with ledger.db.session() as session:
        run = _run(session, ledger.account_id)
        runs.begin(session, run, now=NOW)
        runs.fail(run, ImportFileError("import.file.xls"), now=NOW)
        view = runs.run_view(run, "en")
        assert view["status"] == "failed" and view["error"].startswith("This is an old Excel")
        with pytest.raises(runs.StateError):
            runs.finish(run, None, None, now=NOW)  # type: ignore[arg-type]
