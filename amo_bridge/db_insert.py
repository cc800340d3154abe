"""One row, one INSERT, one COMMIT, with nothing in between: the webhook door's hot path.

The door stores every amoCRM request before it answers, and a burst is thousands of them, so
the few hundred microseconds of a Core execution (execution context, result object, events)
are most of its cost. :class:`RowInsert` compiles its statement once per dialect and set of
columns, applies the columns' own bind processors (so ``UTCDateTime``, ``JSON`` and enums are
stored exactly as through the ORM — tested), and runs it on a pooled DBAPI connection. On
SQLite it takes the same in-process write turn as every other writer (:mod:`amo_bridge.db`).
On PostgreSQL it has its own autocommit pool: the INSERT … RETURNING is its own transaction, one
round trip, durable when answered; instead of a ping per checkout, a statement that finds its
connection broken is retried once on a fresh one (if the break hid a commit, the copy is a
byte-identical row — for the inbox, a redelivery its claim absorbs).

:func:`reserve_ids` is the other half of bulk writing (imports, batch pricing): ids taken first,
so thousands of rows go out in one ``executemany`` or ``COPY`` instead of ``INSERT … RETURNING``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from amo_bridge.db import (
    Database,
    give_write_turn,
    make_engine,
    sqlite_rollback,
    sqlite_write_key,
    take_write_turn,
)


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters in statement order
    processors: tuple[Callable[[Any], Any] | None, ...]
    positional: bool


class RowInsert:
    """``RowInsert(database, table)(values) -> new primary key``."""

    def __init__(self, database: Database, table: Table) -> None:
        self.database = database
        self.table = table
        [self.key_column] = table.primary_key.columns
        self._dialect = database.engine.dialect
        self._sqlite = self._dialect.name == "sqlite"
        self._write_key = sqlite_write_key(database.url) if self._sqlite else ""
        self._compiled: dict[tuple[str, ...], _Compiled] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._engine = database.engine if self._sqlite else make_engine(database.url,
                                                                         autocommit=True)

    def dispose(self) -> None:
        if self._engine is not self.database.engine:
            self._engine.dispose()

    def __call__(self, values: Mapping[str, Any]) -> int:
        compiled = self._compile(tuple(values))
        params = [value if process is None else process(value) for value, process in
                  zip((values[name] for name in compiled.names), compiled.processors,
                      strict=True)]
        arguments = params if compiled.positional else dict(zip(compiled.names, params,
                                                                 strict=True))
        if self._sqlite:
            return self._sqlite_insert(self._thread_cursor(), compiled.sql, arguments)
        for attempt in (1, 2):
            raw = self._engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute(compiled.sql, arguments)
                return cursor.fetchone()[0]
            except self._dialect.loaded_dbapi.OperationalError:
                if attempt == 2 or not getattr(raw.dbapi_connection, "broken", False):
                    raise
                raw.invalidate()  # a connection the server dropped: once more on a fresh one
            finally:
                raw.close()
        raise AssertionError("unreachable")

    def _thread_cursor(self) -> Any:
        """SQLite: a connection of this thread's own, taken from the pool once (its pragmas set
        by the engine) and kept — a pool round trip would cost as much as the INSERT."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # none yet, or the parent's (a fork)
            fairy = self._engine.raw_connection()
            fairy.detach()  # out of the pool: closed when this thread's state is dropped
            local.fairy, local.cursor, local.pid = fairy, fairy.cursor(), os.getpid()
        return local.cursor

    def _sqlite_insert(self, cursor: Any, sql: str, arguments: Any) -> int:
        take_write_turn(self._write_key)
        try:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                cursor.execute(sql, arguments)
                new_id = cursor.lastrowid
                cursor.execute("COMMIT")
            except BaseException:
                sqlite_rollback(cursor)
                raise
            return new_id
        finally:
            give_write_turn(self._write_key)

    def _compile(self, columns: tuple[str, ...]) -> _Compiled:
        compiled = self._compiled.get(columns)
        if compiled is not None:
            return compiled
        statement = insert(self.table)
        if not self._sqlite:
            statement = statement.returning(self.key_column)
        result = statement.compile(dialect=self._dialect, column_keys=list(columns))
        names = tuple(result.positiontup or ()) if self._dialect.positional else tuple(
            result.binds)
        unknown = set(names) - set(columns)
        if unknown:
            raise ValueError(f"{self.table.name}: no values for {sorted(unknown)}")
        processors = tuple(
            self.table.c[name].type.dialect_impl(self._dialect).bind_processor(self._dialect)
            for name in names)
        compiled = _Compiled(result.string, names, processors, self._dialect.positional)
        with self._lock:
            self._compiled[columns] = compiled
        return compiled


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` unused primary keys of ``table``, to insert with in this transaction.

    Flush first: rows pending in the session count on SQLite only once they are in the table.
    """
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        sequence = session.scalar(text("SELECT pg_get_serial_sequence(:table, 'id')"),
                                  {"table": table.name})
        return list(session.scalars(text("SELECT nextval(:seq) FROM generate_series(1, :n)"),
                                    {"seq": sequence, "n": count}))
    # SQLite: every writing transaction of the bridge holds its write turn from BEGIN
    # (amo_bridge.db), so nobody can insert above the current maximum before we do.
    top = session.scalar(select(func.max(table.c.id))) or 0
    return list(range(top + 1, top + 1 + count))
