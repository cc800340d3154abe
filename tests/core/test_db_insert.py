"""The door's lean INSERT stores exactly what the ORM stores, takes SQLite's write turn,
survives a PostgreSQL connection the server has dropped, and commits concurrent rows in groups
without mixing up their keys or losing a good row to a bad one."""

from __future__ import annotations

import gc
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from amo_bridge.db import Database, NestedWriteTransaction
from amo_bridge.db_insert import GroupCommit, RowInsert
from amo_bridge.models import Account, InboxEvent

MOSCOW = timezone(timedelta(hours=3))


def _with_an_account(url: str) -> Database:
    """The migrated database at ``url``, holding account 1."""
    from amo_bridge import migrate

    migrate.upgrade(url)
    database = Database(url)
    with database.session() as session:
        session.add(Account(amocrm_id=1, subdomain="a", base_url="http://a",
                            webhook_token_hash="0" * 64))
    return database


@pytest.fixture
def db(migrated_url: str):
    database = _with_an_account(migrated_url)
    yield database
    database.dispose()


def _values(account_id: int, body: bytes) -> dict:
    at = datetime(2026, 3, 10, 12, 0, 1, 123456, tzinfo=MOSCOW)
    return {"account_id": account_id, "source": "amocrm", "received_at": at,
            "content_type": "application/x-www-form-urlencoded",
            "headers": {"User-Agent": "amoCRM-Webhooks/3.0", "X-Note": "кириллица"},
            "body": body, "body_sha256": "f" * 64, "status": "pending", "attempts": 0,
            "updated_at": at}


def _row(db: Database, row_id: int) -> dict:
    with db.read_session() as session:
        row = session.get(InboxEvent, row_id)
        return {c.key: getattr(row, c.key) for c in InboxEvent.__table__.columns if c.key != "id"}


def test_a_row_inserted_lean_reads_back_as_the_orm_stores_it(db: Database):
    with db.read_session() as session:
        [account_id] = session.scalars(select(Account.id)).all()
    inserter = RowInsert(db, InboxEvent.__table__)
    try:
        lean_id = inserter(_values(account_id, b"leads%5Bstatus%5D=\x00\xff"))
    finally:
        inserter.dispose()
    with db.session() as session:
        orm = InboxEvent(**_values(account_id, b"leads%5Bstatus%5D=\x00\xff"))
        session.add(orm)
        session.flush()
        orm_id = orm.id
    assert lean_id != orm_id
    lean, stored = _row(db, lean_id), _row(db, orm_id)
    assert lean == stored
    assert lean["received_at"] == datetime(2026, 3, 10, 9, 0, 1, 123456, tzinfo=UTC)
    assert lean["headers"]["X-Note"] == "кириллица"


def test_missing_required_values_are_named(db: Database):
    inserter = RowInsert(db, InboxEvent.__table__)
    values = _values(1, b"x")
    del values["body_sha256"]
    with pytest.raises(Exception, match="body_sha256"):
        inserter(values)
    inserter.dispose()


class _Gated(RowInsert):
    """A RowInsert whose first write waits for ``gate``, so that rows queue up behind it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate, self.writing = threading.Event(), threading.Event()
        self.groups: list[int] = []

    def many(self, rows):
        self.groups.append(len(rows))
        self.writing.set()
        assert self.gate.wait(10)
        return super().many(rows)


def _account_id(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(Account.id))


def _queue_behind_a_write(group: GroupCommit, first: dict, others: list[dict]) -> dict:
    """``first`` written while ``others`` arrive; each caller's outcome by its body."""
    outcomes: dict = {}

    def call(values: dict) -> None:
        try:
            outcomes[values["body"]] = group(values)
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcomes[values["body"]] = error

    threads = [threading.Thread(target=call, args=(first,))]
    threads[0].start()
    assert group.insert.writing.wait(10)
    for values in others:
        threads.append(threading.Thread(target=call, args=(values,)))
        threads[-1].start()
    deadline = time.monotonic() + 10
    while len(group._queue) < len(others):  # all waiting behind the write of ``first``
        assert time.monotonic() < deadline
        time.sleep(0.005)
    group.insert.gate.set()
    for thread in threads:
        thread.join(10)
    return outcomes


def test_rows_that_arrive_during_a_write_are_committed_together_each_with_its_key(db):
    account_id = _account_id(db)
    group = GroupCommit(_Gated(db, InboxEvent.__table__))
    try:
        others = [_values(account_id, b"row-%d" % n) for n in range(15)]
        outcomes = _queue_behind_a_write(group, _values(account_id, b"first"), others)
    finally:
        group.insert.dispose()
    assert group.insert.groups == [1, 15]  # the first row at once, the rest in one transaction
    assert len(set(outcomes.values())) == 16
    for body, row_id in outcomes.items():
        assert _row(db, row_id)["body"] == body  # every caller got its own row's key


def test_a_row_that_cannot_be_stored_fails_alone(db):
    account_id = _account_id(db)
    group = GroupCommit(_Gated(db, InboxEvent.__table__))
    try:
        good = [_values(account_id, b"good-%d" % n) for n in range(3)]
        orphan = _values(account_id + 1000, b"orphan")  # no such account: a foreign-key error
        outcomes = _queue_behind_a_write(group, _values(account_id, b"first"),
                                         [*good[:2], orphan, good[2]])
    finally:
        group.insert.dispose()
    assert isinstance(outcomes.pop(b"orphan"), Exception)
    assert sorted(outcomes) == [b"first", b"good-0", b"good-1", b"good-2"]
    for body, row_id in outcomes.items():
        assert _row(db, row_id)["body"] == body
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(InboxEvent)) == 4


