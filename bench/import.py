"""Benchmark: importing a generated 100 000-row XLSX base (parse + validate + ledger writes).

    /tmp/venv/bin/python bench/import.py [--quick] [--rows N] [--postgres | --database-url URL]

Each measurement runs in a fresh subprocess and reports its wall time, CPU time and peak memory
(max RSS of the process and of any helper process it started):

- reference: a pure read of the same file with openpyxl in read-only mode (values only);
- import: ``import_policies`` — what ``amo-bridge import-policies`` runs — into a migrated,
  seeded ledger (SQLite in a temp folder; ``--postgres`` a throwaway database on the server of
  ``BENCH_DATABASE_URL``/``DATABASE_URL``, or ``--database-url`` an empty one), committing after
  every batch like the CLI, money engine included (its share of the time is printed separately).

Targets (issue 6): ≤ 20 s and ≤ 300 MB for 100 000 rows; the ratio to the pure read is the
figure that travels between machines. ``--quick`` uses 5 000 rows.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADERS = ("ФИО", "Телефон", "Вид страхования", "Страховая компания", "Номер полиса",
           "Дата начала", "Дата окончания", "Премия", "КВ %", "Менеджер", "Марка", "Модель",
           "Госномер", "Примечание")
PRODUCTS = ("ОСАГО", "ОСАГО", "ОСАГО", "КАСКО", "КАСКО", "Имущество", "Ипотека", "ДМС", "НС")
INSURERS = ("Ингосстрах", "РЕСО-Гарантия", "Согласие", "АльфаСтрахование", "ВСК", "Ренессанс")
MANAGERS = ("Анна Смирнова", "Дмитрий Волков", "Екатерина Орлова", "Сергей Кузнецов")
SURNAMES = ("Иванов", "Петров", "Сидоров", "Кузнецов", "Смирнов", "Попов", "Васильев",
            "Соколов", "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев")
NAMES = ("Иван", "Пётр", "Сергей", "Андрей", "Алексей", "Дмитрий", "Максим", "Олег")
CARS = (("Toyota", "Camry"), ("Kia", "Rio"), ("Lada", "Vesta"), ("Hyundai", "Solaris"))


def generate(path: Path, rows: int, *, seed: int = 6) -> None:
    """A broker's base: ~0.6 policies per client, mostly motor, real dates, a % column."""
    import xlsxwriter

    rnd = random.Random(seed)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Полисы")
    date_format = book.add_format({"num_format": "dd.mm.yyyy"})
    pct = book.add_format({"num_format": "0%"})
    sheet.write_row(0, 0, HEADERS)
    clients = max(1, int(rows * 0.6))
    start = date(2021, 1, 1)
    for r in range(1, rows + 1):
        client = rnd.randrange(clients)
        starts = start + timedelta(days=rnd.randrange(1400))
        make, model = CARS[client % len(CARS)]
        sheet.write_string(r, 0, f"{SURNAMES[client % 14]} {NAMES[client // 14 % 8]} №{client}")
        sheet.write_string(r, 1, f"+7 9{client // 10_000_000 % 10}{client // 1_000_000 % 10}"
                                 f"{client % 1_000_000:07d}")
        sheet.write_string(r, 2, PRODUCTS[r % len(PRODUCTS)])
        sheet.write_string(r, 3, INSURERS[r % len(INSURERS)])
        sheet.write_string(r, 4, f"ХХХ {r:010d}")
        sheet.write_datetime(r, 5, datetime.combine(starts, datetime.min.time()), date_format)
        sheet.write_datetime(r, 6, datetime.combine(starts + timedelta(days=364),
                                                    datetime.min.time()), date_format)
        sheet.write_number(r, 7, round(rnd.uniform(3000, 90000), 2))
        sheet.write_number(r, 8, rnd.choice((0.1, 0.12, 0.15, 0.2)), pct)
        sheet.write_string(r, 9, MANAGERS[r % len(MANAGERS)])
        sheet.write_string(r, 10, make)
        sheet.write_string(r, 11, model)
        sheet.write_string(r, 12, f"А{r % 1000:03d}ВС{77 + r % 100}")
        if r % 7 == 0:
            sheet.write_string(r, 13, "пролонгация от конкурента")
    book.close()


