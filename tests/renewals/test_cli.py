"""``amo-bridge renewals …`` as a person runs it: a real process against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from amo_bridge.clock import local_today
from tests.core.test_cli import run
from tests.renewals.conftest import MSK, VOLKOV, add_contact, ledger_policy, renewal_leads


class _RealClock:
    def now(self):
        return datetime.now(UTC)


def test_scan_preview_status_at_the_shell(stack):
    env = {"DATABASE_URL": stack.settings.database_url,
           "INSTANCE_PATH": str(stack.settings.instance_path), "LOG_LEVEL": "ERROR"}
    ends = local_today(_RealClock(), MSK) + timedelta(days=10)  # the CLI runs on real time
    contact = add_contact(stack, "Смирнов Олег Иванович")
    ledger_policy(stack, contact_amocrm_id=contact, contact_name="Смирнов Олег Иванович",
                  product="osago", ends_on=ends, seller=VOLKOV)

    dry = run("renewals", "scan", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "demo-broker: 1 renewal(s) due (dry run)" in dry.stdout
    assert "→ Дмитрий Волков (seller)" in dry.stdout
    assert renewal_leads(stack) == []

    preview = run("renewals", "preview", "--kind", "ours", "--count", "5", env=env)
    assert preview.returncode == 0 and "the next 1 renewal(s)" in preview.stdout

    done = run("renewals", "scan", env=env)
    assert done.returncode == 0, done.stderr
    assert "1 due, 1 reserved" in done.stdout and "created 1 deal(s) and 1 task(s)" in done.stdout
    assert len(renewal_leads(stack)) == 1
    again = run("renewals", "scan", env=env)
    assert "0 due, 0 reserved" in again.stdout and len(renewal_leads(stack)) == 1
    assert "demo-broker: created 1" in run("renewals", "status", env=env).stdout

    wrong = run("renewals", "preview", "--account", "nope", env=env)
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == "amo-bridge: error: --account: no connected account 'nope'"
