"""The periodic schedule, shared by ``rq cron`` (config/cron.py) and the embedded scheduler.

Each later capability appends its periodic job here (renewal scan, reminders, reconcile, token
refresh); the function must take no arguments and be idempotent — a tick may run twice.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Periodic:
    func: str  # dotted path of a job function taking no arguments
    interval_seconds: int | None = None
    cron: str | None = None  # crontab expression, UTC

    def __post_init__(self) -> None:
        if (self.interval_seconds is None) == (self.cron is None):
            raise ValueError(f"{self.func}: give exactly one of interval_seconds and cron")


PERIODIC: list[Periodic] = [
    Periodic("jobs.sweeper.sweep", interval_seconds=60),
    Periodic("jobs.exports.purge_exports", cron="17 * * * *"),
    Periodic("jobs.inbox.reconcile_all", interval_seconds=300),
    Periodic("jobs.accounts.sync_all_users", interval_seconds=3600),
    Periodic("jobs.accounts.refresh_tokens", cron="17 3 * * *"),
    Periodic("jobs.sms.dispatch_due", interval_seconds=60),
    Periodic("jobs.sms.poll_statuses", interval_seconds=300),
    Periodic("jobs.sms.flush_notes", interval_seconds=30),
    Periodic("jobs.sms.reminder_scan", cron="7 * * * *"),
    # Issue 5: the daily renewal scan (06:20 Moscow) and drift of pending renewals.
    Periodic("jobs.renewals.scan_all", cron="20 3 * * *"),
    Periodic("jobs.renewals.follow_all", cron="*/30 * * * *"),
]
