"""Rows in, committed, with nothing in between: the webhook door's hot path.

The door stores every amoCRM request before it answers, and a burst is thousands of them, so
the few hundred microseconds of a Core execution (execution context, result object, events)
are most of its cost. :class:`RowInsert` compiles its statement once per dialect and set of
columns, applies the columns' own bind processors (so ``UTCDateTime``, ``JSON`` and enums are
stored exactly as through the ORM — tested), and runs it on a pooled DBAPI connection. On
SQLite it takes the same in-process write turn as every other writer (:mod:`amo_bridge.db`).
Each thread keeps its own connection (a pool checkout and its reset would cost as much as the
INSERT). On PostgreSQL it is an autocommit one: a single row's INSERT … RETURNING is its own
transaction, one round trip, durable when answered; instead of a ping before use, a statement
that finds its connection broken is retried once on a fresh one (if the break hid a commit, the
copy is a byte-identical row — for the inbox, a redelivery its claim absorbs).

:class:`GroupCommit` is group commit in front of it: rows that the process's request threads
hand in while a write is under way go out together in the next transaction, so a burst costs a
commit (and on SQLite a write turn, on PostgreSQL a round trip and a WAL flush) per group, not
per row. Every caller still returns only once its own row is committed. Nothing waits for a
group to fill: a row that arrives when no write is running is written at once.

:func:`reserve_ids` is the other half of bulk writing (imports, batch pricing): ids taken first,
so thousands of rows go out in one ``executemany`` or ``COPY`` instead of ``INSERT … RETURNING``.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
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
        self._held: weakref.WeakSet[_Held] = weakref.WeakSet()  # the live threads', for dispose()
        self._engine = database.engine if self._sqlite else make_engine(database.url,
                                                                         autocommit=True)

    def dispose(self) -> None:
        """Close the threads' connections (and the PostgreSQL engine they came from)."""
        for held in list(self._held):
            held.close()
        if self._engine is not self.database.engine:
            self._engine.dispose()

    def __call__(self, values: Mapping[str, Any]) -> int:
        [new_id] = self.many([values])
        return new_id

    def many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert ``rows`` (all with the same columns) in one transaction; their new keys, in
        order. All or none: an error leaves nothing written."""
        if not rows:
            return []
        compiled = self._compile(tuple(rows[0]))
        arguments = [self._arguments(compiled, values) for values in rows]
        if self._sqlite:
            return self._sqlite_insert(self._thread_connection().cursor, compiled.sql, arguments)
        for attempt in (1, 2):
            held = self._thread_connection()
            fairy, cursor = held.fairy, held.cursor
            try:
                if len(arguments) == 1:
                    cursor.execute(compiled.sql, arguments[0])
                    return [cursor.fetchone()[0]]
                # One transaction, its statements pipelined; results come back in order.
                with fairy.dbapi_connection.transaction():
                    cursor.executemany(compiled.sql, arguments, returning=True)
                    new_ids = [cursor.fetchone()[0]]
                    while cursor.nextset():
                        new_ids.append(cursor.fetchone()[0])
                return new_ids
            except self._dialect.loaded_dbapi.OperationalError:
                broken = getattr(fairy.dbapi_connection, "broken", False)
                if broken:  # the server dropped it: this thread opens a new one
                    held.close()
                if attempt == 2 or not broken:
                    raise
        raise AssertionError("unreachable")

    def _thread_connection(self) -> _Held:
        """This thread's own connection and cursor, taken from the engine's pool once (SQLite:
        its pragmas set by the engine; PostgreSQL: autocommit) and kept while the thread lives —
        a pool checkout and its reset on return would cost as much as the INSERT itself."""
        held = getattr(self._local, "held", None)
        if held is None or held.closed or held.pid != os.getpid():
            fairy = self._engine.raw_connection()
            fairy.detach()  # out of the pool: this thread's until it ends, a break or dispose()
            held = self._local.held = _Held(fairy)
            self._held.add(held)
        return held

    @staticmethod
    def _arguments(compiled: _Compiled, values: Mapping[str, Any]) -> Any:
        if len(values) != len(compiled.names):
            raise ValueError(f"rows of one insert must have the same columns, got {sorted(values)}")
        params = [value if process is None else process(value) for value, process in
                  zip((values[name] for name in compiled.names), compiled.processors,
                      strict=True)]
        return params if compiled.positional else dict(zip(compiled.names, params, strict=True))

    def _sqlite_insert(self, cursor: Any, sql: str, arguments: list[Any]) -> list[int]:
        take_write_turn(self._write_key)
        try:
            if len(arguments) == 1:
                # The connection is in autocommit mode (amo_bridge.db): one statement is its
                # own transaction, committed when execute() returns — one call instead of three.
                cursor.execute(sql, arguments[0])
                return [cursor.lastrowid]
            cursor.execute("BEGIN IMMEDIATE")
            try:
                new_ids = []
                for one in arguments:
                    cursor.execute(sql, one)
                    new_ids.append(cursor.lastrowid)
                cursor.execute("COMMIT")
            except BaseException:
                sqlite_rollback(cursor)
                raise
            return new_ids
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


class _Held:
    """One thread's connection. Closed when the thread ends (its thread-local state is dropped,
    and with it the last reference to this object), when the server breaks it, or by
    :meth:`RowInsert.dispose` — a web server that starts a thread per request must not leave a
    connection open per request."""

    __slots__ = ("fairy", "cursor", "pid", "_finalizer", "__weakref__")

    def __init__(self, fairy: Any) -> None:
        self.fairy, self.cursor, self.pid = fairy, fairy.cursor(), os.getpid()
        self._finalizer = weakref.finalize(self, _close_in_own_process, fairy, self.pid)

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        self._finalizer()


#: Connections a forked child inherited: never closed nor collected there, since closing a
#: PostgreSQL connection sends "terminate" down the socket its parent still uses.
_inherited: list[Any] = []


def _close_in_own_process(fairy: Any, pid: int) -> None:
    if os.getpid() != pid:
        _inherited.append(fairy)
        return
    with contextlib.suppress(Exception):  # a connection already gone needs no closing
        fairy.close()


class _Waiting:
    """One caller's row in a :class:`GroupCommit`: its outcome, and a lock held until then."""

    __slots__ = ("values", "new_id", "error", "leads", "_done")

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.new_id: int | None = None
        self.error: BaseException | None = None
        self.leads = False  # woken to write the next group rather than with an outcome
        self._done = _thread.allocate_lock()  # the cheapest one-shot signal CPython has
        self._done.acquire()

    def wait(self) -> None:
        self._done.acquire()

    def wake(self) -> None:
        self._done.release()

    def outcome(self) -> int:
        if self.error is not None:
            raise self.error
        if self.new_id is None:
            raise RuntimeError("the write of this row's group was interrupted")
        return self.new_id


