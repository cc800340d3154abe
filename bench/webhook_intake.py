"""The amoCRM webhook door under gunicorn, beside a bare and a minimal-insert endpoint.

    python bench/webhook_intake.py [--quick] [--connections 64] [--seconds S] [--rounds R]
                                   [--workers N] [--threads N] [--python-loadgen]

Three targets, each served by gunicorn with ``config/gunicorn.conf.py`` (workers and threads
overridable; the server pinned to every core but core 1), loaded from core 1 by ``wrk`` (or the
asyncio generator in ``bench/common.py`` when wrk is not installed) over 64 keep-alive
connections posting a real amoCRM form body (``tests/fixtures/amocrm/lead_status.txt``, its
``updated_at`` made unique per request so that no post is a redelivery):

- **bare**: a plain WSGI endpoint that reads the body and answers 200;
- **minimal insert**: a plain WSGI endpoint doing the door's INSERT into ``inbox_event`` and a
  commit through a raw DBAPI connection kept per thread;
- **intake**: ``POST /webhooks/amocrm/<token>`` of the real app (``amo_bridge.wsgi:app``).

Jobs never run during the load: the intake wakes its job through a throwaway Redis nobody
consumes (``JOB_MODE=rq``; without ``redis-server`` the embedded queue of an app built with
``start_background=False``). The door wakes one job per account and leaves the wake-up to a
sender thread (``jobs.queue.Wakes``, one ``SET NX`` per 20 ms); with no worker clearing the flag,
every wake-up after the first finds a job waiting — as in a burst, while the worker is busy.

The measured seconds of each target are split into ``--rounds`` interleaved rounds (bare,
insert, intake; then insert, intake, bare; …), and each target's rounds are pooled: requests over
the summed time, percentiles of the merged latency histograms. On a shared machine the speed
drifts by tens of percent within a minute (the hypervisor's steal time, printed per target), and
back-to-back runs would charge the drift to whichever target ran in the slow part.

Each target runs on SQLite and on PostgreSQL (a throwaway database on
``BENCH_DATABASE_URL``/``DATABASE_URL``, default the local server). Prints req/s, p50 and p99
for all three and the ratios intake/bare and intake/minimal-insert. Targets: intake ≥ 80 % of
minimal insert, p99 < 50 ms. ``--quick``: 2 s per target, one round.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import (  # noqa: E402
    BENCH,
    COUNTER,
    ROOT,
    Load,
    cores,
    cpu_ticks,
    run_load,
    scratch_dir,
    start_gunicorn,
    stolen_share,
    table,
    throwaway_postgres,
    throwaway_redis,
)

FIXTURE = ROOT / "tests" / "fixtures" / "amocrm" / "lead_status.txt"
AMOCRM_ACCOUNT = 29085712  # the fixture's account[id]
HEADERS = {"Content-Type": "application/x-www-form-urlencoded",
           "User-Agent": "amoCRM-Webhooks/3.0"}
INSERT_COLUMNS = ("account_id", "source", "received_at", "content_type", "headers", "body",
                  "body_sha256", "status", "attempts", "updated_at")


def body_template() -> str:
    body = FIXTURE.read_text().strip()
    marker = "%5Bupdated_at%5D=1741589223"
    assert marker in body
    return body.replace(marker, "%5Bupdated_at%5D=" + COUNTER)


# --- the reference endpoints (served by gunicorn: ``webhook_intake:reference_app()``) -------


def reference_app():
    """``POST /bare`` → 200; ``POST /insert`` → the door's row, INSERT and COMMIT, plain DBAPI."""
    url = os.environ["DATABASE_URL"]
    account_id = int(os.environ["BENCH_ACCOUNT_ID"])
    local = threading.local()
    sqlite = url.startswith("sqlite")
    placeholders = ", ".join(["?" if sqlite else "%s"] * len(INSERT_COLUMNS))
    statement = f"INSERT INTO inbox_event ({', '.join(INSERT_COLUMNS)}) VALUES ({placeholders})"

    def connection():
        if getattr(local, "connection", None) is None:
            if sqlite:
                import sqlite3

                conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30,
                                       isolation_level=None, check_same_thread=False)
                for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON",
                               "synchronous=NORMAL"):  # as the app's engine sets them
                    conn.execute(f"PRAGMA {pragma}")
            else:
                import psycopg

                conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
            local.connection = conn
        return local.connection

    def insert(body: bytes, content_type: str | None, user_agent: str | None) -> None:
        now = datetime.now(UTC)
        stamp = now.isoformat(timespec="microseconds") if sqlite else now  # as UTCDateTime
        headers = json.dumps({k: v for k, v in (("User-Agent", user_agent),
                                                ("Content-Type", content_type)) if v})
        digest = hashlib.sha256(b"amocrm\0" + body).hexdigest()
        values = (account_id, "amocrm", stamp, content_type, headers, body, digest, "pending",
                  0, stamp)
        conn = connection()
        if sqlite:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(statement, values)
            conn.execute("COMMIT")
        else:
            conn.execute(statement, values)
            conn.commit()

    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if environ["PATH_INFO"] == "/insert" and environ["REQUEST_METHOD"] == "POST":
            insert(body, environ.get("CONTENT_TYPE"), environ.get("HTTP_USER_AGENT"))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    return app


