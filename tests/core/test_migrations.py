"""The migrations go up, down and up again, and agree with the models."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import amo_bridge.models  # noqa: F401
from amo_bridge import migrate
from amo_bridge.db import Base, make_engine


def test_up_down_up(any_database_url: str):
    engine = make_engine(any_database_url)
    try:
        migrate.upgrade(any_database_url)
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())

        migrate.downgrade(any_database_url, "base")
        assert migrate.current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

        migrate.upgrade(any_database_url)
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def test_models_and_migrations_agree(any_database_url: str):
    migrate.upgrade(any_database_url)
    engine = make_engine(any_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models differ from migrations; write a migration: {diff}"


def test_every_table_carries_account_id():
    for name, table in Base.metadata.tables.items():
        if name == "account":
            continue
        assert "account_id" in table.c, f"{name} has no account_id"
