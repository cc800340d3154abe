"""Lead status events → ledger through the whole stack: events/s and amoCRM requests per event.

    python bench/mirror.py [--quick] [--events N] [--mode live|backlog|both]
                           [--naive-sample N] [--database URL]

The stack is the real one on loopback (``amo_bridge.devstack.local_stack``): the amoCRM
simulator, enforcing amoCRM's 7 requests/s, posts its form-encoded webhooks to the bridge's door;
the bridge's jobs (the embedded worker) re-read amoCRM through the client and its rate limiter
(``AMOCRM_RATE_PER_SECOND``, default 5/s) and write the ledger. The simulator's limits are never
raised.

N leads (10 000; ``--quick``: 500) are created in the simulator in bulk — before the
integration, so without webhooks — then each is moved one stage by a user: one change, one
webhook per lead, as a burst. Two runs (``--mode both``, the default):

- **live**: the worker mirrors while the simulator is still delivering, one POST after another;
  the clock runs from the first POST until the ledger holds all N stage changes;
- **backlog**: the hooks are all stored first (the worker paused, as after an outage or behind a
  long queue); the clock runs from the moment the worker starts.

Printed: events/s, amoCRM requests per event from the simulator's own counters (by endpoint),
the effective request rate, the most requests seen in any second, 429s. Reference, same run: a
naive mirror re-reading each webhook's lead through the same client and rate limiter (and not
even reading stage history), on a sample of the same kind of events.
Target: ≤ 1/50 requests per event (the naive mirror: 1).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import scratch_dir, table  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from amo_bridge.amocrm.webhook import parse_webhook  # noqa: E402
from amo_bridge.devstack import SUBDOMAIN, local_stack  # noqa: E402
from amo_bridge.ledger.event_reads import SETTLE  # noqa: E402
from amo_bridge.ledger.upsert import upsert_leads  # noqa: E402
from amo_bridge.models import Account, StageChange  # noqa: E402
from amo_bridge.settings import load_settings  # noqa: E402

SALES, NEW, IN_WORK = 7811001, 61100002, 61100003
TARGET = 1 / 50
EVENT_GAP = 300  # seconds: more than the mirror's event window margin (sync.EVENT_MARGIN)


def count(stack, model, *where) -> int:
    with stack.runtime.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def mirror_burst(stack, n: int, *, backlog: bool, timeout: float) -> dict:
    """Move n leads one stage each, deliver the webhooks, wait for n more stage changes.

    ``backlog``: the webhooks are all stored first (the worker paused, as after an outage or
    behind a slow queue) and the clock runs from the moment the worker starts; otherwise the
    worker mirrors while amoCRM is still delivering, and the clock runs from the first POST.
    """
    sim = stack.simulator.simulator
    before = count(stack, StageChange)
    first_hook = len(sim.deliveries(SUBDOMAIN))
    leads = sim.ui_create(SUBDOMAIN, "leads", [
        {"name": f"ОСАГО №{i}", "price": 5000 + i, "pipeline_id": SALES, "status_id": NEW,
         "responsible_user_id": 8011002} for i in range(n)], skip_webhooks=True)
    for lead_id in leads:  # one user action, one webhook each
        sim.ui_update(SUBDOMAIN, "leads", [{"id": lead_id, "status_id": IN_WORK}])
    sim.reset_stats(SUBDOMAIN)
    queue = stack.runtime.queue

    delivered: dict[str, float] = {}

    def deliver() -> None:
        sim.flush_webhooks()  # amoCRM's sender: one POST after another, as fast as answered
        delivered["at"] = time.perf_counter()

    if backlog:
        queue.stop()
    started = time.perf_counter()
    sender = threading.Thread(target=deliver, name="bench-deliver", daemon=True)
    sender.start()
    if backlog:
        sender.join()
        # A backlog is hooks stored a while before the worker looks at them: a few seconds, so
        # that events reads can serve them (ledger.event_reads.SETTLE).
        time.sleep(SETTLE.total_seconds() + 1)
        queue.start()
        delivery = delivered["at"] - started
        started = time.perf_counter()
    done = 0
    while done < n:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"only {done} of {n} stage changes after {timeout:.0f} s")
        time.sleep(0.1)
        done = count(stack, StageChange) - before
    elapsed = time.perf_counter() - started
    sender.join(120)
    if not backlog:
        delivery = delivered["at"] - started
    stack.wait(timeout=120)  # the jobs' tail (reactions) before reading the counters
    stats = sim.stats(SUBDOMAIN)
    hooks = [d for d in sim.deliveries(SUBDOMAIN)[first_hook:] if d["state"] != "skipped"]
    return {"events": n, "seconds": elapsed, "delivery_seconds": delivery, "stats": stats,
            "hooks": len(hooks), "hooks_ok": sum(d["state"] == "delivered" for d in hooks)}


def naive_mirror(stack, sample: int) -> dict:
    """The reference: one API re-read per webhook event, through the same client and limiter."""
    sim = stack.simulator.simulator
    leads = sim.ui_create(SUBDOMAIN, "leads", [
        {"name": f"Наивный №{i}", "pipeline_id": SALES, "status_id": NEW}
        for i in range(sample)], skip_webhooks=True)
    stack.sim("POST", "/webhooks/skip", {"count": -1})  # the naive mirror reads bodies itself
    bodies = []
    for lead_id in leads:
        sim.ui_update(SUBDOMAIN, "leads", [{"id": lead_id, "status_id": IN_WORK}])
    for delivery in sim.deliveries(SUBDOMAIN)[-sample:]:
        bodies.append(delivery["body"].encode())
    client = stack.client()
    with stack.runtime.db.read_session() as session:
        account = session.get(Account, stack.account_id)
    sim.reset_stats(SUBDOMAIN)
    started = time.perf_counter()
    for body in bodies:
        parsed = parse_webhook(body, "application/x-www-form-urlencoded",
                               timezone=account.timezone)
        for lead_id in {e.entity_id for e in parsed.events if e.entity_id}:  # update + status
            fetched = list(client.leads(ids=[lead_id]))
            with stack.runtime.session() as session:
                upsert_leads(session, session.get(Account, account.id), fetched,
                             by_bridge=set())
    elapsed = time.perf_counter() - started
    return {"events": len(bodies), "seconds": elapsed, "stats": sim.stats(SUBDOMAIN)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 events")
    parser.add_argument("--events", type=int)
    parser.add_argument("--mode", choices=("live", "backlog", "both"), default="both")
    parser.add_argument("--naive-sample", type=int)
    parser.add_argument("--database", help="a database URL (default: SQLite in a temp dir)")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args(argv)
    n = args.events or (500 if args.quick else 10_000)
    sample = args.naive_sample or (20 if args.quick else 60)
    modes = ("live", "backlog") if args.mode == "both" else (args.mode,)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access line per webhook

    runs: dict[str, dict] = {}
    with scratch_dir("amo-bench-mirror-") as work:
        url = args.database or f"sqlite:///{work / 'bench.sqlite3'}"
        settings = load_settings({"DATABASE_URL": url, "INSTANCE_PATH": str(work / "instance"),
                                  "JOB_MODE": "thread", "LOG_LEVEL": "WARNING"})
        print(f"{n} lead status events per run, {url.split(':')[0]}, embedded worker, bridge "
              f"rate limit {settings.amocrm_rate_per_second:g}/s, simulator limit 7/s; machine "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
        with local_stack(settings) as stack:
            for mode in modes:
                runs[mode] = mirror_burst(stack, n, backlog=mode == "backlog",
                                          timeout=args.timeout)
                print(f"  {mode}: {runs[mode]['seconds']:.1f} s", flush=True)
                # amoCRM's clock moves on, so the next burst's events are not in this one's window.
                stack.simulator.simulator.advance(seconds=EVENT_GAP)
            naive = naive_mirror(stack, sample)

    for mode, run in runs.items():
        rows = [[endpoint, str(hits)] for endpoint, hits in sorted(
            run["stats"]["endpoints"].items(), key=lambda item: -item[1])]
        print(table(rows, [f"amoCRM endpoint ({mode})", "requests"]))
        print()
    lines = []
    for name, run in [*((f"bridge mirror, {m}", r) for m, r in runs.items()),
                      ("naive per-event mirror", naive)]:
        stats, requests = run["stats"], run["stats"]["total_requests"]
        lines.append([name, str(run["events"]), f"{run['seconds']:.1f}",
                      f"{run['events'] / run['seconds']:.1f}", str(requests),
                      f"{requests / run['events']:.4f}", f"{requests / run['seconds']:.2f}",
                      str(stats["max_requests_per_second"]), str(stats["rate_limited"])])
    print(table(lines, ["mirror", "events", "seconds", "events/s", "requests", "req/event",
                        "req/s", "max in 1 s", "429s"]))
    print()
    naive_per_event = naive["stats"]["total_requests"] / naive["events"]
    failed = 0
    for mode, run in runs.items():
        per_event = run["stats"]["total_requests"] / run["events"]
        met = per_event <= TARGET and not run["stats"]["rate_limited"]
        print(f"{mode}: webhooks {run['hooks_ok']}/{run['hooks']} answered 200, delivered in "
              f"{run['delivery_seconds']:.1f} s; {per_event:.4f} requests/event "
              f"(1/{1 / per_event:.0f}) vs naive {naive_per_event:.2f}: ratio "
              f"{per_event / naive_per_event:.3f}; events/s {run['events'] / run['seconds']:.1f}"
              f" vs naive {naive['events'] / naive['seconds']:.1f}; target <= 1/50, no 429: "
              f"{'met' if met else 'MISSED'}")
        failed += run["hooks"] - run["hooks_ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
