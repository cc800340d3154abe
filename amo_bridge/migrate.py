"""Alembic, driven from code: ``amo-bridge db upgrade`` and the tests use these."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str, *, engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on '%' in passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade(url: str, revision: str = "heads", *, engine: Engine | None = None) -> None:
    _with_connection(url, engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(url: str, revision: str, *, engine: Engine | None = None) -> None:
    _with_connection(url, engine, lambda cfg: command.downgrade(cfg, revision))


def head_revision() -> str | None:
    """The code's head; several parallel heads (branches not yet merged) read as one string."""
    heads = sorted(ScriptDirectory(str(MIGRATIONS)).get_heads())
    return "+".join(heads) if heads else None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        heads = sorted(MigrationContext.configure(connection).get_current_heads())
    return "+".join(heads) if heads else None


def _with_connection(url, engine, action) -> None:
    config = alembic_config(url)
    if engine is None:
        action(config)
        return
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config)
