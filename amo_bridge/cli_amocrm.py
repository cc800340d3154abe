"""CLI: connected accounts, webhook tools, reconcile, and the amoCRM simulator."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, time

import click

from amo_bridge.cli import Failure, one_line_errors, settings_from_env


@click.group()
def account() -> None:
    """Connected amoCRM accounts."""


@account.command("connect")
@click.option("--base-url", required=True,
              help="https://SUBDOMAIN.amocrm.ru, https://SUBDOMAIN.kommo.com or a simulator URL.")
@click.option("--code", help="An OAuth authorization code (valid 20 minutes).")
@click.option("--token", "long_lived", help="A private integration's long-lived token.")
@click.option("--expires", type=click.DateTime(["%Y-%m-%d"]),
              help="Expiry date of the long-lived token.")
@click.option("--rotate-webhook-secret", is_flag=True, help="Issue a new webhook URL.")
@one_line_errors
def account_connect(base_url: str, code: str | None, long_lived: str | None,
                    expires: datetime | None, rotate_webhook_secret: bool) -> None:
    """Connect an account; prints the webhook URL to paste into amoCRM."""
    from amo_bridge.amocrm.errors import AmoError
    from amo_bridge.amocrm.oauth import exchange_code, long_lived_token
    from amo_bridge.connect import connect_account
    from amo_bridge.connections import credentials_from
    from amo_bridge.db import Database

    settings = settings_from_env()
    if bool(code) == bool(long_lived):
        raise Failure("give exactly one of --code and --token")
    try:
        if code:
            credentials = credentials_from(settings)
            if credentials is None:
                raise Failure("AMOCRM_CLIENT_ID: the integration's id, secret and redirect URI "
                              "are needed to exchange a code")
            from amo_bridge.amocrm.http import make_session

            pair = exchange_code(make_session(), base_url.rstrip("/"), credentials, code=code)
        else:
            until = expires or datetime(2099, 1, 1, tzinfo=UTC)
            pair = long_lived_token(long_lived, expires_at=datetime.combine(
                until.date(), time(0), tzinfo=UTC))
        database = Database(settings.database_url)
        connected = connect_account(database, base_url=base_url, pair=pair,
                                    rate=settings.amocrm_rate_per_second,
                                    rotate_token=rotate_webhook_secret)
    except AmoError as exc:
        raise Failure(f"amoCRM: {exc}") from None
    verb = "connected" if connected.created else "reconnected"
    click.echo(f"{verb} account {connected.subdomain} (amoCRM id {connected.amocrm_id})")
    if connected.webhook_token:
        click.echo(f"webhook URL: {settings.public_url}/webhooks/amocrm/{connected.webhook_token}")
        click.echo("Add it in amoCRM: Settings → Integrations → Webhooks (all lead, contact and "
                   "task events). It is shown only now.")


@account.command("list")
@one_line_errors
def account_list() -> None:
    """List connected accounts and their state."""
    from sqlalchemy import select

    from amo_bridge.db import Database
    from amo_bridge.models import Account

    database = Database(settings_from_env().database_url)
    with database.session() as session:
        for row in session.scalars(select(Account).order_by(Account.id)):
            click.echo(f"{row.id:>4}  {row.subdomain:<24} amoCRM {row.amocrm_id:<10} "
                       f"{row.status:<12} {row.timezone}  {row.base_url}")


@account.command("unblock")
@click.argument("subdomain")
@one_line_errors
def account_unblock(subdomain: str) -> None:
    """Reopen an account after amoCRM support lifted its block."""
    from sqlalchemy import select

    from amo_bridge.connections import unblock_account
    from amo_bridge.db import Database
    from amo_bridge.models import Account
    from jobs.runtime import connect_redis

    settings = settings_from_env()
    database = Database(settings.database_url)
    with database.read_session() as session:
        row = session.scalar(select(Account).where(Account.subdomain == subdomain))
    if row is None:
        raise Failure(f"no connected account {subdomain!r}")
    redis = connect_redis(settings.redis_url) if settings.redis_url else None
    unblock_account(database, row, settings, redis=redis)
    click.echo(f"{subdomain}: active again; requests to amoCRM resume")


@click.group()
def webhook() -> None:
    """Parse or replay raw amoCRM webhook bodies."""


@webhook.command("parse")
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--timezone", default=None, help="Account timezone for date-time strings.")
@click.option("--raw", is_flag=True, help="Include each event's raw fields.")
def webhook_parse(source, timezone: str | None, raw: bool) -> None:
    """Print the normalised events of a raw body (FILE or -) as JSON lines."""
    from amo_bridge.amocrm.webhook import parse_webhook, to_json_lines
    from amo_bridge.amocrm.webhook_types import WebhookParseError

    body = source.read()
    content_type = "application/json" if body.lstrip()[:1] in (b"{", b"[") else (
        "application/x-www-form-urlencoded")
    try:
        parsed = parse_webhook(body, content_type, timezone=timezone)
    except WebhookParseError as exc:
        raise Failure(f"cannot parse: {exc.reason}") from None
    for line in to_json_lines(parsed, include_raw=raw):
        click.echo(line)


@webhook.command("replay")
@click.argument("source", type=click.File("rb"))
@click.option("--url", required=True, help="The bridge's webhook URL (with the secret).")
@click.option("--content-type", default=None, help="Default: sniffed from the body.")
def webhook_replay(source, url: str, content_type: str | None) -> None:
    """POST a raw body to a running bridge, as amoCRM would."""
    import requests

    body = source.read()
    if content_type is None:
        content_type = "application/json" if body.lstrip()[:1] in (b"{", b"[") else (
            "application/x-www-form-urlencoded")
    try:
        response = requests.post(url, data=body, timeout=10, headers={
            "Content-Type": content_type, "User-Agent": "amoCRM-Webhooks/3.0"})
    except requests.RequestException as exc:
        raise Failure(f"could not reach {url}: {exc}") from None
    click.echo(f"{response.status_code} {response.text[:200]}")
    sys.exit(0 if 200 <= response.status_code < 300 else 1)


@click.command()
@click.option("--account", "subdomain", default=None, help="Only this account (subdomain).")
@one_line_errors
def reconcile(subdomain: str | None) -> None:
    """Poll amoCRM now for anything the webhooks missed."""
    from sqlalchemy import select

    from amo_bridge.models import Account
    from jobs.inbox import reconcile_account
    from jobs.runtime import build_runtime, set_runtime

    runtime = build_runtime(settings_from_env(), mode="inline")
    set_runtime(runtime)
    with runtime.session() as session:
        query = select(Account.id, Account.subdomain)
        if subdomain:
            query = query.where(Account.subdomain == subdomain)
        accounts = list(session.execute(query))
    if subdomain and not accounts:
        raise Failure(f"no connected account {subdomain!r}")
    for account_id, name in accounts:
        click.echo(f"{name}: {reconcile_account(account_id)}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--seed", type=click.Path(exists=True, dir_okay=False),
              help="TOML or JSON seed (default: the built-in insurance broker account).")
def simulator(host: str, port: int, seed: str | None) -> None:
    """Run the local amoCRM simulator.

    The v4 API subset, OAuth, limits and webhooks, for trying the bridge without an account.
    """
    from amo_bridge.simulator import serve

    click.echo(f"amoCRM simulator on http://{host}:{port} (accounts under /s/<subdomain>, "
               f"controls under /_sim)")
    serve(host, port, seed_path=seed)
