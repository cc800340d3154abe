"""Demo step: the broker's old spreadsheet imported the way the widget does it.

Assumes the earlier steps migrated the database and connected the demo account (``ctx.stack``
from :func:`amo_bridge.devstack.local_stack`, jobs in-process). It uploads the messy sample that
ships with the package (``amo_bridge/imports/sample/base_messy.csv``: cp1251, ``;``, a title
above the header, decimal commas, an impossible date, an unknown product, a short phone, a totals
row) as an import run, lets the background job import it and create the new clients in amoCRM
(the simulator), then prints the summary, two rejected rows with their reasons, and shows that
importing the same file again changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from amo_bridge.imports import runs
from amo_bridge.models import Account, Contact, ImportRun, Policy
from jobs.queue import enqueue_after_commit

SAMPLE = Path(__file__).resolve().parent / "imports" / "sample" / "base_messy.csv"


def _import(ctx: Any, runtime: Any, account_id: int) -> ImportRun:
    with runtime.session() as session:
        run = runs.create_run(session, account_id=account_id, filename=SAMPLE.name,
                              content=SAMPLE.read_bytes(), kind="ours", dry_run=False,
                              sheet=None, mapping=[], lang="ru", requested_by=None,
                              now=runtime.clock.now())
        enqueue_after_commit(session, "jobs.imports.run_import", run.id)
        run_id = run.id
    if ctx.stack is not None:
        ctx.stack.wait(timeout=120)  # the import job, then the job creating its clients
    with runtime.session() as session:
        return session.get(ImportRun, run_id)


def step_import(ctx: Any) -> None:
    if ctx.app is None:
        ctx.say("No bridge is running: skipped the import of the broker's base.")
        return
    runtime = ctx.app.extensions["amo_bridge"]
    with runtime.session() as session:
        account_id = ctx.stack.account_id if ctx.stack is not None else session.scalar(
            select(Account.id).order_by(Account.id).limit(1))
    if account_id is None:
        ctx.say("No account is connected: skipped the import of the broker's base.")
        return
    run = _import(ctx, runtime, account_id)
    if run.status != "done":
        ctx.say(f"The import did not finish ({run.status}): {run.error or 'still running'}.")
        return
    s = run.summary
    report = run.report or {}
    ctx.say(f"Uploaded the broker's old spreadsheet {SAMPLE.name} ({report.get('encoding')}, "
            f"«{report.get('delimiter')}», header on row {report.get('header_row')}); a job")
    ctx.say(f"imported it: read {s['read']}, imported {s['imported']}, updated {s['updated']}, "
            f"unchanged {s['unchanged']}, rejected {s['rejected']} (a totals row skipped).")
    with runtime.session() as session:
        linked = session.scalar(
            select(func.count()).select_from(Policy).join(Contact, Contact.id == Policy.contact_id)
            .where(Policy.account_id == account_id, Policy.source == "import",
                   Contact.amocrm_id.is_not(None)))
    ctx.say(f"{s['contacts_created']} new clients were created in amoCRM in the background "
            f"(batches of ≤ 50); {linked} imported policies now")
    ctx.say(f"point at their amoCRM contacts, with {s['money_lines']} sales booked by the money "
            "engine.")
    ctx.say("Rejected rows come back with the reason, ready to fix and import again:")
    first_per_row: dict[int, dict] = {}
    for issue in report.get("issues", []):
        if issue["severity"] == "error":
            first_per_row.setdefault(issue["row"], issue)
    for issue in list(first_per_row.values())[:2]:
        where = f"строка {issue['row']}, столбец {issue['column']} «{issue['header']}»"
        ctx.say(f"  {where}: {issue['message']}")
    again = _import(ctx, runtime, account_id).summary
    ctx.say(f"Importing the same file again changes nothing: imported {again['imported']}, "
            f"updated {again['updated']}, unchanged {again['unchanged']}.")
    ctx.facts["import_run_id"] = run.id