def intake_app():
    """The real app without its embedded worker (used only when no Redis can be started)."""
    from amo_bridge.app import create_app

    return create_app(start_background=False)


# --- the run ------------------------------------------------------------------------------


def prepare(database_url: str) -> tuple[int, str]:
    """Migrate, and create the account whose webhook address the intake serves."""
    from amo_bridge import migrate
    from amo_bridge.accounts import create_account
    from amo_bridge.db import Database

    migrate.upgrade(database_url)
    database = Database(database_url)
    try:
        with database.session() as session:
            account, token = create_account(
                session, amocrm_id=AMOCRM_ACCOUNT, subdomain="demo-broker",
                base_url="http://127.0.0.1:9/s/demo-broker")
            return account.id, token
    finally:
        database.dispose()


def inbox_counts(database_url: str, *, clear: bool) -> dict[str, int]:
    from sqlalchemy import delete, func, select

    from amo_bridge.db import Database
    from amo_bridge.models import InboxEvent

    database = Database(database_url)
    try:
        counts, previous = None, {}
        while counts != previous:  # requests still in flight when the load stopped land first
            time.sleep(0.5)
            with database.read_session() as session:
                counts, previous = dict(session.execute(
                    select(InboxEvent.status, func.count()).group_by(InboxEvent.status)).all()
                ), counts
        if clear:
            with database.session() as session:
                session.execute(delete(InboxEvent))
        return counts
    finally:
        database.dispose()


@dataclass
class Outcome:
    """One target's pooled load, its inbox rows, and the stolen share of the server's core."""

    name: str
    load: Load
    counts: Counter
    slices: list[Load]
    stolen: float


