"""``amo-bridge export ledger|payroll|plan|retention``: Excel exports for admins at the shell.

Whoever can run this command has the server's configuration (and so the database) already; the
export is still written to the export audit, with the channel ``cli``.
"""

from __future__ import annotations

from pathlib import Path

import click

from amo_bridge.cli import Failure, one_line_errors, settings_from_env


@click.command("export")
@click.argument("kind", type=click.Choice(["ledger", "payroll", "plan", "retention"]))
@click.option(
    "--period",
    required=True,
    help="2026-11, 2026, or a range: 2026-01..2026-03 or 2026-01-15..2026-02-14.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The .xlsx file to write.",
)
@click.option("--account", "subdomain", help="amoCRM subdomain; needed with several accounts.")
@click.option("--manager", type=int, help="Only this manager (amoCRM user id).")
@click.option("--product", help="Only this product code (osago, kasko, …).")
@click.option("--insurer", help="Only this insurer (exact name).")
@click.option(
    "--lang",
    type=click.Choice(["ru", "en"]),
    default="ru",
    show_default=True,
    help="Language of headers and labels.",
)
@one_line_errors
def export(
    kind: str,
    period: str,
    out: Path,
    subdomain: str | None,
    manager: int | None,
    product: str | None,
    insurer: str | None,
    lang: str,
) -> None:
    """Write an Excel export to a file (audited).

    KIND is ledger (the finance pack), payroll, plan (plan vs fact) or retention.
    """
    from sqlalchemy import select

    from amo_bridge.clock import system_clock
    from amo_bridge.db import Database
    from amo_bridge.exports import service
    from amo_bridge.models import Account
    from amo_bridge.reports.common import ReportFilter
    from amo_bridge.reports.period import Period, PeriodError

    try:
        flt = ReportFilter(
            period=Period.parse(period), manager=manager, product=product, insurer=insurer
        )
    except PeriodError as exc:
        raise Failure(f"--period: {exc}") from None
    if out.suffix.lower() != ".xlsx":
        raise Failure(f"--out: {out} must end in .xlsx")
    settings = settings_from_env()
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            accounts = session.scalars(select(Account).order_by(Account.id)).all()
            if subdomain:
                accounts = [a for a in accounts if a.subdomain == subdomain]
            if not accounts:
                raise Failure(
                    f"--account: no connected account {subdomain!r}"
                    if subdomain
                    else "no connected amoCRM account in this database"
                )
            if len(accounts) > 1:
                names = ", ".join(a.subdomain for a in accounts)
                raise Failure(f"--account: several accounts are connected ({names}); name one")
            record = service.request_export(
                session,
                account_id=accounts[0].id,
                requester=service.Requester(channel="cli"),
                kind=kind,
                flt=flt,
                lang=lang,
                clock=system_clock,
            )
            service.start_export(session, record.id, clock=system_clock)
            record_id = record.id
        try:
            with database.session() as session:
                record = service.complete_export(
                    session,
                    record_id,
                    exports_dir=settings.instance_path / "exports",
                    clock=system_clock,
                    out=out,
                )
                rows = record.rows
        except OSError as exc:
            with database.session() as session:
                service.fail_export(session, record_id, error=str(exc), clock=system_clock)
            raise Failure(f"--out: {exc.strerror or exc}: {out}") from None
    finally:
        database.dispose()
    click.echo(
        f"Wrote {kind} for {flt.period.label()} to {out.resolve()} "
        f"({rows} rows; export #{record_id} in the audit log)."
    )
