"""The `amo-bridge` command as a person runs it: a real process, its output and exit code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout=120):
    script = shutil.which("amo-bridge", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "amo_bridge.cli"]
    base = {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "JOB_MODE", "INSTANCE_PATH")}
    return subprocess.run(
        [*command, *args], env={**base, "PYTHONPATH": str(ROOT), **(env or {})},
        cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout,
    )


def test_help_lists_every_command_with_a_description():
    result = run("--help")
    assert result.returncode == 0
    for command in ("db", "serve", "worker", "cron", "check", "demo"):
        line = next(line for line in result.stdout.splitlines()
                    if line.strip().startswith(command + " "))
        assert len(line.split(None, 1)[1]) > 10 and not line.endswith("...")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/x"},
         "amo-bridge: error: DATABASE_URL: must be a postgresql:// or sqlite:// URL, got 'mysql'"),
        ({"LOG_LEVEL": "LOUD"},
         "amo-bridge: error: LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, got 'LOUD'"),
    ],
)
def test_bad_settings_give_one_clear_line(env, message, tmp_path):
    result = run("db", "upgrade", env={"INSTANCE_PATH": str(tmp_path), **env})
    assert result.returncode == 2
    assert result.stderr.strip() == message


def test_unreachable_database_is_one_line(tmp_path):
    result = run("db", "upgrade", env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("amo-bridge: error: database:")
    assert "Traceback" not in result.stderr


def test_worker_without_redis_says_why():
    result = run("worker", env={"REDIS_URL": ""})
    assert result.returncode == 2
    assert "REDIS_URL: is required for 'worker'" in result.stderr


def test_db_upgrade_then_check(tmp_path):
    env = {"INSTANCE_PATH": str(tmp_path / "inst")}
    before = run("check", env=env)
    assert before.returncode == 1
    assert "FAIL  migrations" in before.stdout and "amo-bridge db upgrade" in before.stdout
    assert run("db", "upgrade", env=env).returncode == 0
    after = run("check", env=env)
    assert after.returncode == 0, after.stdout
    assert "ok    migrations" in after.stdout
    current = run("db", "current", env=env)
    assert current.stdout.split()[1] == current.stdout.split()[3]


def test_check_reports_a_bad_setting_without_traceback():
    result = run("check", env={"REDIS_URL": "http://nope"})
    assert result.returncode == 1
    assert result.stdout.startswith("FAIL  configuration  REDIS_URL:")


@pytest.mark.slow
def test_demo_exits_zero_and_says_what_it_did(tmp_path):
    result = run("demo", "--instance", str(tmp_path / "demo"), cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Demo finished" in result.stdout
    assert "/healthz and /readyz answer 200" in result.stdout
    assert (tmp_path / "demo" / "amo_bridge.sqlite3").exists()
