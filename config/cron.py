"""The periodic schedule for production, loaded by ``amo-bridge cron`` (run exactly one).

Start it with ``amo-bridge cron`` rather than plain ``rq cron config/cron.py``: rq 2.12's
``rq cron`` enqueues with pickle, our workers read JSON (see jobs/worker.py). The schedule
itself lives in ``jobs/schedule.py``, shared with the embedded scheduler.
"""

from rq import cron

from jobs.queue import DEFAULT_QUEUE, resolve
from jobs.schedule import PERIODIC

for item in PERIODIC:
    cron.register(
        resolve(item.func),
        queue_name=DEFAULT_QUEUE,
        interval=item.interval_seconds,
        cron=item.cron,
        name=item.func,
    )
