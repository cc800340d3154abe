"""``amo-bridge renewals scan|preview|status|retry``: renewals (пролонгации) at the shell.

``scan`` does at once what the daily job does (reserve what is due, create the deals and tasks
in amoCRM, follow moved or cancelled policies); ``--dry-run`` lists what is due and who would
get it without writing anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import click

from amo_bridge.cli import Failure, one_line_errors, settings_from_env


@contextmanager
def _database() -> Iterator[tuple]:
    from amo_bridge.db import Database

    settings = settings_from_env()
    database = Database(settings.database_url)
    try:
        yield settings, database
    finally:
        database.dispose()


def _accounts(database, subdomain: str | None, *, one: bool = False) -> list:
    from sqlalchemy import select

    from amo_bridge.models import Account

    with database.read_session() as session:
        accounts = list(session.scalars(select(Account).order_by(Account.id)))
    if subdomain:
        accounts = [a for a in accounts if a.subdomain == subdomain]
        if not accounts:
            raise Failure(f"--account: no connected account {subdomain!r}")
    if not accounts:
        raise Failure("no connected amoCRM account in this database")
    if one and len(accounts) > 1:
        raise Failure("several accounts are connected: name one with --account")
    return accounts


def _names(database, account_id: int) -> dict[int, str]:
    from sqlalchemy import select

    from amo_bridge.models import User

    with database.read_session() as session:
        return dict(session.execute(select(User.amocrm_id, User.name)
                                    .where(User.account_id == account_id)).all())


def _print_plan(database, account, planned) -> None:
    names = _names(database, account.id)
    for item in planned:
        p = item.policy
        who = names.get(item.assignee_amocrm_id, item.assignee_amocrm_id or "—")
        click.echo(f"  policy {p.policy_id:>7}  {p.kind:<7} {p.product_code:<9} ends "
                   f"{p.ends_on:%d.%m.%Y}  due {p.due_on:%d.%m.%Y}  → {who} ({item.reason})")


@click.group("renewals")
def renewals() -> None:
    """Renewals (пролонгации): scan, preview, status, retry."""


@renewals.command("scan")
@click.option("--account", "subdomain", help="amoCRM subdomain (default: every account).")
@click.option("--dry-run", is_flag=True, help="List what is due and who would get it; write "
                                              "nothing.")
@one_line_errors
def scan(subdomain: str | None, dry_run: bool) -> None:
    """Reserve and create the renewals due today (the daily job, now)."""
    from amo_bridge.amocrm.errors import AmoError
    from amo_bridge.clock import system_clock
    from amo_bridge.connections import client_for_account
    from amo_bridge.models import Account, AccountStatus
    from amo_bridge.renewals import create, follow
    from amo_bridge.renewals.reserve import plan, reserve_due

    with _database() as (settings, database):
        for account in _accounts(database, subdomain):
            if dry_run:
                with database.read_session() as session:
                    planned = plan(session, account, clock=system_clock)
                click.echo(f"{account.subdomain}: {len(planned)} renewal(s) due (dry run)")
                _print_plan(database, account, planned)
                continue
            with database.session() as session:
                current = session.get(Account, account.id)
                reserved = reserve_due(session, current, clock=system_clock)
                drift = follow.plan_follow(session, current, clock=system_clock)
            click.echo(f"{account.subdomain}: {reserved.due} due, "
                       f"{len(reserved.renewal_ids)} reserved")
            if account.status != AccountStatus.ACTIVE:
                click.echo(f"  account is {account.status}: deals wait for the reconnection")
                continue
            client = client_for_account(database, account, settings, clock=system_clock)
            try:
                done = create.create_renewals(database, client, account.id, clock=system_clock)
                moved = follow.apply_remote(database, client, account, drift.remote,
                                            clock=system_clock)
            except AmoError as exc:
                raise Failure(f"amoCRM: {exc} (what was done is saved; run again)") from None
            click.echo(f"  created {done.leads} deal(s) and {done.tasks} task(s); found "
                       f"{done.adopted} by marker; failed {done.failed}; followed {moved} "
                       f"moved or cancelled policy(ies)")


@renewals.command("preview")
@click.option("--kind", type=click.Choice(["ours", "foreign"]), help="Only this kind.")
@click.option("--product", help="Only this product code (osago, kasko, …).")
@click.option("--count", default=10, show_default=True, type=click.IntRange(1, 500),
              help="How many renewals.")
@click.option("--horizon", default=365, show_default=True, type=click.IntRange(0, 730),
              help="Look this many days ahead.")
@click.option("--account", "subdomain", help="amoCRM subdomain; needed with several accounts.")
@one_line_errors
def preview(kind: str | None, product: str | None, count: int, horizon: int,
            subdomain: str | None) -> None:
    """Who would get the next N renewals (changes nothing)."""
    from amo_bridge.clock import system_clock
    from amo_bridge.renewals.reserve import plan

    with _database() as (_, database):
        [account] = _accounts(database, subdomain, one=True)
        with database.read_session() as session:
            planned = plan(session, account, clock=system_clock, count=count, kind=kind,
                           product=product, horizon=horizon)
        click.echo(f"{account.subdomain}: the next {len(planned)} renewal(s)")
        _print_plan(database, account, planned)


@renewals.command("status")
@click.option("--account", "subdomain", help="amoCRM subdomain (default: every account).")
@one_line_errors
def status(subdomain: str | None) -> None:
    """Renewals by state, and why the failed ones failed."""
    from sqlalchemy import select

    from amo_bridge.models import Renewal

    with _database() as (_, database):
        for account in _accounts(database, subdomain):
            with database.read_session() as session:
                rows = session.execute(select(Renewal.id, Renewal.status, Renewal.last_error)
                                       .where(Renewal.account_id == account.id)).all()
            counts = Counter(r.status for r in rows)
            summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
            click.echo(f"{account.subdomain}: {summary}")
            for row in [r for r in rows if r.status == "failed"][:20]:
                click.echo(f"  renewal {row.id} failed: {row.last_error}")


@renewals.command("retry")
@click.option("--account", "subdomain", help="amoCRM subdomain (default: every account).")
@one_line_errors
def retry(subdomain: str | None) -> None:
    """Put failed renewals back in the queue (after fixing the cause)."""
    from amo_bridge.clock import system_clock
    from amo_bridge.renewals.create import retry_failed

    with _database() as (_, database):
        for account in _accounts(database, subdomain):
            with database.session() as session:
                count = retry_failed(session, account.id, now=system_clock.now())
            click.echo(f"{account.subdomain}: {count} renewal(s) back to reserved; "
                       "'amo-bridge renewals scan' creates them")
