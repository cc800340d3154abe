"""The money dataset, loaded into a fresh database of each backend for every test.

On SQLite the dataset is migrated and loaded once per session into a template file that each
test copies (a file copy is far cheaper than a migration); on PostgreSQL each test migrates and
loads its own schema in the session's throwaway database.
"""

from __future__ import annotations

import copy
import shutil

import pytest

from amo_bridge import migrate
from amo_bridge.db import Database
from amo_bridge.reports.common import ReportFilter
from amo_bridge.reports.period import Period
from tests.conftest import _drop_everything
from tests.reports.dataset import load


@pytest.fixture(scope="session")
def money_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("money") / "template.sqlite3"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    db = Database(url)
    loaded = load(db)
    db.dispose()  # the last connection closes: the WAL is checkpointed into the file
    return path, loaded


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def money_db(request, tmp_path):
    if request.param == "sqlite":
        template, loaded = request.getfixturevalue("money_template")
        target = tmp_path / "ledger.sqlite3"
        shutil.copyfile(template, target)
        db = Database(f"sqlite:///{target}")
        yield db, copy.deepcopy(loaded)
        db.dispose()
        return
    url = request.getfixturevalue("pg_database_url")
    migrate.upgrade(url)
    db = Database(url)
    loaded = load(db)
    yield db, loaded
    db.dispose()
    _drop_everything(url)


@pytest.fixture
def quarter() -> ReportFilter:
    return ReportFilter(period=Period.parse("2026-10..2026-12"))
