"""CLI: ``amo-bridge import-policies`` — the broker's base from XLSX/CSV into the ledger."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from amo_bridge.cli import Failure, one_line_errors, settings_from_env
from amo_bridge.i18n import t


def _account_id(session, subdomain: str | None) -> int:
    from sqlalchemy import select

    from amo_bridge.models import Account

    accounts = list(session.execute(select(Account.id, Account.subdomain)
                                    .order_by(Account.subdomain)))
    if subdomain:
        for account_id, name in accounts:
            if name == subdomain:
                return account_id
        raise Failure(f"--account: no connected account {subdomain!r}")
    if not accounts:
        raise Failure("no amoCRM account is connected yet (amo-bridge account connect …)")
    if len(accounts) > 1:
        names = ", ".join(name for _, name in accounts)
        raise Failure(f"several accounts are connected ({names}): choose one with --account")
    return accounts[0][0]


class _Progress:
    """A progress bar on stderr (the report goes to stdout), made when the total is known."""

    def __init__(self) -> None:
        self.bar = None
        self.done = 0

    def __call__(self, done: int, total: int | None) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total or 0, label="rows", file=sys.stderr,
                                         show_pos=True, show_percent=bool(total))
            self.bar.__enter__()
        self.bar.update(max(0, done - self.done))
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@click.command("import-policies")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["ours", "foreign"]), default="ours",
              show_default=True, help="Policies we sold, or the client's other (foreign) ones.")
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--sheet", help="XLSX sheet to read (default: the first).")
@click.option("--map", "mapping", multiple=True, metavar="'Header=field'",
              help="Name a column nobody foresaw, e.g. --map 'Моб.=phone' ('Header=' ignores it).")
@click.option("--account", "subdomain", metavar="SUBDOMAIN",
              help="The account to import into (needed when several are connected).")
@click.option("--rejected-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the rejected rows (default: FILE-rejected.csv beside FILE).")
@click.option("--lang", type=click.Choice(["ru", "en"]), default="ru", show_default=True,
              help="Language of the report and the rejected-rows file.")
@one_line_errors
def import_policies_command(file: Path, kind: str, dry_run: bool, sheet: str | None,
                            mapping: tuple[str, ...], subdomain: str | None,
                            rejected_out: Path | None, lang: str) -> None:
    """Import the broker's policies from an XLSX or CSV file.

    Prints the report; rejected rows go to a CSV with a reason column, which can be fixed and
    imported again. Exit code 0: all rows imported; 1: some rows were rejected; 2: the file
    could not be imported.
    """
    from amo_bridge.clock import system_clock
    from amo_bridge.db import Database
    from amo_bridge.imports import ImportFileError, ImportOptions, import_policies, render_text

    settings = settings_from_env()
    database = Database(settings.database_url)
    target = rejected_out or file.with_name(f"{file.stem}-rejected.csv")
    partial = target.with_name(target.name + ".part")
    progress = _Progress()
    session = database.sessionmaker()
    try:
        account_id = _account_id(session, subdomain)

        def after_batch(done: int, total: int | None) -> None:
            progress(done, total)
            if not dry_run:
                session.commit()  # each batch stands on its own; a rerun completes the rest

        with partial.open("w", encoding="utf-8", newline="") as rejected:
            result = import_policies(
                session, account_id=account_id, source=file, filename=file.name,
                options=ImportOptions(kind=kind, dry_run=dry_run, sheet=sheet,
                                      mapping=tuple(mapping), lang=lang),
                clock=system_clock, after_batch=after_batch, rejected_out=rejected)
        session.commit()
    except ImportFileError as exc:
        session.rollback()
        partial.unlink(missing_ok=True)
        raise Failure(exc.message(lang)) from None
    except BaseException:
        session.rollback()
        partial.unlink(missing_ok=True)
        raise
    finally:
        progress.close()
        session.close()
        database.dispose()
    click.echo(render_text(result, lang), nl=False)
    if result.summary.rejected:
        partial.replace(target)
        click.echo(t("import.cli.rejected_file", lang, path=str(target)))
    else:
        partial.unlink(missing_ok=True)
    if result.new_contact_ids:
        click.echo(_push_contacts(settings, account_id, lang))
    sys.exit(1 if result.summary.rejected else 0)


def _push_contacts(settings, account_id: int, lang: str) -> str:
    """Queue the new clients for amoCRM; without Redis the running bridge picks them up."""
    if settings.effective_job_mode == "rq":
        from jobs.queue import JobCall, make_queue
        from jobs.runtime import connect_redis

        make_queue("rq", redis=connect_redis(settings.redis_url)).enqueue(
            JobCall("jobs.imports.create_contacts", (account_id,)))
        return t("import.cli.contacts_queued", lang)
    return t("import.cli.contacts_later", lang)
