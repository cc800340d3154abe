"""Database engine, sessions and the column types that keep money, percentages and time exact.

- Money is integer kopecks in 64-bit columns (:data:`Money`).
- Percentages are exact decimals (:class:`Percent`): ``NUMERIC`` on PostgreSQL, a decimal string
  on SQLite, whose ``NUMERIC`` affinity would turn them into floats.
- Datetimes are aware UTC (:class:`UTCDateTime`): ``timestamptz`` on PostgreSQL; on SQLite an ISO
  string *with* its offset, so the instant cannot be lost, and a naive value is refused on write.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, DateTime, MetaData, Numeric, String, create_engine, event, exc
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from amo_bridge.db_turns import (  # noqa: F401 - NestedWriteTransaction is re-exported
    NestedWriteTransaction,
    give_write_turn,
    take_write_turn,
)

#: Integer kopecks. ``BigInteger`` is 64-bit on PostgreSQL and SQLite's INTEGER is 64-bit too.
Money = BigInteger


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored as UTC, returned aware in UTC on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            # Fixed-width ISO-8601 with offset: sorts and compares correctly as text.
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} refused: store aware datetimes only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.isoformat(timespec="microseconds")  # …T09:00:01.123456+00:00
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Percent(TypeDecorator[Decimal]):
    """An exact percentage such as ``Decimal('12.5')`` (= 12.5 %), four decimal places."""

    impl = Numeric(9, 4)
    cache_ok = True
    QUANTUM = Decimal("0.0001")

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(24))
        return dialect.type_descriptor(Numeric(9, 4, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("percentages are exact: pass Decimal or str, not float")
        try:
            number = Decimal(value).quantize(self.QUANTUM)
        except InvalidOperation:
            raise ValueError(f"not a percentage: {value!r}") from None
        return str(number) if dialect.name == "sqlite" else number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(self.QUANTUM)


# Named constraints: SQLite batch migrations can only alter constraints that have names.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, *, echo: bool = False, autocommit: bool = False) -> Engine:
    """An engine tuned per backend: SQLite gets WAL, a busy timeout and foreign keys.

    Both backends pool their connections: opening a SQLite connection and setting its pragmas
    costs more than a webhook's whole INSERT. A pooled connection is never used across a fork
    (see :func:`_forget_connections_of_parent`). ``autocommit`` (server databases only): every
    statement is its own transaction and connections are not pinged on checkout — for callers
    that run single statements and retry one on a broken connection (:mod:`amo_bridge.db_insert`).
    """
    if url.startswith("sqlite"):
        key = sqlite_write_key(url)
        memory = key == ":memory:"
        if not memory:
            # The embedded default lives in the instance folder, which may not exist yet.
            Path(key).parent.mkdir(parents=True, exist_ok=True)
        pool = {} if memory else {"pool_size": pool_size(), "max_overflow": 24}
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": 30, "check_same_thread": False},
            **pool,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", lambda connection: _sqlite_on_begin(connection, key))
        event.listen(engine, "commit",
                     lambda connection: _sqlite_on_end(connection, key, "COMMIT"))
        event.listen(engine, "rollback",
                     lambda connection: _sqlite_on_end(connection, key, "ROLLBACK"))
        event.listen(engine, "reset", _sqlite_on_reset)
    else:
        options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"} if autocommit else {
            "pool_pre_ping": True}
        engine = create_engine(url, echo=echo, pool_size=pool_size(), max_overflow=24,
                               **options)
    _forget_connections_of_parent(engine)
    return engine


def pool_size() -> int:
    """Connections a pool keeps open: one per request thread of this process (gunicorn's
    ``WEB_THREADS``, 8 by default), at least 8. A smaller pool closes the connection of every
    thread above its size after each request and opens a new one for the next — on PostgreSQL
    a server process forked per webhook under load."""
    try:
        threads = int(os.environ.get("WEB_THREADS", "8"))
    except ValueError:
        threads = 8
    return max(8, threads)


def sqlite_write_key(url: str) -> str:
    """The key of a SQLite file's write turns: its resolved path."""
    database = make_url(url).database
    if url in ("sqlite://", "sqlite:///:memory:") or not database:
        return ":memory:"
    return str(Path(database).expanduser().resolve())


def _forget_connections_of_parent(engine: Engine) -> None:
    """A forked child (RQ's work horse, a gunicorn worker) must not reuse its parent's pooled
    connections: two processes on one socket or SQLite handle corrupt each other's state.
    SQLAlchemy's documented recipe: remember the pid per connection, and on checkout in another
    process drop the record (without closing it: it is still the parent's) for a fresh one."""

    @event.listens_for(engine, "connect")
    def _remember_pid(_dbapi_connection: Any, record: Any) -> None:
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _check_pid(_dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise exc.DisconnectionError("connection belongs to the parent process")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy own transactions (pysqlite's implicit BEGIN is off) so that
    # `BEGIN IMMEDIATE` below takes the write lock up front: concurrent writers then wait on
    # the busy timeout instead of failing with "database is locked" on lock upgrade.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(connection: Any, key: str) -> None:
    if connection.get_execution_options().get("sqlite_begin") == "DEFERRED":
        connection.exec_driver_sql("BEGIN")  # read-only work: WAL readers never block
        return
    take_write_turn(key)
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        give_write_turn(key)
        raise
    connection.info["amo_bridge_writer"] = (key, threading.get_ident())


def _sqlite_on_end(connection: Any, key: str, verb: str) -> None:
    """End a write transaction and hand the write turn on.

    SQLAlchemy's commit and rollback events fire *before* its own COMMIT/ROLLBACK, so the
    transaction is ended here (SQLAlchemy's then finds none open: a no-op in pysqlite) — the
    turn must not pass while SQLite still holds the lock.
    """
    if connection.info.get("amo_bridge_writer") is None:
        return
    dbapi_connection = connection.connection.dbapi_connection
    if verb == "COMMIT":
        dbapi_connection.execute("COMMIT")  # a failure keeps the turn; the rollback ends it
    else:
        sqlite_rollback(dbapi_connection)
    connection.info.pop("amo_bridge_writer", None)
    give_write_turn(key)


def sqlite_rollback(executor: Any) -> None:
    """ROLLBACK on a SQLite connection or cursor, if a transaction is still open (SQLite rolls
    back by itself after some errors, e.g. a full disk; then there is none left)."""
    try:
        executor.execute("ROLLBACK")
    except sqlite3.OperationalError:
        pass


def _sqlite_on_reset(dbapi_connection: Any, record: Any, reset_state: Any) -> None:
    # A connection returned to the pool without its commit or rollback event (dropped by
    # garbage collection): its write turn must not stay taken, nor SQLite's lock.
    writer = record.info.pop("amo_bridge_writer", None)
    if writer is not None:
        sqlite_rollback(dbapi_connection)
        key, owner = writer
        give_write_turn(key, owner_thread=owner == threading.get_ident())


class Database:
    """An engine and its session factory; one per process (app, worker, CLI)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # Read-only units of work: on SQLite a deferred BEGIN, so they may run while this
        # thread (or another) holds the write lock.
        self.read_sessionmaker = sessionmaker(
            self.engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error, always closes."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only unit of work; closing it discards whatever it did (nothing is committed).

        Objects loaded here stay readable afterwards (they are detached, not expired).
        """
        session = self.read_sessionmaker()
        try:
            yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
