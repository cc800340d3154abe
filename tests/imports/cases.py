"""The messy fixtures and how each is imported; ``python -m tests.imports.cases`` rewrites the
expected reports after a deliberate wording change (review the diff before committing)."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.imports.conftest import FIXTURES


@dataclass(frozen=True)
class Case:
    file: str
    options: dict[str, Any] = field(default_factory=dict)
    lang: str = "ru"
    #: Imported first, into the same ledger (a corrected file follows its original).
    after: str | None = None

    @property
    def stem(self) -> str:
        suffix = "" if self.lang == "ru" else f".{self.lang}"
        return Path(self.file).stem + suffix

    @property
    def report(self) -> Path:
        return FIXTURES / f"{self.stem}.expected.txt"

    @property
    def rejected(self) -> Path:
        return FIXTURES / f"{self.stem}.rejected.csv"


CASES = (
    Case("cp1251_semicolon.csv"),
    Case("utf8_bom_comma.csv"),
    Case("utf8_bom_comma.csv", lang="en"),
    Case("merged_serial.xlsx"),
    Case("custom_headers.csv", {"mapping": ("Моб.=phone", "Куратор=manager", "Служебное=")}),
    Case("cp1251_semicolon.corrected.csv", after="cp1251_semicolon.csv"),
)


def run_case(ledger, case: Case):
    if case.after:
        ledger.run(FIXTURES / case.after, lang=case.lang)
    return ledger.run(FIXTURES / case.file, lang=case.lang, **case.options)


def _rewrite() -> None:  # pragma: no cover - a maintainer's tool
    from amo_bridge import migrate
    from amo_bridge.clock import FrozenClock
    from amo_bridge.db import Database
    from amo_bridge.imports import render_text
    from tests.imports.conftest import NOW, Ledger, seed

    for case in CASES:
        url = f"sqlite:///{tempfile.mkdtemp()}/expected.sqlite3"
        migrate.upgrade(url)
        db = Database(url)
        with db.session() as session:
            account_id = seed(session)
        result, rejected = run_case(Ledger(db, account_id, FrozenClock(NOW)), case)
        case.report.write_text(render_text(result, case.lang), encoding="utf-8")
        if result.summary.rejected:
            case.rejected.write_bytes(rejected.encode("utf-8"))
        db.dispose()
        print(f"wrote {case.report.name}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    _rewrite()
