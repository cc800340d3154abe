"""``amo-bridge widget build|openapi|token``: the amoCRM widget zip, the API's description, and
(outside production) a token to call the widget API by hand."""

from __future__ import annotations

import json
from pathlib import Path

import click

from amo_bridge.cli import Failure, one_line_errors, settings_from_env


@click.group()
def widget() -> None:
    """The amoCRM widget: build the zip, describe its API."""


@widget.command("build")
@click.option("--backend-url", required=True,
              help="The bridge's public URL the widget calls, e.g. https://bridge.example.com.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("amo-bridge-widget.zip"), show_default=True,
              help="The zip to write.")
@click.option("--webhook-token", envvar="AMO_BRIDGE_WEBHOOK_TOKEN",
              help="The account's webhook secret (from 'account connect'): enables the Digital "
                   "Pipeline action «amo-bridge: отправить SMS».")
def build(backend_url: str, out: Path, webhook_token: str | None) -> None:
    """Write the widget zip an amoCRM admin uploads."""
    from amo_bridge.web.widget_build import BuildError, BuildOptions, check_backend_url, write_zip

    try:
        options = BuildOptions(backend_url=check_backend_url(backend_url),
                               webhook_token=(webhook_token or "").strip() or None)
        path = write_zip(out, options)
    except (BuildError, OSError) as exc:
        raise Failure(str(exc)) from None
    click.echo(f"wrote {path} ({path.stat().st_size} bytes) for {options.backend}")
    if options.webhook_token is None:
        click.echo("note: no --webhook-token, so the Digital Pipeline SMS action is left out",
                   err=True)


@widget.command("openapi")
@click.option("--server-url", help="Put this server URL into the description.")
def openapi(server_url: str | None) -> None:
    """Print the OpenAPI description of the widget API (JSON)."""
    from amo_bridge.web.openapi import build_spec

    click.echo(json.dumps(build_spec(server_url=server_url), ensure_ascii=False, indent=2))


@widget.command("token")
@click.option("--user", "user_id", type=int, required=True, help="amoCRM user id.")
@click.option("--account", "subdomain", help="amoCRM subdomain; needed with several accounts.")
@one_line_errors
def token(user_id: int, subdomain: str | None) -> None:
    """Print a widget token for a user, as amoCRM would sign it (not in production)."""
    from amo_bridge.db import Database
    from amo_bridge.web.harness import HarnessError, mint_token

    settings = settings_from_env()
    database = Database(settings.database_url)
    try:
        with database.read_session() as session:
            click.echo(mint_token(session, settings, user_id=user_id, subdomain=subdomain))
    except HarnessError as exc:
        raise Failure(str(exc)) from None
    finally:
        database.dispose()
