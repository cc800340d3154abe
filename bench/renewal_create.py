"""Creating 10 000 renewals (a deal and a task each) in amoCRM at its rate limit.

    python bench/renewal_create.py [--quick] [--size N] [--database-url URL]

Runs the real path against the simulator on loopback (amoCRM's 7 requests/s enforced, 429
beyond, block after repeated excess) with the bridge's client at its default 5 requests/s: the
scan reserves ``--size`` due policies (10 000; ``--quick``: 500) of clients that exist in amoCRM,
then ``amo_bridge.renewals.create.create_renewals`` sends the deals (≤ 50 per request, client
linked, fields copied, tag, marker) and their tasks (≤ 50 per request). A rate-limit refusal
is retried after its cool-down, as the job's retry would.

Prints renewals/s against the ceiling — rate × 50 / 2 per second (one lead request and one task
request per 50 renewals) — the 429s the simulator counted, and duplicates (renewal deals per
marker beyond one: must be 0). Target: ≥ 90 % of the ceiling. The database is a fresh SQLite
file unless ``--database-url`` names another (a PostgreSQL database is used as it is).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from amo_bridge.amocrm.errors import RateLimited  # noqa: E402
from amo_bridge.clock import FrozenClock, local_today  # noqa: E402
from amo_bridge.devstack import SUBDOMAIN, local_stack  # noqa: E402
from amo_bridge.models import Account, Contact, Policy  # noqa: E402
from amo_bridge.renewals.create import Creation, create_renewals  # noqa: E402
from amo_bridge.renewals.reserve import reserve_due  # noqa: E402
from amo_bridge.settings import load_settings  # noqa: E402

RENEWALS_PIPELINE = 7811002
MARKER = re.compile(r"\[(ПР-\d+(?:-\d+)?)\]$")
PRODUCTS = ("osago", "kasko", "ifl", "mortgage")


def seed(stack, size: int) -> None:
    """``size`` clients in amoCRM (the simulator's own API, no webhooks) and their policies."""
    sim = stack.simulator.simulator
    amo_ids: list[int] = []
    for start in range(0, size, 2000):
        amo_ids += sim.ui_create(SUBDOMAIN, "contacts", [
            {"name": f"Клиентов{n} Клиент Клиентович", "responsible_user_id": 8011001}
            for n in range(start, min(size, start + 2000))], skip_webhooks=True)
    today = local_today(stack.runtime.clock, "Europe/Moscow")
    now = stack.runtime.clock.now()
    with stack.runtime.session() as session:
        session.execute(insert(Contact), [
            {"account_id": stack.account_id, "amocrm_id": amo_id, "kind": "contact",
             "name": f"Клиентов{n} Клиент Клиентович", "custom_fields": [], "is_deleted": False,
             "created_at": now, "updated_at": now} for n, amo_id in enumerate(amo_ids)])
        contacts = dict(session.execute(select(Contact.amocrm_id, Contact.id).where(
            Contact.account_id == stack.account_id)).all())
        session.execute(insert(Policy), [
            {"account_id": stack.account_id, "external_key": f"bench:{n}", "kind": "ours",
             "source": "import", "product_code": PRODUCTS[n % len(PRODUCTS)],
             "insurer": "Ингосстрах", "number": f"ХХХ {n:010d}", "premium": 1_000_000 + n,
             "income": 0, "seller_share": 0, "issuer_share": 0, "insured_object": {},
             "ends_on": today + timedelta(days=1 + n % 44),
             "seller_amocrm_id": 8011002 + n % 3, "contact_id": contacts[amo_id],
             "created_at": now, "updated_at": now} for n, amo_id in enumerate(amo_ids)])


def create_all(stack) -> tuple[Creation, int]:
    total, refusals = Creation(), 0
    client = stack.client()
    while True:
        try:
            done = create_renewals(stack.runtime.db, client, stack.account_id,
                                   clock=stack.runtime.clock)
            total.add(done)
            return total, refusals
        except RateLimited as exc:  # the job would be retried after the cool-down
            refusals += 1
            time.sleep(exc.retry_after)


def duplicates(stack) -> tuple[int, int]:
    leads = stack.simulator.simulator.account(SUBDOMAIN).leads.values()
    markers = Counter(m.group(1) for lead in leads if lead["pipeline_id"] == RENEWALS_PIPELINE
                      and not lead["is_deleted"] and (m := MARKER.search(lead["name"])))
    return sum(markers.values()), sum(n - 1 for n in markers.values())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 renewals")
    parser.add_argument("--size", type=int, help="renewals to create")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args(argv)
    size = args.size or (500 if args.quick else 10_000)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        settings = load_settings({"DATABASE_URL": url, "INSTANCE_PATH": tmp,
                                  "JOB_MODE": "inline", "LOG_LEVEL": "WARNING"})
        clock = FrozenClock(datetime.combine(datetime.now(UTC).date(), day_time(9), tzinfo=UTC))
        with local_stack(settings, clock=clock, simulator_limit=7) as stack:
            seed(stack, size)
            started = time.perf_counter()
            with stack.runtime.session() as session:
                reserved = reserve_due(session, session.get(Account, stack.account_id),
                                       clock=clock)
            reserve_seconds = time.perf_counter() - started
            stack.simulator.simulator.reset_stats(SUBDOMAIN)
            started = time.perf_counter()
            done, refusals = create_all(stack)
            seconds = time.perf_counter() - started
            stats = stack.simulator.simulator.stats(SUBDOMAIN)
            deals, extra = duplicates(stack)
    rate = settings.amocrm_rate_per_second
    ceiling = rate * 50 / 2
    per_second = done.tasks / seconds
    print(f"reserved {len(reserved.renewal_ids):,} renewals in {reserve_seconds:.2f} s")
    print(f"created {done.leads:,} deals and {done.tasks:,} tasks in {seconds:.1f} s = "
          f"{per_second:.1f} renewals/s; ceiling at {rate:g} requests/s: {ceiling:.1f}/s; "
          f"ratio {per_second / ceiling:.1%}")
    print(f"requests {stats['total_requests']}; 429s {stats['rate_limited']} (client "
          f"rescheduled {refusals}); blocked {'YES' if stats['blocked'] else 'no'}; "
          f"max requests in 1 s at the simulator {stats['max_requests_per_second']}")
    print(f"renewal deals in amoCRM {deals:,} for {len(reserved.renewal_ids):,} reservations; "
          f"duplicates {extra}")
    print(f"target: >= 90% of the ceiling: {'met' if per_second >= 0.9 * ceiling else 'MISSED'}"
          f"; duplicates must be 0: {'ok' if extra == 0 else 'FAILED'}")
    # Speed is reported; a duplicate or a block is a behaviour failure.
    return 2 if extra or stats["blocked"] or deals != len(reserved.renewal_ids) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