def bench_database(label: str, database_url: str, work: Path, args, redis_url: str | None
                   ) -> dict[str, Outcome]:
    """The three targets in ``args.rounds`` interleaved rounds, so that a slower minute of a
    shared machine falls on all three alike rather than on whichever ran in it."""
    account_id, token = prepare(database_url)
    generator_cpus, server_cpus = cores()
    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(work / "instance"),
           "LOG_LEVEL": "WARNING", "BENCH_ACCOUNT_ID": str(account_id),
           "WEB_CONCURRENCY": str(args.workers), "WEB_THREADS": str(args.threads)}
    if redis_url:
        env |= {"REDIS_URL": redis_url, "JOB_MODE": "rq"}
        intake = "amo_bridge.wsgi:app"
    else:
        env |= {"JOB_MODE": "thread"}
        intake = "webhook_intake:intake_app()"
    template = body_template()
    options = dict(headers=HEADERS, connections=args.connections, cpus=generator_cpus,
                   use_wrk=False if args.python_loadgen else None)
    log = work / f"gunicorn-{label}.log"
    # One gunicorn serves both references; the intake gets its own, with the same settings.
    # Both run throughout; the one not under load is idle.
    reference = start_gunicorn("webhook_intake:reference_app()", env=env, cpus=server_cpus,
                               ready_path="/", pythonpath=[BENCH], log=log)
    try:
        door = start_gunicorn(intake, env=env, cpus=server_cpus, ready_path="/healthz",
                              pythonpath=[BENCH], log=log)
        try:
            targets = [("bare", reference.url + "/bare"),
                       ("minimal insert", reference.url + "/insert"),
                       ("intake", f"{door.url}/webhooks/amocrm/{token}")]
            for _, url in targets:
                # Warm-up bodies are numbered apart: stragglers must not look like redeliveries.
                run_load(url, template, seconds=args.warmup, first=10**9, **options)
            inbox_counts(database_url, clear=True)
            slices: dict[str, list[Load]] = {name: [] for name, _ in targets}
            counts: dict[str, Counter] = {name: Counter() for name, _ in targets}
            stolen: dict[str, list[float]] = {name: [] for name, _ in targets}
            first = 1
            for round_ in range(args.rounds):
                shift = round_ % len(targets)  # each target leads a round in turn
                for name, url in targets[shift:] + targets[:shift]:
                    before = cpu_ticks()
                    load = run_load(url, template, seconds=args.seconds / args.rounds,
                                    first=first, **options)
                    stolen[name].append(stolen_share(before, cpu_ticks(), server_cpus))
                    first += load.requests + 1_000_000
                    slices[name].append(load)
                    counts[name].update(inbox_counts(database_url, clear=True))
        finally:
            door.stop()
    finally:
        reference.stop()
    outcomes = {}
    for name, _ in targets:
        pooled = Load.pooled(slices[name])
        outcomes[name] = Outcome(name, pooled, counts[name], slices[name],
                                 sum(stolen[name]) / len(stolen[name]))
        print(f"  {label:<10} {name:<15} {pooled.per_second:8.0f} req/s  p50 "
              f"{pooled.p50_ms:6.1f} ms  p99 {pooled.p99_ms:6.1f} ms  "
              f"(rounds: {' '.join(f'{x.per_second:.0f}' for x in slices[name])} req/s; "
              f"{100 * outcomes[name].stolen:.0f} % of the server core stolen; {pooled.tool})",
              flush=True)
    return outcomes


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s per target")
    parser.add_argument("--seconds", type=float, help="measured seconds per target")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int,
                        default=int(os.environ.get("WEB_CONCURRENCY") or
                                    min(4, (os.cpu_count() or 1) * 2)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS") or 8))
    parser.add_argument("--rounds", type=int,
                        help="interleaved rounds the seconds are split into (default 5; 1 quick)")
    parser.add_argument("--python-loadgen", action="store_true", help="do not use wrk")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (2.0 if args.quick else 15.0)
    args.rounds = max(1, args.rounds or (1 if args.quick else 5))
    args.warmup = 1.0 if args.quick else 2.0
    generator_cpus, server_cpus = cores()
    print(f"gunicorn (config/gunicorn.conf.py) with {args.workers} workers x {args.threads} "
          f"threads on cores {sorted(server_cpus)}; load generator on core "
          f"{sorted(generator_cpus)}, {args.connections} connections, {args.seconds:g} s each in "
          f"{args.rounds} interleaved rounds; "
          f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    failures = 0
    summary: list[list[str]] = []
    verdicts: list[str] = []
    with scratch_dir("amo-bench-intake-") as work, throwaway_redis(work / "redis") as redis:
        if redis is None:
            print("  (redis-server not installed: the intake enqueues in memory, JOB_MODE=thread)")
        backends = [("SQLite", f"sqlite:///{work / 'bench.sqlite3'}")]
        with throwaway_postgres() as pg_url:
            if pg_url:
                backends.append(("PostgreSQL", pg_url))
            for label, url in backends:
                outcomes = bench_database(label, url, work, args,
                                          redis.url if redis else None)
                for outcome in outcomes.values():
                    load = outcome.load
                    summary.append([label, outcome.name, f"{load.per_second:.0f}",
                                    f"{load.p50_ms:.1f}", f"{load.p99_ms:.1f}",
                                    str(load.non_200), f"{100 * outcome.stolen:.0f}",
                                    " ".join(f"{k}={v}" for k, v in
                                             sorted(outcome.counts.items()))])
                    failures += load.non_200
                intake, bare, minimal = (outcomes[n].load for n in ("intake", "bare",
                                                                   "minimal insert"))
                to_bare = intake.per_second / bare.per_second
                to_minimal = intake.per_second / minimal.per_second
                by_round = [i.per_second / m.per_second for i, m in
                            zip(outcomes["intake"].slices, outcomes["minimal insert"].slices,
                                strict=True)]
                met = to_minimal >= 0.8 and intake.p99_ms < 50
                verdicts.append(
                    f"{label}: intake/bare {to_bare:.2f}, intake/minimal-insert "
                    f"{to_minimal:.2f} (target >= 0.80; by round "
                    f"{' '.join(f'{r:.2f}' for r in by_round)}), intake p99 "
                    f"{intake.p99_ms:.1f} ms (target < 50; bare's own p99 "
                    f"{bare.p99_ms:.1f} ms): {'met' if met else 'MISSED'}")
    print()
    print(table(summary, ["database", "target", "req/s", "p50 ms", "p99 ms", "non-200",
                          "stolen %", "inbox rows"]))
    print()
    for line in verdicts:
        print(line)
    print(f"machine load average at the end {os.getloadavg()[0]:.1f}")
    if failures:
        print(f"{failures} requests were not answered 200")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
