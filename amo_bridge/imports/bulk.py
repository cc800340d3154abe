"""Inserting thousands of rows per batch: ids taken first, rows written in one bulk write.

An import inserts thousands of contacts, policies and money lines per batch and must know their
ids (phones and policies point at contacts; the money engine prices policies). ``INSERT …
RETURNING`` with the rows' order preserved costs SQLAlchemy a statement per handful of rows on
SQLite; taking the ids first (:func:`reserve_ids`) and writing the rows in one bulk operation
(:func:`insert_rows`: an ``executemany`` on SQLite, ``COPY … FROM STDIN`` on PostgreSQL) is an
order of magnitude faster.

On PostgreSQL a bulk load also outruns the planner's statistics: a table that held nothing
when it was last analysed is still "empty" to the planner at 100 000 rows, which then looks
keys up by scanning the account's whole index range instead of probing the unique index — the
import's lookup of a batch's keys grew with the table and took most of its time.
:func:`insert_rows` therefore runs ``ANALYZE`` on a table each time this session's inserts into
it have doubled (PostgreSQL's manual, "Populating a Database": run ANALYZE after bulk loads;
autovacuum comes too late for the next batch, and may be off).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, exc, insert
from sqlalchemy.orm import Session

from amo_bridge.db_insert import reserve_ids  # noqa: F401 - the importers take ids here

#: Rows this session must have inserted into a table before it is first analysed; after that,
#: each time its inserts double. Below this, a misjudged plan costs milliseconds.
ANALYZE_AFTER_ROWS = 5000
_GROWTH = "amo_bridge.bulk.growth"  # session.info key: table → (since last ANALYZE, before)


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """``session.execute(insert(table), rows)`` as one bulk write, storing the same values.

    The rows are dicts with the same keys. Every value goes through its column type's own bind
    processor (Money, Percent, UTCDateTime, JSON…), so what is stored is exactly what the Core
    statement stores; what is skipped is the statement machinery that ran for each row (a
    third of an import's time on SQLite) and, on PostgreSQL, a statement per row on the server
    (``COPY`` loads them in one stream). Python-side column defaults the rows leave out are
    evaluated once for the batch: its rows share one ``created_at``.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    defaults = _batch_defaults(table, rows[0])
    copies = dialect.name == "postgresql" and dialect.driver == "psycopg"  # psycopg 3's COPY
    if defaults is None or not (copies or dialect.name == "sqlite"):
        session.execute(insert(table), list(rows))
    else:
        given = list(rows[0])
        compiled = insert(table).compile(dialect=dialect, column_keys=[*given, *defaults])
        processors = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                      for name, bind in compiled.binds.items()}
        # The batch's constants are processed once; per row only the values that need it are.
        constants = {name: _process(processors[name], value)
                     for name, value in defaults.items()}
        converted = [(i, process) for i, name in enumerate(given)
                     if (process := processors[name])]
        values = _values(rows, given, tuple(constants.values()), converted)
        keys = [*given, *constants]
        if copies:
            _copy(connection, table, keys, values)
        elif compiled.positional:
            # Values in statement order (``compiled.positiontup``) for the driver's executemany.
            at = {name: i for i, name in enumerate(keys)}
            order = _getter([at[name] for name in compiled.positiontup or ()])
            connection.exec_driver_sql(compiled.string, [order(v) for v in values])
        else:
            connection.exec_driver_sql(compiled.string, [dict(zip(keys, v, strict=True))
                                                         for v in values])
    if dialect.name == "postgresql":
        _keep_statistics(session, connection, table, len(rows))


def _batch_defaults(table: Table, first: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Python-side defaults of the columns the rows leave out, evaluated once; None when
    one of them is a sequence or an SQL expression (the Core statement must handle those)."""
    defaults: dict[str, Any] = {}
    for column in table.c:
        default = column.default
        if column.key in first or default is None:
            continue
        if default.is_scalar:
            defaults[column.key] = default.arg  # type: ignore[attr-defined]
        elif default.is_callable:
            defaults[column.key] = default.arg(None)  # type: ignore[attr-defined]
        else:
            return None
    return defaults


def _values(rows: Sequence[Mapping[str, Any]], given: list[str], fixed: tuple[Any, ...],
            converted: list[tuple[int, Any]]) -> list[Sequence[Any]]:
    """Each row's values in ``[*given, *defaults]`` order, converted by their bind processors."""
    take = _getter(given)  # the values are taken in one C call
    if not converted:
        return [(*take(row), *fixed) for row in rows]
    result: list[Sequence[Any]] = []
    for row in rows:
        values = [*take(row), *fixed]
        for index, process in converted:
            values[index] = process(values[index])
        result.append(values)
    return result


def _copy(connection: Connection, table: Table, keys: list[str],
          values: list[Sequence[Any]]) -> None:
    """``COPY table (columns) FROM STDIN``: the rows stream to the server in one statement, each
    value adapted by psycopg exactly as it adapts a statement's parameter, parsed by the
    server's input function of the column type as a bound parameter is."""
    quote = connection.dialect.identifier_preparer
    columns = ", ".join(quote.quote(table.c[key].name) for key in keys)
    statement = f"COPY {quote.format_table(table)} ({columns}) FROM STDIN"
    dbapi = connection.dialect.loaded_dbapi
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            write = copy.write_row
            for row in values:
                write(row)
    except dbapi.Error as error:
        # As SQLAlchemy reports a failed statement: IntegrityError for a duplicate key, etc.
        raise exc.DBAPIError.instance(statement, None, error, dbapi.Error,
                                      dialect=connection.dialect) from error
    finally:
        cursor.close()


def _keep_statistics(session: Session, connection: Connection, table: Table,
                     count: int) -> None:
    """``ANALYZE`` the table once this session's inserts into it have doubled (module doc)."""
    growth: dict[str, tuple[int, int]] = session.info.setdefault(_GROWTH, {})
    since, before = growth.get(table.name, (0, 0))
    since += count
    if since >= max(ANALYZE_AFTER_ROWS, before):
        # In this transaction: ANALYZE counts its own uncommitted rows.
        connection.exec_driver_sql(
            f"ANALYZE {connection.dialect.identifier_preparer.format_table(table)}")
        growth[table.name] = (0, before + since)
    else:
        growth[table.name] = (since, before)


def _process(process: Any, value: Any) -> Any:
    return value if process is None else process(value)


def _getter(keys: Sequence[Any]) -> Any:
    """``itemgetter`` that always gives a tuple (it gives the bare item for one key)."""
    if len(keys) == 1:
        key = keys[0]
        return lambda item: (item[key],)
    if not keys:
        return lambda item: ()
    return itemgetter(*keys)
