"""The money dataset, loaded into a fresh database of each backend for every test.

The dataset is migrated and loaded once per session into a template — a SQLite file that each
test copies, or a PostgreSQL database each test clones with ``CREATE DATABASE … TEMPLATE`` —
because a copy is far cheaper than a migration plus a load.
"""

from __future__ import annotations

import copy
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from amo_bridge import migrate
from amo_bridge.db import Database
from amo_bridge.reports.common import ReportFilter
from amo_bridge.reports.period import Period
from tests.reports.dataset import load


def _loaded_template(url: str):
    migrate.upgrade(url)
    db = Database(url)
    loaded = load(db)
    db.dispose()  # no connection may stay open on a template (and SQLite checkpoints its WAL)
    return loaded


@pytest.fixture(scope="session")
def money_sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("money") / "template.sqlite3"
    return path, _loaded_template(f"sqlite:///{path}")


@pytest.fixture(scope="session")
def money_pg_template(pg_database_url):
    server = make_url(pg_database_url)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"{server.database}_money"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        loaded = _loaded_template(server.set(database=name).render_as_string(hide_password=False))
        yield admin, server, name, loaded
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def money_db(request, tmp_path):
    if request.param == "sqlite":
        template, loaded = request.getfixturevalue("money_sqlite_template")
        target = tmp_path / "ledger.sqlite3"
        shutil.copyfile(template, target)
        db = Database(f"sqlite:///{target}")
        yield db, copy.deepcopy(loaded)
        db.dispose()
        return
    admin, server, template, loaded = request.getfixturevalue("money_pg_template")
    name = f"{template}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    db = Database(server.set(database=name).render_as_string(hide_password=False))
    try:
        yield db, copy.deepcopy(loaded)
    finally:
        db.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def quarter() -> ReportFilter:
    return ReportFilter(period=Period.parse("2026-10..2026-12"))
