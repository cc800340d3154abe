"""The renewal scan's due selection over 1 000 000 policies in PostgreSQL, with and without index.

    python bench/renewal_scan.py [--quick] [--size N] [--url postgresql://…]

Creates a throwaway database (dropped at the end) on the server of ``--url`` (default: the
``DATABASE_URL`` environment variable, else postgresql://postgres@127.0.0.1:5432/postgres),
migrates it, and bulk-loads (COPY) one account's book: ``--size`` policies (1 000 000;
``--quick``: 50 000) ending over ten years (nine past, one ahead; 85 % ours, 15 % foreign, six
products, 3 % cancelled, most past ones renewed), 200 000 clients, and the renewals of earlier
scans (every term that fell due before the last 12 days, plus 30 % of the old ones). What is left
due today is ≈ 3 000 policies at 1 000 000.

Then it runs the scan's own statement (``amo_bridge.renewals.due.due_query``) — median of 5 —
and prints EXPLAIN ANALYZE; then, as the reference in the same run, the same statement on a
``policy`` table without its end-date indexes (dropped in a transaction that is rolled back).
Target: ≤ 1 s with the index.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from amo_bridge import migrate  # noqa: E402
from amo_bridge.products import (
    default_products,  # noqa: E402
    load_defaults,  # noqa: E402
)
from amo_bridge.renewals.config import parse_config  # noqa: E402
from amo_bridge.renewals.due import due_query  # noqa: E402

TODAY = date(2026, 12, 1)
PRODUCTS = [("osago", 40), ("kasko", 25), ("ifl", 15), ("mortgage", 10), ("travel", 5),
            ("dms", 5)]
#: The reference: the same statement without the scan's indexes on ``policy`` (dropped inside
#: the measuring transaction, which is rolled back). Switching index scans off altogether
#: (``enable_indexscan``) would also turn each renewal probe into a scan of the renewal table
#: per candidate — a pathology, not a reference.
OFF = "DROP INDEX ix_policy_renewable; DROP INDEX ix_policy_due"


def server_url(arg: str | None) -> str:
    raw = arg or os.environ.get("DATABASE_URL", "") or \
        "postgresql://postgres@127.0.0.1:5432/postgres"
    if not raw.startswith("postgres"):
        raise SystemExit("renewal_scan needs PostgreSQL: pass --url postgresql://…")
    return raw.replace("postgresql://", "postgresql+psycopg://", 1) \
        if raw.startswith("postgresql://") else raw


def load(url: str, size: int, seed: int = 5) -> int:
    rng = random.Random(seed)
    engine = create_engine(url)
    now = datetime.now(UTC)
    contacts = max(1000, size // 5)
    with engine.begin() as connection:
        account = connection.execute(text(
            "INSERT INTO account (amocrm_id, subdomain, base_url, name, timezone, "
            "webhook_token_hash, status, created_at, updated_at) VALUES (1, 'bench', "
            "'https://bench', 'bench', 'Europe/Moscow', 'x', 'active', :now, :now) RETURNING id"),
            {"now": now}).scalar_one()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy("COPY contact (id, account_id, amocrm_id, kind, name, custom_fields, "
                         "is_deleted, responsible_amocrm_id, created_at, updated_at) FROM STDIN"
                         ) as copy:
            for n in range(1, contacts + 1):
                copy.write_row((n, account, 10_000_000 + n, "contact", f"Клиент {n}", "[]",
                                False, 8011001 + n % 4, now, now))
        codes = [c for c, w in PRODUCTS for _ in range(w)]
        renewals: list[tuple] = []
        with cursor.copy("COPY policy (id, account_id, external_key, kind, source, product_code,"
                         " premium, income, seller_share, issuer_share, insured_object, ends_on, "
                         "seller_amocrm_id, contact_id, cancelled_on, renewed_by_id, created_at, "
                         "updated_at) FROM STDIN") as copy:
            for n in range(1, size + 1):
                ends = TODAY + timedelta(days=rng.randrange(-9 * 365, 365))
                kind = "foreign" if rng.random() < 0.15 else "ours"
                cancelled = ends - timedelta(days=100) if rng.random() < 0.03 else None
                renewed = n if ends < TODAY - timedelta(days=7) and rng.random() < 0.7 else None
                copy.write_row((n, account, f"b:{n}", kind, "import", rng.choice(codes),
                                1_000_000, 0, 0, 0, "{}", ends, 8011001 + n % 4,
                                1 + n % contacts, cancelled, renewed, now, now))
                live = cancelled is None and renewed is None
                if live and TODAY - timedelta(days=7) <= ends < TODAY + timedelta(days=34):
                    renewals.append((account, n, ends, "created", f"B{n}", 8011002, 1, now, now))
                elif ends < TODAY - timedelta(days=7) and rng.random() < 0.3:
                    renewals.append((account, n, ends, "renewed", f"B{n}", 8011002, 1, now, now))
        with cursor.copy("COPY renewal (account_id, policy_id, term_end, status, marker, "
                         "assignee_amocrm_id, attempts, created_at, updated_at) FROM STDIN"
                         ) as copy:
            for row in renewals:
                copy.write_row(row)
        cursor.execute("SELECT setval('policy_id_seq', %s)", (size,))
        cursor.execute("SELECT setval('contact_id_seq', %s)", (contacts,))
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return account


def measure(url: str, sql: str, *, indexed: bool, repeat: int = 5) -> tuple[float, int, str]:
    engine = create_engine(url)
    timings, count = [], 0
    try:
        with engine.connect() as connection:
            for _ in range(repeat):
                transaction = connection.begin()
                if not indexed:
                    connection.exec_driver_sql(OFF)
                started = time.perf_counter()
                count = len(connection.exec_driver_sql(sql).all())
                timings.append(time.perf_counter() - started)
                transaction.rollback()
            transaction = connection.begin()
            if not indexed:
                connection.exec_driver_sql(OFF)
            plan = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").scalars()
            plan_text = "\n".join(plan)
            transaction.rollback()
    finally:
        engine.dispose()
    return statistics.median(timings), count, plan_text


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 000 policies")
    parser.add_argument("--size", type=int, help="policies to load")
    parser.add_argument("--url", help="a PostgreSQL server URL (a database is created on it)")
    parser.add_argument("--plans", action="store_true", help="print the full plans")
    args = parser.parse_args(argv)
    size = args.size or (50_000 if args.quick else 1_000_000)
    server = make_url(server_url(args.url))
    name = f"amo_bridge_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no server: say so and skip, as CI without PG
        print(f"renewal_scan: skipped, PostgreSQL unavailable ({str(exc).splitlines()[0]})")
        return 0
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        started = time.perf_counter()
        account = load(url, size)
        print(f"loaded {size:,} policies in {time.perf_counter() - started:.1f} s (COPY)")
        config = parse_config(load_defaults()["renewals"])
        statement = due_query(account, config, [p.code for p in default_products()], TODAY)
        engine = create_engine(url)
        sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
        engine.dispose()
        fast, due, fast_plan = measure(url, sql, indexed=True)
        slow, due_ref, slow_plan = measure(url, sql, indexed=False, repeat=3)
        if due != due_ref:
            raise SystemExit(f"the two plans disagree: {due} vs {due_ref} rows")
        for title, plan in (("with the index", fast_plan), ("without it", slow_plan)):
            lines = plan.splitlines()
            print(f"\nEXPLAIN ANALYZE {title}:")
            print("\n".join(lines if args.plans else [ln for ln in lines if any(
                key in ln for key in ("Scan", "Join", "Execution Time", "Planning Time"))]))
        print(f"\ndue today: {due:,} of {size:,} policies")
        print(f"scan with ix_policy_renewable: {fast * 1000:.1f} ms (median of 5); "
              f"without it (policy scanned): {slow * 1000:.1f} ms (median of 3); "
              f"ratio {slow / fast:.1f}x faster with the index; "
              f"target <= 1 s: {'met' if fast <= 1.0 else 'MISSED'}")
    finally:
        with admin.connect() as connection:
            connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
