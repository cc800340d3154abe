"""The money dataset loaded into a fresh database of each backend."""

from __future__ import annotations

import pytest

from amo_bridge.db import Database
from amo_bridge.reports.common import ReportFilter
from amo_bridge.reports.period import Period
from tests.reports.dataset import Loaded, load


@pytest.fixture
def money_db(migrated_url: str):
    db = Database(migrated_url)
    loaded = load(db)
    yield db, loaded
    db.dispose()


@pytest.fixture
def quarter() -> ReportFilter:
    return ReportFilter(period=Period.parse("2026-10..2026-12"))


__all__ = ["Loaded"]
