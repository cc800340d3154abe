"""Demo step: the money reports over the demo account's policies, and an Excel export.

Assumes the earlier steps migrated the database and (ideally) connected an account and mirrored
some won deals into policies; with no account it says so and does nothing. It uses the running
bridge (``ctx.bridge``) when there is one to fetch the export through its signed link.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from amo_bridge.clock import local_today, system_clock
from amo_bridge.exports import service
from amo_bridge.exports.links import sign_download
from amo_bridge.models import Account, MoneyLine
from amo_bridge.reports.common import ReportFilter
from amo_bridge.reports.payroll import payroll
from amo_bridge.reports.period import Period, next_month
from amo_bridge.reports.plan_fact import plan_vs_fact
from amo_bridge.reports.retention import retention


def policies(count: int) -> str:
    return f"{count} {'policy' if count == 1 else 'policies'}"


def roubles(kopecks: int | None) -> str:
    if kopecks is None:
        return "—"
    return f"{kopecks / 100:,.2f}".replace(",", " ") + " ₽"


def _database(ctx: Any):
    if ctx.app is not None:
        runtime = ctx.app.extensions["amo_bridge"]
        return runtime.db, runtime.clock
    from amo_bridge.db import Database

    return Database(ctx.settings.database_url), system_clock


def _period(session, account: Account, clock) -> Period:
    """From the first month with money to the last (or this month when there is none)."""
    first, last = session.execute(
        select(func.min(MoneyLine.month), func.max(MoneyLine.month)).where(
            MoneyLine.account_id == account.id
        )
    ).one()
    if first is None:
        today = local_today(clock, account.timezone)
        return Period.month(today.year, today.month)
    return Period(first, next_month(last))


def step_money(ctx: Any) -> None:
    db, clock = _database(ctx)
    with db.session() as session:
        account_id = ctx.facts.get("account_id")
        account = (
            session.get(Account, account_id)
            if account_id
            else session.scalar(select(Account).order_by(Account.id))
        )
        if account is None:
            ctx.say("No amoCRM account is connected yet, so there is no money to report.")
            return
        flt = ReportFilter(period=_period(session, account, clock))
        plan = plan_vs_fact(session, account.id, flt)
        pay = payroll(session, account.id, flt)
        due = retention(
            session,
            account.id,
            ReportFilter(
                period=Period(
                    local_today(clock, account.timezone).replace(day=1),
                    date(local_today(clock, account.timezone).year + 1, 1, 1),
                )
            ),
        )
    total = plan.total
    ctx.say(
        f"Plan vs fact for {flt.period.label()} (account {account.subdomain}): "
        f"{policies(total.policies)}, premium {roubles(total.premium)}, "
        f"broker income {roubles(total.income)}"
        + (f", {total.income_pct} % of the income plan." if total.income_pct else ".")
    )
    for row in plan.rows[-6:]:
        ctx.say(
            f"  {row.month:%Y-%m} {row.manager_name or 'no seller'}: {policies(row.policies)}, "
            f"income {roubles(row.income)}, plan {roubles(row.plan_income)}"
        )
    ctx.say(
        f"Payroll for the period: sellers {roubles(pay.total.seller_share)}, issuers "
        f"{roubles(pay.total.issuer_share)}."
    )
    ctx.say(
        f"Renewals due until the end of the year: {due.total.due}, renewed "
        f"{due.total.renewed}, pending {due.total.pending}."
    )

    requester = service.Requester(channel="demo")
    exports_dir = ctx.settings.instance_path / "exports"
    with db.session() as session:
        record = service.request_export(
            session,
            account_id=account.id,
            requester=requester,
            kind="ledger",
            flt=flt,
            lang="ru",
            clock=clock,
        )
        service.start_export(session, record.id, clock=clock)
        record_id = record.id
    with db.session() as session:
        record = service.complete_export(session, record_id, exports_dir=exports_dir, clock=clock)
        path = service.export_file(record, exports_dir)
        rows, name = record.rows, record.file_name
    ctx.facts["money_export"] = str(path)
    ctx.say(f"Wrote the finance export «{name}» ({rows} rows: ledger, payroll, plan vs fact,")
    ctx.say(f"retention; Russian headers) to {path}")
    if ctx.bridge is not None and ctx.app is not None:
        token = sign_download(
            ctx.app.config["SECRET_KEY"], export_id=record_id, account_id=account.id, clock=clock
        )
        url = f"{ctx.bridge.url}/widget/api/exports/{record_id}/download?token={token}"
        answer = ctx.http.get(url, timeout=30)
        ctx.say(
            f"Its signed download link (valid 5 minutes) answers {answer.status_code} with "
            f"{len(answer.content)} bytes; every request and download is in the audit log."
        )
