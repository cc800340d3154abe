"""``amo-bridge sms …``: preview templates, count segments, show callback URLs, see channels."""

from __future__ import annotations

from pathlib import Path

import click

from amo_bridge.cli import Failure, one_line_errors, settings_from_env


@click.group()
def sms() -> None:
    """SMS tools: previews, segments, callbacks, channels."""


@sms.command("preview")
@click.argument("template_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--max-segments", default=3, show_default=True, type=int,
              help="Warn when the sample takes more SMS than this.")
@click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Replace a sample value, e.g. --set manager_phone=.")
@click.option("--lang", default="ru", type=click.Choice(["ru", "en"]), show_default=True,
              help="Language of error messages.")
def preview_command(template_file: Path, max_segments: int, overrides: tuple[str, ...],
                    lang: str) -> None:
    """Render TEMPLATE_FILE on the sample client and print it with its segment count."""
    from amo_bridge.templates import SAMPLE, VARIABLES, MissingValues, TemplateProblem, preview

    try:
        source = template_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise Failure(f"{template_file}: {exc.strerror or exc}") from None
    values: dict[str, object] = {}
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or name not in VARIABLES:
            raise Failure(f"--set {item!r}: use NAME=VALUE with one of {', '.join(VARIABLES)}")
        values[name] = value or None
    try:
        shown = preview(source, max_segments=max_segments, values={**SAMPLE, **values})
    except TemplateProblem as exc:
        raise Failure(f"{template_file}: {exc.message(lang)}") from None
    except MissingValues as exc:
        raise Failure(f"{template_file}: no value for {', '.join(exc.names)}") from None
    parts = shown.segments
    click.echo(shown.text)
    click.echo("")
    click.echo(f"{len(shown.text)} characters, {parts.encoding}: {parts.count} SMS "
               f"({parts.units} units, {parts.per_part} per part)")
    if shown.too_long:
        click.echo(f"warning: more than {max_segments} SMS per message", err=True)


@sms.command("segments")
@click.argument("text")
def segments_command(text: str) -> None:
    """Count the SMS parts TEXT takes (GSM-7 160/153, UCS-2 70/67)."""
    from sms.segments import count_segments

    parts = count_segments(text)
    click.echo(f"{parts.encoding}: {parts.count} SMS ({parts.units} units, "
               f"{parts.per_part} per part)")


@sms.command("callback-url")
@click.argument("gateway", type=click.Choice(["smsru", "smsc", "smsaero", "fake"]))
@one_line_errors
def callback_url_command(gateway: str) -> None:
    """Print the delivery-callback URL to enter in GATEWAY's cabinet."""
    from jobs.sms import secret_from
    from sms.callbacks import callback_path

    settings = settings_from_env()
    click.echo(f"{settings.public_url.rstrip('/')}{callback_path(secret_from(settings), gateway)}")


@sms.command("status")
@one_line_errors
def status_command() -> None:
    """Show channels, and messages by state, for every account."""
    from sqlalchemy import func, select

    from amo_bridge.db import Database
    from amo_bridge.models import Account, SmsChannel, SmsMessage

    database = Database(settings_from_env().database_url)
    try:
        with database.session() as session:
            for account in session.scalars(select(Account).order_by(Account.id)):
                counts = dict(session.execute(
                    select(SmsMessage.status, func.count()).where(
                        SmsMessage.account_id == account.id).group_by(SmsMessage.status)).all())
                shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
                click.echo(f"{account.subdomain}: messages {shown}")
                for row in session.scalars(select(SmsChannel).where(
                        SmsChannel.account_id == account.id)):
                    click.echo(f"  channel {row.gateway}: {row.status} {row.reason or ''}")
    finally:
        database.dispose()


@sms.command("resume")
@click.argument("subdomain")
@click.argument("gateway")
@one_line_errors
def resume_command(subdomain: str, gateway: str) -> None:
    """Resume GATEWAY for the account SUBDOMAIN after fixing the cause (e.g. topping up)."""
    from sqlalchemy import select

    from amo_bridge.clock import system_clock
    from amo_bridge.db import Database
    from amo_bridge.models import Account
    from sms.channel import resume

    database = Database(settings_from_env().database_url)
    try:
        with database.session() as session:
            account = session.scalar(select(Account).where(Account.subdomain == subdomain))
            if account is None:
                raise Failure(f"no account {subdomain!r}")
            done = resume(session, account.id, gateway, system_clock.now())
        click.echo(f"{gateway} for {subdomain}: {'resumed' if done else 'was not paused'}")
    finally:
        database.dispose()
