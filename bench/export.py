"""Benchmark: 100 000 ledger rows to xlsx — amo-bridge's streaming writer vs pandas.

    python bench/export.py [--quick] [--rows N]

Both writers get the very same rows (the ledger sheet's 19 typed columns, generated
deterministically). Each one runs in a fresh Python process, so its peak memory (max RSS from
``getrusage``) is its own: the process imports its library, is measured at rest, then writes.

- amo-bridge: :class:`amo_bridge.exports.xlsx.Sheet` — XlsxWriter in constant-memory mode,
  typed cells, formula neutralisation, autofilter, frozen header, totals row;
- reference: ``pandas.DataFrame(rows).to_excel(path, engine="openpyxl")`` on the same rows.

Targets (issue 8): ≥ 3× faster than pandas, ≤ 120 MB peak. The two are run in turn, twice,
and the best time of each is kept (the peak memory is the highest seen). CPU seconds are
printed beside wall-clock seconds: on a shared machine they are the steadier comparison.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIENTS = [
    "Иванов Иван Иванович",
    "ООО «Ромашка»",
    "Петрова Анна",
    '=HYPERLINK("http://x")',
    "Сидоров Пётр",
    "-Кузнецов",
    "ИП Смирнов",
    "+7 999 123-45-67",
]
PRODUCTS = ["ОСАГО", "КАСКО", "Имущество", "Ипотека", "ДМС"]
INSURERS = ["Ингосстрах", "АльфаСтрахование", "РЕСО-Гарантия", "ВСК", "Согласие"]
PEOPLE = ["Анна Смирнова", "Борис Орлов", "Вера Козлова", "Глеб Админов"]
OPERATIONS = ["Продажа"] * 17 + ["Расторжение", "Сторно", "Исправление"]


def ledger_rows(count: int):
    """Rows shaped exactly like :func:`amo_bridge.exports.ledger.ledger_rows` yields them."""
    start = date(2026, 1, 1)
    for i in range(count):
        sold = start + timedelta(days=i % 365)
        premium = 500_000 + (i * 7919) % 9_000_000
        pct = Decimal(("10", "12.5", "14", "16.5", "25")[i % 5])
        income = premium * int(pct * 10) // 1000
        sign = -1 if OPERATIONS[i % 20] in ("Расторжение", "Сторно") else 1
        yield (
            OPERATIONS[i % 20],
            sold,
            sold,
            CLIENTS[i % 8],
            PRODUCTS[i % 5],
            INSURERS[i % 5],
            f"XXX{i:010d}",
            sign * premium,
            pct,
            sign * income,
            sold + timedelta(days=1),
            sold + timedelta(days=365),
            PEOPLE[i % 4],
            PEOPLE[(i + 1) % 4],
            sign * income * 3 // 10,
            sign * 30_000,
            1_000_000 + i,
            f"https://broker.amocrm.ru/leads/detail/{1_000_000 + i}",
            f"deal:{1_000_000 + i}",
        )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_ours(rows: int, out: Path) -> dict:
    from amo_bridge.exports.columns import LEDGER_COLUMNS
    from amo_bridge.exports.xlsx import Book

    at_rest = _rss_mb()
    started, cpu = time.perf_counter(), _cpu()
    book = Book(out, tmpdir=out.parent)
    sheet = book.sheet("Реестр", LEDGER_COLUMNS, lang="ru")
    for values in ledger_rows(rows):
        sheet.write(values)
    sheet.finish()
    book.close()
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": _cpu() - cpu,
        "peak_mb": _rss_mb(),
        "at_rest_mb": at_rest,
    }


def run_pandas(rows: int, out: Path) -> dict:
    import pandas as pd

    from amo_bridge.exports.columns import LEDGER_COLUMNS

    at_rest = _rss_mb()
    started, cpu = time.perf_counter(), _cpu()
    # The natural pandas version of the same table: money in roubles, percent as a fraction.
    frame = pd.DataFrame(
        (
            (
                *r[:7],
                r[7] / 100,
                float(r[8]) / 100,
                r[9] / 100,
                *r[10:14],
                r[14] / 100,
                r[15] / 100,
                *r[16:],
            )
            for r in ledger_rows(rows)
        ),
        columns=[c.ru for c in LEDGER_COLUMNS],
    )
    frame.to_excel(out, sheet_name="Реестр", index=False, engine="openpyxl", freeze_panes=(1, 0))
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": _cpu() - cpu,
        "peak_mb": _rss_mb(),
        "at_rest_mb": at_rest,
    }


def measure(which: str, rows: int, folder: Path) -> dict:
    out = folder / f"{which}.xlsx"
    result = subprocess.run(
        [sys.executable, __file__, "--child", which, "--rows", str(rows), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["file_mb"] = out.stat().st_size / 1e6
    return figures


def best(previous: dict | None, current: dict) -> dict:
    if previous is None:
        return current
    return {
        **current,
        "seconds": min(previous["seconds"], current["seconds"]),
        "cpu_seconds": min(previous["cpu_seconds"], current["cpu_seconds"]),
        "peak_mb": max(previous["peak_mb"], current["peak_mb"]),
    }


def _figures(run: dict) -> str:
    return (
        f"{run['seconds']:.2f} s ({run['cpu_seconds']:.2f} s CPU), peak {run['peak_mb']:.0f} MB "
        f"(at rest {run['at_rest_mb']:.0f} MB), file {run['file_mb']:.1f} MB"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 000 rows instead of 100 000")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--repeat", type=int, help="runs of each (best time); default 2, quick 1")
    parser.add_argument("--child", choices=["ours", "pandas"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    rows = args.rows or (10_000 if args.quick else 100_000)
    if args.child:
        runner = run_ours if args.child == "ours" else run_pandas
        print(json.dumps(runner(rows, args.out)))
        return 0

    repeat = args.repeat or (1 if args.quick else 2)
    ours, reference = None, None
    with tempfile.TemporaryDirectory(prefix="amo-bridge-bench-") as folder:
        # Interleaved runs, best time of each: a busy machine slows both alike.
        for _ in range(repeat):
            ours = best(ours, measure("ours", rows, Path(folder)))
            try:
                reference = best(reference, measure("pandas", rows, Path(folder)))
            except subprocess.CalledProcessError as exc:
                if "No module named 'pandas'" not in (exc.stderr or ""):
                    raise
    print(
        f"ledger rows: {rows:,}".replace(",", " ") + f"; best of {repeat} run(s) each, "
        "each run in a fresh process"
    )
    print(f"amo-bridge (XlsxWriter, constant memory): {_figures(ours)}")
    if reference is None:
        print("pandas is not installed (pip install -e '.[dev]'): no reference figure")
        return 0
    print(f"pandas.DataFrame.to_excel (openpyxl):      {_figures(reference)}")
    print(
        f"speed-up: {reference['seconds'] / ours['seconds']:.1f}× wall-clock, "
        f"{reference['cpu_seconds'] / ours['cpu_seconds']:.1f}× CPU (target ≥ 3×); "
        f"memory: {ours['peak_mb']:.0f} MB vs {reference['peak_mb']:.0f} MB (target ≤ 120 MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
