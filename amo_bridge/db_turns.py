"""Write turns on a SQLite file: one writer at a time, queued in the bridge rather than in SQLite.

SQLite admits one writer at a time anyway, but a writer that finds the file locked waits in
SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms between retries. Under a burst (four web
processes, 32 threads storing webhooks) the lock then sits free while its waiters sleep: the
throughput drops and the slowest answers take hundreds of milliseconds. So every write
transaction of the bridge first takes a *turn*: a thread lock per file within the process and an
exclusive ``flock`` on ``<file>-writer.lock`` between processes — a waiter on either is woken the
moment it is released. Then SQLite's ``BEGIN IMMEDIATE`` finds the file free, and its busy
timeout only matters for other programs. The lock file is held only inside a write transaction,
no remote call ever runs inside one, and a process that dies releases it: the wait for it is
not bounded (``flock`` has no timeout); the wait for the thread lock is.

A thread that already holds a turn and asks again could only wait for itself:
:class:`NestedWriteTransaction` is raised at once instead (remote calls never run inside a
transaction; finish the outer unit of work first).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: processes fall back to SQLite's busy wait
    fcntl = None  # type: ignore[assignment]

TIMEOUT_SECONDS = 30.0  # as SQLite's busy timeout


class NestedWriteTransaction(RuntimeError):
    """A second write transaction opened in a thread that already holds SQLite's write lock.

    It could only wait for itself, so it fails at once instead of after the busy timeout. The
    fix is structural: finish (commit) the outer unit of work before calling amoCRM or opening
    another one — remote calls never run inside a transaction.
    """


@dataclass
class _File:
    path: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    fd: int | None = None  # the process's descriptor of the lock file, opened on first use


_files: dict[str, _File] = {}
_files_guard = threading.Lock()
_held = threading.local()  # how many turns this thread holds (0 or 1)


def take_write_turn(key: str) -> None:
    """Wait for this thread's turn to write the SQLite file ``key`` (its resolved path, or
    ``:memory:``); pair with :func:`give_write_turn` once the transaction has ended."""
    if getattr(_held, "depth", 0):
        raise NestedWriteTransaction(
            "a write transaction is already open in this thread (SQLite would deadlock); "
            "commit the outer unit of work first"
        )
    file = _file(key)
    if not file.lock.acquire(timeout=TIMEOUT_SECONDS):
        raise TimeoutError(f"database is locked: no write turn in {TIMEOUT_SECONDS:g} s")
    try:
        _lock_between_processes(file)
    except BaseException:
        file.lock.release()
        raise
    _held.depth = 1


def give_write_turn(key: str, *, owner_thread: bool = True) -> None:
    """End the turn. ``owner_thread=False``: another thread ends a turn it found abandoned
    (a connection garbage-collected mid-transaction); the owner's count is left alone."""
    if owner_thread:
        _held.depth = 0
    file = _file(key)
    if fcntl is not None and file.fd is not None:
        fcntl.flock(file.fd, fcntl.LOCK_UN)
    file.lock.release()


def _file(key: str) -> _File:
    file = _files.get(key)
    if file is None:
        with _files_guard:
            file = _files.setdefault(key, _File(key))
    return file


def _lock_between_processes(file: _File) -> None:
    if fcntl is None or file.path == ":memory:":
        return
    if file.fd is None:
        file.fd = os.open(f"{file.path}-writer.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(file.fd, fcntl.LOCK_EX)


def _after_fork_in_child() -> None:
    # A thread lock held in the parent would never be released here, and an inherited lock-file
    # descriptor shares the parent's flock: the child starts with its own.
    global _files_guard
    for file in _files.values():
        if file.fd is not None:
            try:
                os.close(file.fd)
            except OSError:
                pass
    _files.clear()
    _files_guard = threading.Lock()
    _held.depth = 0


os.register_at_fork(after_in_child=_after_fork_in_child)
