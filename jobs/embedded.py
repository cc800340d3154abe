"""The embedded scheduler: with no Redis, the serving process runs the periodic schedule itself.

It runs in a daemon thread next to the embedded worker thread and enqueues each due periodic job
on the runtime's queue — never inside a request.
"""

from __future__ import annotations

import logging
import threading
import time

from croniter import croniter

from jobs.queue import JobCall, JobQueue
from jobs.schedule import PERIODIC, Periodic

log = logging.getLogger(__name__)


class EmbeddedScheduler:
    def __init__(self, queue: JobQueue, periodic: list[Periodic] | None = None) -> None:
        self.queue = queue
        self.periodic = list(PERIODIC if periodic is None else periodic)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="amo-bridge-cron", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        now = time.time()
        due = {p: self._next(p, now) for p in self.periodic}
        while not self._stop.is_set():
            now = time.time()
            for item, at in due.items():
                if at <= now:
                    try:
                        self.queue.enqueue(JobCall(item.func))
                    except Exception:  # noqa: BLE001 - a failed tick must not kill the scheduler
                        log.exception("could not enqueue periodic %s", item.func)
                    due[item] = self._next(item, now)
            self._stop.wait(min(1.0, max(0.05, min(due.values(), default=now + 1) - now)))

    @staticmethod
    def _next(item: Periodic, now: float) -> float:
        if item.interval_seconds is not None:
            return now + item.interval_seconds
        return croniter(item.cron, now).get_next(float)
