"""Process entry points: the RQ worker and the RQ cron scheduler, both on the JSON serializer."""

from __future__ import annotations

import logging
from pathlib import Path

from amo_bridge.settings import Settings
from jobs.queue import DEFAULT_QUEUE
from jobs.runtime import build_runtime, set_runtime

log = logging.getLogger(__name__)

#: A short worker TTL: a killed worker's jobs are found abandoned within about a minute.
WORKER_TTL_SECONDS = 60
CRON_CONFIG = Path(__file__).resolve().parent.parent / "config" / "cron.py"


def run_worker(settings: Settings, *, burst: bool = False, queues: tuple[str, ...] = ()) -> bool:
    """Run an RQ worker (with RQ's scheduler, for retries); ``burst`` drains and exits."""
    from rq import Worker
    from rq.serializers import JSONSerializer

    runtime = build_runtime(settings, mode="rq")
    set_runtime(runtime)
    worker = Worker(
        list(queues or (DEFAULT_QUEUE,)),
        connection=runtime.redis,
        serializer=JSONSerializer,
        worker_ttl=WORKER_TTL_SECONDS,
    )
    return worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)


def make_cron_scheduler(connection, *, config_path: str | Path = CRON_CONFIG):
    """RQ's cron scheduler, loading ``config/cron.py``, enqueueing with the JSON serializer.

    rq 2.12's ``CronJob.enqueue`` builds its ``Queue`` without a serializer, i.e. pickle, which
    our JSON workers cannot read (and CONVENTIONS.md rules out). The subclass below is the one
    difference from plain ``rq cron``.
    """
    from rq import Queue
    from rq.cron import CronJob, CronScheduler
    from rq.serializers import JSONSerializer

    class JSONCronJob(CronJob):
        def enqueue(self, connection):  # type: ignore[override]
            queue = Queue(self.queue_name, connection=connection, serializer=JSONSerializer)
            job = queue.enqueue(self.func, *self.args, **self.kwargs, **self.job_options)
            connection.zadd(self.job_history_key, {job.id: job.enqueued_at.timestamp()})
            return job

    class JSONCronScheduler(CronScheduler):
        def register(self, *args, **kwargs):  # type: ignore[override]
            cron_job = super().register(*args, **kwargs)
            cron_job.__class__ = JSONCronJob
            return cron_job

    scheduler = JSONCronScheduler(connection=connection)
    scheduler.load_config_from_file(str(Path(config_path).resolve()))
    return scheduler


def run_cron(settings: Settings, *, config_path: str | Path = CRON_CONFIG) -> None:
    runtime = build_runtime(settings, mode="rq")
    scheduler = make_cron_scheduler(runtime.redis, config_path=config_path)
    scheduler.start()