PURE_READ = """
import json, resource, sys, time
from openpyxl import load_workbook
started = time.perf_counter()
book = load_workbook(sys.argv[1], read_only=True, data_only=True)
rows = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
book.close()
print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

IMPORT = """
import json, resource, sys, time
from datetime import UTC, datetime
from amo_bridge import migrate
from amo_bridge.clock import FrozenClock
from amo_bridge.db import Database
from amo_bridge.imports import ImportOptions, import_policies, pricing, service
from amo_bridge.models import User
from amo_bridge.accounts import create_account

path, url = sys.argv[1], sys.argv[2]
migrate.upgrade(url)
db = Database(url)
with db.session() as session:
    account, _ = create_account(session, amocrm_id=1, subdomain="bench", base_url="http://x")
    for n, name in enumerate(%(managers)r):
        session.add(User(account_id=account.id, amocrm_id=100 + n, name=name))
    account_id = account.id
money = [0.0]
def timed(original):
    def run(*args, **kwargs):
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            money[0] += time.perf_counter() - t
    return run
# The money engine's share: new policies priced before their INSERT, lines booked after it.
pricing.price_new = timed(pricing.price_new)
service.price_imported = timed(service.price_imported)
clock = FrozenClock(datetime(2025, 1, 15, tzinfo=UTC))
before = resource.getrusage(resource.RUSAGE_SELF)
cpu_before = before.ru_utime + before.ru_stime
started = time.perf_counter()
with db.session() as session:
    result = import_policies(session, account_id=account_id, source=path, filename="b.xlsx",
                             options=ImportOptions(), clock=clock,
                             after_batch=lambda done, total: session.commit())
seconds = time.perf_counter() - started
own = resource.getrusage(resource.RUSAGE_SELF)
helpers = resource.getrusage(resource.RUSAGE_CHILDREN)  # openpyxl's helper for huge sheets
s = result.summary
print(json.dumps({"seconds": seconds, "pricing_seconds": money[0], "read": s.read,
                  "imported": s.imported, "rejected": s.rejected, "contacts": s.contacts_created,
                  "money_lines": s.money_lines,
                  "cpu_seconds": own.ru_utime + own.ru_stime - cpu_before,
                  "max_rss_mb": (own.ru_maxrss + helpers.ru_maxrss) / 1024}))
"""


def measure(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"benchmark step failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 000 rows")
    parser.add_argument("--rows", type=int)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", action="store_true",
                       help="a throwaway PostgreSQL database (default: SQLite)")
    where.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args(argv)
    rows = args.rows or (5_000 if args.quick else 100_000)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        path = Path(tmp) / f"base-{rows}.xlsx"
        t = time.perf_counter()
        generate(path, rows)
        print(f"generated {rows:,} rows ({path.stat().st_size / 1e6:.1f} MB XLSX) "
              f"in {time.perf_counter() - t:.1f} s")
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        if args.postgres:
            sys.path.insert(0, str(ROOT / "bench"))
            sys.path.insert(0, str(ROOT))
            from common import throwaway_postgres

            url = stack.enter_context(throwaway_postgres())
            if url is None:
                raise SystemExit("PostgreSQL is not reachable")
        read = measure(PURE_READ, str(path))
        imported = measure(IMPORT % {"managers": MANAGERS}, str(path), url)
    assert imported["imported"] == rows and imported["rejected"] == 0, imported
    ratio = imported["seconds"] / read["seconds"]
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"reference  openpyxl read-only pure read: {read['seconds']:.1f} s, "
          f"peak {read['max_rss_mb']:.0f} MB")
    print(f"import     parse + validate + ledger writes ({backend}): {imported['seconds']:.1f} s "
          f"(CPU {imported['cpu_seconds']:.1f} s; "
          f"money engine {imported['pricing_seconds']:.1f} s), "
          f"peak {imported['max_rss_mb']:.0f} MB — {imported['contacts']:,} new clients, "
          f"{imported['money_lines']:,} money lines")
    own = imported["seconds"] - imported["pricing_seconds"]
    print(f"ratio      import / pure read = {ratio:.2f}; without the money engine "
          f"{own:.1f} s = {own / read['seconds']:.2f} × the pure read  "
          f"(targets for 100 000 rows: ≤ 20 s, ≤ 300 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
