"""The finance export (issue 8) imports back: its «Реестр» changes nothing in the ledger it
came from, and rebuilds the imported policies in an empty one."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from amo_bridge.db import Database
from amo_bridge.exports.workbooks import write_workbook
from amo_bridge.imports import render_text
from amo_bridge.ledger.money import cancel_policy, price_policy
from amo_bridge.models import Policy
from amo_bridge.reports.common import ReportFilter
from amo_bridge.reports.period import Period
from tests.imports.conftest import FIXTURES, NOW, Ledger, seed


def _export(ledger: Ledger, path) -> None:
    with ledger.db.session() as session:
        write_workbook(session, account_id=ledger.account_id, kind="ledger",
                       flt=ReportFilter(period=Period(date(2024, 1, 1), date(2026, 1, 1))),
                       lang="ru", path=path, made_at=NOW)


def _history(ledger: Ledger) -> None:
    """Sales, a corrected sale (reversal + correction) and a cancellation with a refund."""
    ledger.run(FIXTURES / "cp1251_semicolon.csv")
    ledger.run(FIXTURES / "cp1251_semicolon.corrected.csv")
    with ledger.db.session() as session:
        policy = session.scalar(select(Policy).where(Policy.number == "ВЗР-9"))
        cancel_policy(session, policy, on=date(2024, 6, 20), refund=100000, clock=ledger.clock)
        # Deals' policies are in the export too: one with a client, one without.
        price_policy(session, session.scalar(select(Policy).where(
            Policy.external_key == "deal:9001")), clock=ledger.clock)
        orphan = Policy(account_id=ledger.account_id, external_key="deal:9002", source="deal",
                        kind="ours", product_code="kasko", insurer="Альфа", premium=100000,
                        starts_on=date(2024, 5, 1), ends_on=date(2025, 4, 30),
                        sold_on=date(2024, 5, 1))
        session.add(orphan)
        price_policy(session, orphan, clock=ledger.clock)


def test_the_ledger_export_imports_back_as_a_no_op(ledger, tmp_path):
    _history(ledger)
    path = tmp_path / "ledger.xlsx"
    _export(ledger, path)
    before = ledger.snapshot()

    result, _ = ledger.run(path)

    report = render_text(result)
    assert "  A «Операция» → Операция" in report and "«Сделка в amoCRM» — пропущен" in report
    s = result.summary
    assert (s.imported, s.updated, s.rejected) == (0, 0, 0), report
    assert s.unchanged == 8  # every policy with money lines (6 imported, 2 deals'), once
    assert s.skipped == s.read - s.unchanged  # reversals, superseded lines, the totals row
    assert ledger.snapshot() == before


def test_the_ledger_export_rebuilds_the_policies_in_an_empty_ledger(ledger, tmp_path,
                                                                     any_database_url):
    _history(ledger)
    path = tmp_path / "ledger.xlsx"
    _export(ledger, path)
    # A second, empty ledger (say, a move to another server) with the same users.
    other_url = any_database_url if "sqlite" not in any_database_url else \
        f"sqlite:///{tmp_path / 'other.sqlite3'}"
    if other_url == any_database_url:
        return  # PostgreSQL: one database per test; the SQLite run covers this
    from amo_bridge import migrate

    migrate.upgrade(other_url)
    other = Database(other_url)
    with other.session() as session:
        account_id = seed(session)
    fresh = Ledger(other, account_id, ledger.clock)

    result, _ = fresh.run(path)

    s = result.summary
    # The deal with a client is in the new ledger too (seeded); the one without a client cannot
    # become an imported policy (no client, and its ledger key belongs to the mirror).
    assert (s.imported, s.unchanged, s.rejected) == (6, 1, 1), render_text(result)
    columns = ("id", "external_key", "kind", "source", "product_code", "insurer", "number",
               "premium", "commission_pct", "income", "seller_share", "issuer_share",
               "starts_on", "ends_on", "sold_on", "sum_insured", "deductible", "terms",
               "insured_object", "seller_amocrm_id", "issuer_amocrm_id", "contact_id", "deal_id",
               "cancelled_on", "refund")
    exported = ("kind", "product_code", "insurer", "number", "premium", "commission_pct",
                "income", "seller_share", "issuer_share", "starts_on", "ends_on", "sold_on",
                "seller_amocrm_id", "issuer_amocrm_id", "cancelled_on", "refund")

    def policies(source: Ledger) -> dict[str, dict]:
        rows = (dict(zip(columns, r, strict=True)) for r in source.snapshot()["policy"])
        return {r["external_key"]: {c: r[c] for c in exported} for r in rows
                if r["source"] == "import"}

    assert policies(fresh) == policies(ledger)
    other.dispose()
