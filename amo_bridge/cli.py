"""The ``amo-bridge`` command line."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from amo_bridge.settings import Settings, SettingsError, load_settings


class Failure(click.ClickException):
    """A clear one-line error (exit code 2) instead of a traceback."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"amo-bridge: error: {self.format_message()}", err=True)


def settings_from_env() -> Settings:
    try:
        return load_settings(os.environ)
    except SettingsError as exc:
        raise Failure(str(exc)) from None


def one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn connection and configuration errors into one line a person can act on."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from redis.exceptions import RedisError
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return func(*args, **kwargs)
        except SettingsError as exc:
            raise Failure(str(exc)) from None
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise Failure(f"database: {reason}") from None
        except RedisError as exc:
            raise Failure(f"redis: {exc}") from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="amo-bridge")
def main() -> None:
    """amo-bridge: the insurance broker's ledger, renewals and SMS, wired into amoCRM."""


# --- database -------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema migrations (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="heads")
@one_line_errors
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: all heads)."""
    from amo_bridge import migrate
    from amo_bridge.app import ensure_instance

    settings = settings_from_env()
    ensure_instance(settings.instance_path)
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database at {migrate.head_revision() if revision == 'heads' else revision}")


@db.command("downgrade")
@click.argument("revision")
@one_line_errors
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' empties the database)."""
    from amo_bridge import migrate

    migrate.downgrade(settings_from_env().database_url, revision)
    click.echo(f"database at {revision}")


@db.command("current")
@one_line_errors
def db_current() -> None:
    """Print the database's migration revision and the code's head."""
    from amo_bridge import migrate
    from amo_bridge.db import make_engine

    engine = make_engine(settings_from_env().database_url)
    try:
        click.echo(f"database: {migrate.current_revision(engine)}  code: {migrate.head_revision()}")
    finally:
        engine.dispose()


# --- processes ------------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@one_line_errors
def serve(host: str, port: int) -> None:
    """Run the development web server.

    Production runs gunicorn instead: see the Procfile.
    """
    from amo_bridge.app import create_app

    app = create_app(settings_from_env())
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@main.command()
@click.option("--burst", is_flag=True, help="Drain the queue, then exit.")
@one_line_errors
def worker(burst: bool) -> None:
    """Run an RQ worker (needs REDIS_URL)."""
    from jobs.worker import run_worker

    settings = settings_from_env()
    if not settings.redis_url:
        raise Failure("REDIS_URL: is required for 'worker' (without it, 'serve' runs jobs itself)")
    run_worker(settings, burst=burst)


@main.command()
@one_line_errors
def cron() -> None:
    """Run the periodic scheduler (run exactly one).

    RQ cron with the JSON serializer; needs REDIS_URL.
    """
    from jobs.worker import run_cron

    settings = settings_from_env()
    if not settings.redis_url:
        raise Failure("REDIS_URL: is required for 'cron' (without it, 'serve' runs the schedule)")
    run_cron(settings)


@main.command()
def check() -> None:
    """Check configuration and connectivity.

    Prints one line per check and what is wrong.
    """
    from amo_bridge.checks import run_checks

    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        click.echo(f"FAIL  configuration  {exc}")
        sys.exit(1)
    ok = True
    for name, passed, detail in run_checks(settings):
        ok &= passed
        click.echo(f"{'ok  ' if passed else 'FAIL'}  {name:<14} {detail}")
    sys.exit(0 if ok else 1)


@main.command()
@click.option("--serve", "keep_serving", is_flag=True, help="Keep the service running afterwards.")
@click.option("--port", default=0, type=int, help="Port for --serve (default: a free one).")
@click.option("--instance", type=click.Path(file_okay=False), help="Instance folder to use.")
@one_line_errors
def demo(keep_serving: bool, port: int, instance: str | None) -> None:
    """Run the demo against the built-in simulator.

    Uses the embedded default (SQLite, jobs in-process) and says what happened.
    """
    from amo_bridge.demo import run_demo

    sys.exit(run_demo(keep_serving=keep_serving, port=port, instance=instance, echo=click.echo))



# --- commands of the capabilities, each in its own module ------------------------------------


def _register_commands() -> None:
    from amo_bridge import cli_amocrm

    main.add_command(cli_amocrm.account)
    main.add_command(cli_amocrm.webhook)
    main.add_command(cli_amocrm.reconcile)
    main.add_command(cli_amocrm.simulator)


def _register_money_commands() -> None:
    from amo_bridge import cli_money

    main.add_command(cli_money.export)


_register_commands()
_register_money_commands()
main.add_command(__import__("amo_bridge.cli_sms", fromlist=["sms"]).sms)  # issue 7: SMS
main.add_command(  # issue 6: imports of the broker's base
    __import__("amo_bridge.cli_imports", fromlist=["x"]).import_policies_command)

main.add_command(__import__("amo_bridge.cli_renewals", fromlist=["x"]).renewals)  # issue 5

main.add_command(__import__("amo_bridge.cli_widget", fromlist=["widget"]).widget)  # issue 9: widget


if __name__ == "__main__":  # pragma: no cover
    main()
