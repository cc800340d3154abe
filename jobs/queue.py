"""The one queue factory, and enqueue-after-commit.

Three modes (``Settings.effective_job_mode``):

- ``rq``: Redis + RQ, JSON serializer, explicit connection, a default :class:`rq.Retry` on
  every job. Idempotency lives in the database, never in RQ job ids.
- ``thread``: the embedded default without Redis — a worker thread in the serving process
  (never inside the request that enqueued).
- ``inline``: the job runs synchronously right after the commit that enqueued it (tests, CLI).

Domain functions never enqueue. The delivery layer calls :func:`enqueue_after_commit`; the job
goes out only when the session commits, and is dropped if it rolls back. If Redis is down the
commit still stands: the row stays in its pending state and the sweeper re-enqueues it.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import queue as stdlib_queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

#: Seconds between attempts of a failing job; its length is the number of retries.
RETRY_INTERVALS = (10, 30, 60, 300, 900)
DEFAULT_QUEUE = "default"
JOB_TIMEOUT_SECONDS = 600
#: How long a wake-up flag (:meth:`RQJobQueue.enqueue_once`) outlives a job that never cleared it.
WAKE_TTL_SECONDS = 60
_AFTER_COMMIT_KEY = "amo_bridge.after_commit"


@dataclass(frozen=True, slots=True)
class JobCall:
    func: str  # dotted path "jobs.module.function": the worker imports it
    args: tuple[Any, ...] = ()
    job_id: str | None = None


class JobQueue(Protocol):
    mode: str

    def enqueue(self, call: JobCall) -> None: ...

    def enqueue_once(self, call: JobCall, *, key: str) -> bool: ...

    def release(self, key: str) -> None: ...


def resolve(func: str) -> Callable[..., Any]:
    module_name, _, attribute = func.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def _check_args(call: JobCall) -> None:
    # Jobs take ids and plain values: whatever goes through Redis must survive JSON.
    for arg in call.args:
        if not isinstance(arg, str | int | float | bool | type(None)):
            raise TypeError(f"job {call.func} got a {type(arg).__name__}; jobs take ids")


class RQJobQueue:
    mode = "rq"

    def __init__(self, connection: Any, *, name: str = DEFAULT_QUEUE) -> None:
        from rq import Queue
        from rq.serializers import JSONSerializer

        self.connection = connection
        self.rq_queue = Queue(name, connection=connection, serializer=JSONSerializer)

    def enqueue(self, call: JobCall) -> None:
        from rq import Retry

        _check_args(call)
        self.rq_queue.enqueue(
            call.func,
            *call.args,
            job_id=call.job_id,
            retry=Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS)),
            job_timeout=JOB_TIMEOUT_SECONDS,
            failure_ttl=7 * 24 * 3600,
            result_ttl=3600,
        )

    def enqueue_once(self, call: JobCall, *, key: str) -> bool:
        """Enqueue ``call`` unless a job for ``key`` is already waiting; True if enqueued.

        The job calls :meth:`release` *before* it looks for work, so whatever is committed
        after that moment sets the flag again and wakes another job: nothing waits for the
        sweeper. A burst costs one ``SET NX`` per request instead of a job each (RQ's enqueue
        is two round trips and a job hash). The flag expires after :data:`WAKE_TTL_SECONDS`
        in case its job is lost with Redis; the sweeper covers that window.
        """
        flag = self._flag(key)
        if not self.connection.set(flag, call.func, nx=True, ex=WAKE_TTL_SECONDS):
            return False
        try:
            self.enqueue(call)
        except BaseException:
            self.connection.delete(flag)
            raise
        return True

    def release(self, key: str) -> None:
        self.connection.delete(self._flag(key))

    def _flag(self, key: str) -> str:
        return f"amo-bridge:wake:{self.rq_queue.name}:{key}"


class InlineJobQueue:
    """Runs each job at once in the caller's thread; failures propagate to the caller."""

    mode = "inline"

    def __init__(self) -> None:
        self.executed: list[JobCall] = []

    def enqueue(self, call: JobCall) -> None:
        _check_args(call)
        self.executed.append(call)
        resolve(call.func)(*call.args)

    def enqueue_once(self, call: JobCall, *, key: str) -> bool:
        self.enqueue(call)
        return True

    def release(self, key: str) -> None:
        pass


