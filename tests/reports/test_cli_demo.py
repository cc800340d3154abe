"""`amo-bridge export …` as an admin runs it from the shell, and the demo step."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
from sqlalchemy import select

from amo_bridge.demo import DemoContext
from amo_bridge.demo_money import step_money
from amo_bridge.models import AuditLog, ExportRecord
from amo_bridge.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    script = shutil.which("amo-bridge", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "amo_bridge.cli"]
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return subprocess.run(
        [*command, *args],
        env={**base, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_export_from_the_shell_is_written_and_audited(money_db, tmp_path):
    db, loaded = money_db
    env = {"DATABASE_URL": db.url, "INSTANCE_PATH": str(tmp_path / "instance")}
    out = tmp_path / "november.xlsx"
    result = run("export", "ledger", "--period", "2026-11", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert f"to {out}" in result.stdout and "rows" in result.stdout
    sheet = openpyxl.load_workbook(out)["Реестр"]
    keys = [row[18] for row in sheet.iter_rows(min_row=2, values_only=True) if row[18]]
    assert keys == ["P3", "P4", "P6", "P0"]
    with db.session() as session:
        records = session.scalars(select(ExportRecord).order_by(ExportRecord.id)).all()
        assert [(r.channel, r.kind, r.status) for r in records] == [("cli", "ledger", "done")]
        assert records[0].rows == 4 + 3 + 3 + 5 and records[0].file_path == str(out.resolve())
        assert session.scalar(select(AuditLog).where(AuditLog.action == "export.finished"))


def test_other_kinds_and_errors_in_process(money_db, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from amo_bridge.cli import main

    db, _ = money_db
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()
    for kind in ("payroll", "plan", "retention"):
        out = tmp_path / f"{kind}.xlsx"
        args = ["export", kind, "--period", "2026-11", "--out", str(out), "--account", "broker"]
        result = runner.invoke(main, [*args, "--lang", "en"])
        assert result.exit_code == 0, result.output
        assert openpyxl.load_workbook(out).sheetnames[0] in ("Payroll", "Plan vs fact", "Retention")
    cases = [
        (("--period", "2026-13", "--out", "x.xlsx"), "--period: no month 13"),
        (("--period", "2026-11", "--out", "x.csv"), "must end in .xlsx"),
        (("--period", "2026-11", "--out", "x.xlsx", "--account", "nope"), "no connected account"),
        (("--period", "2026-11", "--out", "/proc/nope/x.xlsx"), "--out:"),
    ]
    for args, message in cases:
        result = runner.invoke(main, ["export", "ledger", *args])
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1, result.output
        assert lines[0].startswith("amo-bridge: error:") and message in lines[0]
    with db.session() as session:
        statuses = [r.status for r in session.scalars(select(ExportRecord))]
        assert statuses == ["done", "done", "done", "failed"]  # the unwritable file is recorded


def test_demo_step_reports_and_writes_an_export(money_db, tmp_path):
    from amo_bridge.app import create_app
    from amo_bridge.demo import serve_in_thread
    from jobs.runtime import set_runtime

    db, loaded = money_db
    said: list[str] = []
    settings = load_settings(
        {"DATABASE_URL": db.url, "INSTANCE_PATH": str(tmp_path), "JOB_MODE": "inline"}
    )
    ctx = DemoContext(settings=settings, echo=said.append)
    ctx.app = create_app(settings, start_background=False)
    ctx.bridge = serve_in_thread(ctx.app)
    ctx.facts["account_id"] = loaded.account_id
    try:
        step_money(ctx)
    finally:
        ctx.bridge.stop()
        set_runtime(None)
    text = "\n".join(said)
    assert "Plan vs fact for 2025-11..2026-12" in text
    assert Path(ctx.facts["money_export"]).is_file() and str(tmp_path) in text
    assert "answers 200" in text


def test_demo_step_without_an_account_says_so(sqlite_url, tmp_path):
    from amo_bridge import migrate

    migrate.upgrade(sqlite_url)
    said: list[str] = []
    ctx = DemoContext(
        settings=load_settings({"DATABASE_URL": sqlite_url, "INSTANCE_PATH": str(tmp_path)}),
        echo=said.append,
    )
    step_money(ctx)
    assert "No amoCRM account" in said[0]