def test_many_writes_all_rows_or_none(db):
    account_id = _account_id(db)
    inserter = RowInsert(db, InboxEvent.__table__)
    try:
        ids = inserter.many([_values(account_id, b"a"), _values(account_id, b"b")])
        assert [_row(db, i)["body"] for i in ids] == [b"a", b"b"]
        with pytest.raises(Exception, match="(?i)foreign key"):
            inserter.many([_values(account_id, b"c"), _values(account_id + 1000, b"d")])
        assert inserter.many([]) == []
    finally:
        inserter.dispose()
    with db.read_session() as session:
        assert session.scalars(select(InboxEvent.body).order_by(InboxEvent.id)).all() == [
            b"a", b"b"]


def test_a_thread_per_request_leaves_no_connection_behind(db):
    """Servers such as werkzeug's start a thread per request: each thread's connection is
    closed when the thread ends, not kept until the inserter is disposed."""
    account_id = _account_id(db)
    inserter = RowInsert(db, InboxEvent.__table__)

    def server_connections() -> int:
        if db.engine.dialect.name != "postgresql":
            return 0
        with db.engine.connect() as connection:
            return connection.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"))

    try:
        before = server_connections()
        for n in range(40):
            thread = threading.Thread(target=inserter, args=(_values(account_id, b"%d" % n),))
            thread.start()
            thread.join(10)
        gc.collect()
        assert len(inserter._held) == 0
        assert server_connections() <= before + 1
    finally:
        inserter.dispose()
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(InboxEvent)) == 40


def test_sqlite_writers_take_turns_with_the_lean_insert(tmp_path):
    url = f"sqlite:///{tmp_path / 'turns.sqlite3'}"
    db = _with_an_account(url)
    inserter = RowInsert(db, InboxEvent.__table__)
    # Inside an open write transaction of the same thread the lean insert must refuse at once
    # (waiting for its own turn would hang), and other threads must wait for the commit.
    inserted: list[int] = []
    with db.session() as session:
        session.execute(text("UPDATE account SET subdomain = 'b'"))
        with pytest.raises(NestedWriteTransaction):
            inserter(_values(1, b"nested"))
        worker = threading.Thread(target=lambda: inserted.append(inserter(_values(1, b"w"))))
        worker.start()
        worker.join(0.3)
        assert worker.is_alive() and inserted == []  # waiting for this transaction's turn
    worker.join(5)
    assert len(inserted) == 1
    threads = [threading.Thread(target=lambda i=i: inserted.append(inserter(_values(1, b"%d" % i))))
               for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(set(inserted)) == 17
    db.dispose()


@pytest.mark.postgres
def test_a_connection_dropped_by_the_server_is_replaced_once(pg_database_url: str):
    db = _with_an_account(pg_database_url)
    with db.read_session() as session:
        account_id = session.scalar(select(Account.id))
    inserter = RowInsert(db, InboxEvent.__table__)
    try:
        first = inserter(_values(account_id, b"1"))
        cursor = inserter._thread_connection().cursor  # the connection the next insert uses
        cursor.execute("SELECT pg_backend_pid()")
        [backend] = cursor.fetchone()
        with db.engine.connect() as connection:  # the server ends it
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"),
                                      {"pid": backend}).scalar()
        second = inserter(_values(account_id, b"2"))
        assert second > first
        assert _row(db, second)["body"] == b"2"
    finally:
        inserter.dispose()
        with db.engine.begin() as connection:  # the session's database, empty for the next
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        db.dispose()


def test_a_write_connection_dropped_without_commit_hands_its_turn_on(tmp_path):
    url = f"sqlite:///{tmp_path / 'dropped.sqlite3'}"
    db = _with_an_account(url)
    connection = db.engine.connect()
    connection.execute(text("UPDATE account SET subdomain = 'x'"))  # the write turn is taken
    del connection  # never committed, closed or rolled back: garbage-collected
    gc.collect()  # (a connection and its transaction refer to each other: a cycle)
    with db.session() as session:  # this thread may write again, and the file is unlocked
        session.add(Account(amocrm_id=2, subdomain="b", base_url="http://b",
                            webhook_token_hash="1" * 64))
    db.dispose()


def _hold_a_write_turn(url: str, ready, release) -> None:
    db = Database(url)
    with db.session() as session:
        session.execute(text("UPDATE account SET subdomain = 'held'"))
        ready.set()
        release.wait(10)
    db.dispose()


def test_processes_take_turns_on_the_lock_file(tmp_path):
    """Another process's open write transaction holds the turn; this one waits on the lock file
    (not in SQLite's busy handler) and writes the moment it ends."""
    import multiprocessing

    url = f"sqlite:///{tmp_path / 'procs.sqlite3'}"
    db = _with_an_account(url)
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_a_write_turn, args=(url, ready, release))
    holder.start()
    assert ready.wait(30)
    assert (tmp_path / "procs.sqlite3-writer.lock").exists()
    inserter = RowInsert(db, InboxEvent.__table__)
    done: list[int] = []
    writer = threading.Thread(target=lambda: done.append(inserter(_values(1, b"after"))))
    writer.start()
    writer.join(0.5)
    assert done == []  # waiting for the other process's turn
    release.set()
    writer.join(10)
    holder.join(10)
    assert len(done) == 1 and holder.exitcode == 0
    with db.read_session() as session:
        assert session.scalar(select(Account.subdomain)) == "held"
    db.dispose()