class GroupCommit:
    """``GroupCommit(row_insert)(values) -> new primary key``, committed when it returns.

    The first caller finds no write running and writes its row at once. Callers that arrive
    while a write runs queue up; when it ends, the first of them writes the whole queue (at most
    ``most`` rows) in one transaction and wakes the others with their keys. If a group's
    transaction fails, its rows are written one by one, so a row that cannot be stored fails
    alone and the others are not lost.
    """

    def __init__(self, insert: RowInsert, *, most: int = 100) -> None:
        self.insert = insert
        self.most = most
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._writing = False

    def __call__(self, values: Mapping[str, Any]) -> int:
        mine = _Waiting(values)
        with self._lock:
            self._queue.append(mine)
            leads = not self._writing
            self._writing = True
        if not leads:
            mine.wait()
            if not mine.leads:
                return mine.outcome()
        self._write_group()
        return mine.outcome()

    def _write_group(self) -> None:
        """Write the queue's head (this thread's own row is in it) and hand the lead on."""
        with self._lock:
            group, self._queue = self._queue[:self.most], self._queue[self.most:]
        try:
            self._write(group)
        finally:
            with self._lock:
                following = self._queue[0] if self._queue else None
                if following is None:
                    self._writing = False
                else:
                    following.leads = True
            for waiting in group[1:]:  # group[0] is the leader's own: it is not waiting
                waiting.wake()
            if following is not None:
                following.wake()

    def _write(self, group: list[_Waiting]) -> None:
        try:
            new_ids = self.insert.many([waiting.values for waiting in group])
        except Exception as error:  # noqa: BLE001 - each row is tried on its own below
            if len(group) == 1:
                group[0].error = error
                return
            for waiting in group:
                try:
                    waiting.new_id = self.insert(waiting.values)
                except Exception as own:  # noqa: BLE001 - the caller raises it
                    waiting.error = own
            return
        for waiting, new_id in zip(group, new_ids, strict=True):
            waiting.new_id = new_id


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