@dataclass
class ThreadJobQueue:
    """The embedded worker: one daemon thread, the same retry intervals as RQ."""

    mode: str = "thread"
    retry_intervals: tuple[float, ...] = RETRY_INTERVALS
    _pending: stdlib_queue.Queue = field(default_factory=stdlib_queue.Queue)
    _thread: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _busy: int = 0  # jobs running now, plus retries waiting on their timer
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _waking: set[str] = field(default_factory=set)  # enqueue_once keys whose job has not begun

    def enqueue(self, call: JobCall) -> None:
        _check_args(call)
        self._pending.put((call, 0))

    def enqueue_once(self, call: JobCall, *, key: str) -> bool:
        """As :meth:`RQJobQueue.enqueue_once`, with the flags in memory: a burst queues one
        job per key, not one per request that each would find its row taken."""
        with self._lock:
            if key in self._waking:
                return False
            self._waking.add(key)
        self.enqueue(call)
        return True

    def release(self, key: str) -> None:
        with self._lock:
            self._waking.discard(key)

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, name="amo-bridge-worker", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._pending.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is queued or running (demo and tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._pending.empty() and self._busy == 0:
                    return True
            time.sleep(0.02)
        return False

    def _run(self) -> None:
        while not self._stopping.is_set():
            item = self._pending.get()
            if item is None:
                continue
            call, attempt = item
            with self._lock:
                self._busy += 1
            try:
                resolve(call.func)(*call.args)
            except Exception:  # noqa: BLE001 - the worker must survive any job; retried below
                self._retry(call, attempt)
            finally:
                with self._lock:
                    self._busy -= 1

    def _retry(self, call: JobCall, attempt: int) -> None:
        if attempt >= len(self.retry_intervals):
            log.exception("job %s%r failed for good after %d attempts", call.func, call.args,
                          attempt + 1)
            return
        delay = self.retry_intervals[attempt]
        log.warning("job %s%r failed; retry %d in %ss", call.func, call.args, attempt + 1, delay,
                    exc_info=True)
        with self._lock:
            self._busy += 1  # a scheduled retry is still work: wait_idle must wait for it
        timer = threading.Timer(delay, self._requeue, args=(call, attempt + 1))
        timer.daemon = True
        timer.start()

    def _requeue(self, call: JobCall, attempt: int) -> None:
        with self._lock:
            self._pending.put((call, attempt))
            self._busy -= 1


class Wakes:
    """Wake-ups (:meth:`JobQueue.enqueue_once`) sent from one thread per process, coalesced.

    A request that stored work calls :meth:`wake` — a dict write, no I/O — and the sender
    thread passes each key's wake-up to the queue within :data:`interval` seconds: one ``SET NX``
    per key per interval and process, however many requests came in, and no Redis round trip
    in the request. Work left unsent when the process dies abruptly is pending in the database
    and the sweeper wakes it; a normal exit sends what is due (``atexit``).
    """

    def __init__(self, queue: JobQueue, *, interval: float = 0.02) -> None:
        self.queue = queue
        self.interval = interval
        self._due: dict[str, JobCall] = {}
        self._lock = threading.Lock()
        self._signal = threading.Event()
        self._owner_pid: int | None = None  # the sender thread belongs to one process

    def wake(self, call: JobCall, *, key: str) -> None:
        _check_args(call)
        with self._lock:
            self._due.setdefault(key, call)
            if self._owner_pid != os.getpid():  # first use in this process (gunicorn forks)
                self._owner_pid = os.getpid()
                threading.Thread(target=self._run, name="amo-bridge-wakes", daemon=True).start()
                atexit.register(self.flush)
        if not self._signal.is_set():  # in a burst it already is: spare the Condition
            self._signal.set()

    def flush(self) -> int:
        """Send every due wake-up now; returns how many jobs were enqueued."""
        with self._lock:
            due, self._due = self._due, {}
        sent = 0
        for key, call in due.items():
            try:
                sent += bool(self.queue.enqueue_once(call, key=key))
            except Exception as exc:  # noqa: BLE001 - Redis down or any queue trouble
                # The work is committed in its pending state; the sweeper will wake it.
                log.warning("could not wake %s for %s (%s); the sweeper will", call.func, key,
                            exc)
        return sent

    def _run(self) -> None:
        while True:
            self._signal.wait()
            time.sleep(self.interval)  # let the burst gather
            self._signal.clear()
            self.flush()


def make_queue(mode: str, *, redis: Any = None) -> JobQueue:
    if mode == "rq":
        if redis is None:
            raise ValueError("rq mode needs a Redis connection")
        return RQJobQueue(redis)
    if mode == "thread":
        return ThreadJobQueue()
    if mode == "inline":
        return InlineJobQueue()
    raise ValueError(f"unknown job mode {mode!r}")


# --- enqueue after commit -------------------------------------------------------------------


def enqueue_after_commit(session: Session, func: str, *args: Any, job_id: str | None = None):
    """Queue ``func(*args)`` to be enqueued when ``session`` commits (dropped on rollback)."""
    call = JobCall(func, tuple(args), job_id)
    _check_args(call)
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(call)


def install_after_commit(factory: sessionmaker, get_queue: Callable[[], JobQueue]) -> None:
    """Wire a session factory so that deferred jobs go to the queue after each commit."""

    @event.listens_for(factory, "after_commit")
    def _after_commit(session: Session) -> None:
        calls = session.info.pop(_AFTER_COMMIT_KEY, [])
        if calls:
            dispatch(get_queue(), calls)

    @event.listens_for(factory, "after_soft_rollback")
    def _after_rollback(session: Session, _previous: Any) -> None:
        session.info.pop(_AFTER_COMMIT_KEY, None)


def dispatch(queue: JobQueue, calls: list[JobCall]) -> None:
    from redis.exceptions import RedisError

    for call in calls:
        try:
            queue.enqueue(call)
        except RedisError as exc:
            # The row is committed in its pending state; the sweeper will re-enqueue it.
            log.warning("could not enqueue %s%r (%s); the sweeper will retry it",
                        call.func, call.args, exc)
