"""Run every benchmark in this folder once: ``python bench/run_all.py [--quick]``.

Each benchmark is a script ``bench/<name>.py`` that prints its figures and the ratio to its
reference, and accepts ``--quick`` for a small size. This runner only starts them in turn and
fails if one fails; it asserts nothing about speed (benchmarks report numbers, tests assert
behaviour).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"run_all.py", "__init__.py", "common.py"}


def main(argv: list[str]) -> int:
    scripts = sorted(
        p for p in HERE.glob("*.py") if p.name not in SKIP and not p.name.startswith("_")
    )
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} {' '.join(argv)} ===", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(script), *argv], cwd=HERE.parent)
        print(f"--- {script.stem}: exit {result.returncode} in {time.monotonic() - started:.1f} s")
        if result.returncode != 0:
            failed.append(script.stem)
    print(f"\n{len(scripts) - len(failed)} benchmarks ran, {len(failed)} failed {failed or ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
