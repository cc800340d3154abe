"""Benchmark: plan vs fact, payroll and retention for a year over 1 000 000 policies (PostgreSQL).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/reports.py [--quick]

A throwaway database is created on that server (dropped afterwards) and filled server-side with
multi-row ``INSERT … SELECT generate_series``: N policies sold over 2025–2026 (one-year terms),
one sale line each, a refund line for every 33rd; renewals for the policies ending in 2026;
50 managers with monthly plans. Then, for the year 2026 (about half of the lines, and the
policies due in 2026):

- amo-bridge: the report functions themselves (aggregation in SQL), best of 3 runs;
- reference: the same figures computed by loading the rows into Python and summing there.

The two must agree to the kopeck. Target (issue 8): ≤ 1 s per report at 1 000 000 policies.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amo_bridge import migrate  # noqa: E402
from amo_bridge.accounts import create_account  # noqa: E402
from amo_bridge.db import Database  # noqa: E402
from amo_bridge.models import MoneyLine, Plan, Policy, Renewal, User  # noqa: E402
from amo_bridge.reports.common import ReportFilter  # noqa: E402
from amo_bridge.reports.payroll import payroll  # noqa: E402
from amo_bridge.reports.period import Period  # noqa: E402
from amo_bridge.reports.plan_fact import plan_vs_fact  # noqa: E402
from amo_bridge.reports.retention import retention  # noqa: E402
from amo_bridge.settings import normalize_database_url  # noqa: E402

MANAGERS = 50

FILL = [
    """
    INSERT INTO policy (account_id, external_key, kind, source, product_code, insurer, number,
        premium, commission_pct, income, seller_share, issuer_share, starts_on, ends_on,
        sold_on, insured_object, seller_amocrm_id, issuer_amocrm_id, created_at, updated_at)
    SELECT :account, 'bench:' || i, 'ours', 'import',
        (ARRAY['osago','kasko','ifl','mortgage','dms'])[1 + i % 5],
        (ARRAY['Ингосстрах','АльфаСтрахование','РЕСО-Гарантия','ВСК','Согласие'])[1 + (i / 5) % 5],
        'B' || lpad(i::text, 10, '0'),
        p.premium, 12.5, p.premium / 8, p.premium / 8 * 3 / 10, 30000,
        s.sold + 1, s.sold + 365, s.sold, '{}',
        1000 + i % :managers, 1000 + (i * 7) % :managers, now(), now()
    FROM generate_series(1, :n) AS i
    CROSS JOIN LATERAL (SELECT DATE '2025-01-01' + (i % 730) AS sold) AS s
    CROSS JOIN LATERAL (SELECT 500000 + (i::bigint * 7919) % 9000000 AS premium) AS p
    """,
    """
    INSERT INTO money_line (account_id, policy_id, seq, kind, booked_on, month, policies,
        cancellations, sold_on, product_code, insurer, seller_amocrm_id, issuer_amocrm_id,
        premium, commission_pct, income, seller_share, issuer_share, commission_source,
        recorded_at)
    SELECT account_id, id, 1, 'sale', sold_on, date_trunc('month', sold_on)::date, 1, 0,
        sold_on, product_code, insurer, seller_amocrm_id, issuer_amocrm_id, premium,
        commission_pct, income, seller_share, issuer_share, 'rate', now()
    FROM policy WHERE account_id = :account
    """,
    """
    INSERT INTO money_line (account_id, policy_id, seq, kind, booked_on, month, policies,
        cancellations, sold_on, product_code, insurer, seller_amocrm_id, issuer_amocrm_id,
        premium, commission_pct, income, seller_share, issuer_share, commission_source,
        recorded_at)
    SELECT account_id, id, 2, 'cancellation', sold_on + 40,
        date_trunc('month', sold_on + 40)::date, 0, 1, sold_on, product_code, insurer,
        seller_amocrm_id, issuer_amocrm_id, -(premium / 2), commission_pct, -(income / 2),
        -(seller_share / 2), -(issuer_share / 2), 'rate', now()
    FROM policy WHERE account_id = :account AND id % 33 = 0
    """,
    """
    INSERT INTO renewal (account_id, policy_id, term_end, status, marker, assignee_amocrm_id,
        attempts, created_at, updated_at)
    SELECT account_id, id, ends_on,
        CASE WHEN id % 20 < 12 THEN 'renewed' WHEN id % 20 < 15 THEN 'not_renewed'
             ELSE 'created' END,
        'bench-' || id, 1000 + (id * 3) % :managers, 0, now(), now()
    FROM policy WHERE account_id = :account AND ends_on < DATE '2027-01-01' AND id % 10 <> 0
    """,
    """
    UPDATE policy SET renewed_by_id = id + 1
    WHERE account_id = :account AND ends_on < DATE '2027-01-01' AND id % 10 = 0 AND id % 3 = 0
    """,
]


def fill(db: Database, policies: int) -> int:
    with db.session() as session:
        account, _ = create_account(
            session, amocrm_id=1, subdomain="bench", base_url="https://bench.amocrm.ru"
        )
        for k in range(MANAGERS):
            session.add(User(account_id=account.id, amocrm_id=1000 + k, name=f"Менеджер {k:02d}"))
            for month in range(1, 13):
                session.add(
                    Plan(
                        account_id=account.id,
                        user_amocrm_id=1000 + k,
                        month=Period.month(2026, month).start,
                        income_target=2_000_000_00,
                        premium_target=20_000_000_00,
                    )
                )
        account_id = account.id
    with db.engine.begin() as connection:
        for statement in FILL:
            connection.execute(
                text(statement), {"account": account_id, "n": policies, "managers": MANAGERS}
            )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    return account_id


def _n(number: int) -> str:
    return f"{number:,}".replace(",", " ")


def timed(func, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - started)
    return best, result


# --- the reference: rows into Python, sums in Python ------------------------------------------


def python_plan_fact(session, account_id: int, flt: ReportFilter) -> dict:
    sums: dict = defaultdict(lambda: [0, 0, 0, 0])
    for seller, month, pol, canc, premium, income in session.execute(
        select(
            MoneyLine.seller_amocrm_id,
            MoneyLine.month,
            MoneyLine.policies,
            MoneyLine.cancellations,
            MoneyLine.premium,
            MoneyLine.income,
        ).where(
            MoneyLine.account_id == account_id,
            MoneyLine.month >= flt.period.start,
            MoneyLine.month < flt.period.end,
        )
    ):
        row = sums[(seller, month)]
        row[0] += pol
        row[1] += canc
        row[2] += premium
        row[3] += income
    return {key: tuple(value) for key, value in sums.items()}


def python_payroll(session, account_id: int, flt: ReportFilter) -> dict:
    sums: dict = defaultdict(lambda: [0, 0])
    for seller, issuer, month, seller_share, issuer_share in session.execute(
        select(
            MoneyLine.seller_amocrm_id,
            MoneyLine.issuer_amocrm_id,
            MoneyLine.month,
            MoneyLine.seller_share,
            MoneyLine.issuer_share,
        ).where(
            MoneyLine.account_id == account_id,
            MoneyLine.month >= flt.period.start,
            MoneyLine.month < flt.period.end,
        )
    ):
        sums[(seller, month)][0] += seller_share
        sums[(issuer, month)][1] += issuer_share
    return {key: tuple(value) for key, value in sums.items()}


def python_retention(session, account_id: int, flt: ReportFilter) -> dict:
    renewals = {
        policy_id: (status, assignee)
        for policy_id, status, assignee in session.execute(
            select(Renewal.policy_id, Renewal.status, Renewal.assignee_amocrm_id).where(
                Renewal.account_id == account_id,
                Renewal.term_end >= flt.period.start,
                Renewal.term_end < flt.period.end,
            )
        )
    }
    counts: dict = defaultdict(lambda: [0, 0, 0])
    for policy_id, product, seller, renewed_by, cancelled_on, ends_on in session.execute(
        select(
            Policy.id,
            Policy.product_code,
            Policy.seller_amocrm_id,
            Policy.renewed_by_id,
            Policy.cancelled_on,
            Policy.ends_on,
        ).where(
            Policy.account_id == account_id,
            Policy.kind == "ours",
            Policy.ends_on >= flt.period.start,
            Policy.ends_on < flt.period.end,
        )
    ):
        if cancelled_on is not None and cancelled_on < ends_on:
            continue
        status, assignee = renewals.get(policy_id, (None, None))
        row = counts[(product, assignee if assignee is not None else seller)]
        row[0] += 1
        row[1] += renewed_by is not None or status == "renewed"
        row[2] += renewed_by is None and status == "not_renewed"
    return {key: tuple(value) for key, value in counts.items()}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 000 policies")
    parser.add_argument("--policies", type=int)
    args = parser.parse_args(argv)
    policies = args.policies or (20_000 if args.quick else 1_000_000)
    raw = os.environ.get("DATABASE_URL", "")
    if not raw.startswith("postgres"):
        print("bench/reports needs DATABASE_URL=postgresql://… (a server to create a database on)")
        required = os.environ.get("REQUIRE_SERVICES", "") not in ("", "0", "false", "no")
        return 2 if required else 0
    server = normalize_database_url(raw)
    name = f"amo_bridge_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        return run(url, policies)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, policies: int) -> int:
    migrate.upgrade(url)
    db = Database(url)
    started = time.perf_counter()
    account_id = fill(db, policies)
    with db.engine.connect() as connection:
        lines = connection.execute(text("SELECT count(*) FROM money_line")).scalar()
    flt = ReportFilter(period=Period.parse("2026"))
    print(
        f"{_n(policies)} policies, {_n(lines)} money lines loaded in "
        f"{time.perf_counter() - started:.1f} s; reports for {flt.period.label()}"
    )
    failures = 0
    with db.session() as session:
        cases = [
            (
                "plan vs fact",
                lambda: plan_vs_fact(session, account_id, flt),
                lambda r: {
                    (x.manager, x.month): (x.policies, x.cancellations, x.premium, x.income)
                    for x in r.rows
                    if x.policies or x.premium or x.cancellations
                },
                lambda: python_plan_fact(session, account_id, flt),
            ),
            (
                "payroll",
                lambda: payroll(session, account_id, flt),
                lambda r: {(x.employee, x.month): (x.seller_share, x.issuer_share) for x in r.rows},
                lambda: python_payroll(session, account_id, flt),
            ),
            (
                "retention",
                lambda: retention(session, account_id, flt),
                lambda r: {(x.product_code, x.manager): (x.due, x.renewed, x.lost) for x in r.rows},
                lambda: python_retention(session, account_id, flt),
            ),
        ]
        for title, report, figures, reference in cases:
            sql_seconds, result = timed(report, 3)
            python_seconds, expected = timed(reference, 2)
            agree = figures(result) == expected
            failures += not agree
            print(
                f"{title:<13} SQL {sql_seconds * 1000:7.0f} ms   rows into Python "
                f"{python_seconds * 1000:7.0f} ms   {python_seconds / sql_seconds:5.1f}× faster"
                f"   figures {'agree' if agree else 'DIFFER'}   (target ≤ 1000 ms)"
            )
    db.dispose()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
