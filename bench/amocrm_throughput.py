"""Throughput of batch writes through the amoCRM client against the simulator.

    python bench/amocrm_throughput.py [--quick] [--workers N] [--redis URL]

Creates N leads and N tasks (5 000 + 5 000; ``--quick``: 500 + 500) in batches of 50 through
:class:`~amo_bridge.amocrm.AmoClient`, with the simulator enforcing amoCRM's 7 requests/s
(429 beyond, block after repeated excess). Runs once at the client's default rate (5/s) and
once at 7/s, and prints entities/s against the ceiling (rate × 50 entities per second), the
429 count and whether the account was blocked. Target: ≥ 90 % of the ceiling at 5/s, zero
blocks at both rates. Several workers share one limiter, as RQ workers share the Redis one.
Short runs (`--quick`) can show a little over 100 %: the first request waits for no slot.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from amo_bridge.amocrm import AmoClient, LocalRateLimiter, RateLimited  # noqa: E402
from amo_bridge.amocrm.http import make_session  # noqa: E402
from amo_bridge.amocrm.memory import MemoryTokenStore  # noqa: E402
from amo_bridge.amocrm.oauth import long_lived_token  # noqa: E402
from amo_bridge.amocrm.payloads import lead_payload, task_payload  # noqa: E402
from amo_bridge.amocrm.ratelimit import RateLimiter  # noqa: E402
from amo_bridge.amocrm.writes import BatchResult  # noqa: E402
from amo_bridge.simulator.app import create_app  # noqa: E402
from amo_bridge.simulator.config import SimulatorConfig  # noqa: E402
from amo_bridge.simulator.server import run_in_thread  # noqa: E402

PIPELINE, STATUS, USER = 7990001, 79900011, 9990001


def add_account(sim_url: str) -> tuple[str, int]:
    subdomain = f"bench-{uuid.uuid4().hex[:8]}"
    account_id = 33_000_000 + uuid.uuid4().int % 1_000_000
    seed = {"id": account_id, "subdomain": subdomain, "timezone": "Europe/Moscow",
            "users": [{"id": USER, "name": "Admin", "is_admin": True}],
            "pipelines": [{"id": PIPELINE, "name": "Продажи", "is_main": True,
                           "statuses": [{"id": STATUS, "name": "Новый"}]}]}
    requests.post(f"{sim_url}/_sim/accounts", json={"accounts": [seed]},
                  timeout=10).raise_for_status()
    return subdomain, account_id


def sim_call(sim_url: str, subdomain: str, method: str, path: str, body: Any = None) -> Any:
    answer = requests.request(method, f"{sim_url}/_sim/accounts/{subdomain}{path}", json=body,
                              timeout=10)
    answer.raise_for_status()
    return answer.json()


@dataclass
class Outcome:
    rate: float
    entities: int
    seconds: float
    requests: int
    rate_limited: int
    client_rate_limited: int
    blocked: bool
    max_per_second: int

    @property
    def per_second(self) -> float:
        return self.entities / self.seconds

    @property
    def ceiling(self) -> float:
        return self.rate * 50


def write_all(client: AmoClient, kind: str, items: list[dict[str, Any]],
              counter: list[int]) -> dict[str, int]:
    """Create everything; a 429 reschedules the unsent rest after its cool-down (as a job)."""
    ids: dict[str, int] = {}
    pending = items
    while pending:
        result: BatchResult = client.create(kind, pending)
        ids.update(result.ids)
        if result.errors or result.unknown:
            raise SystemExit(f"unexpected errors in {kind}: {result}")
        if result.failure is None:
            break
        if not isinstance(result.failure, RateLimited):
            raise result.failure
        counter[0] += 1
        time.sleep(result.failure.retry_after)
        left = set(result.unsent)
        pending = [item for item in pending if item["request_id"] in left]
    return ids


def run(sim_url: str, *, rate: float, size: int, workers: int,
        limiter: RateLimiter | None) -> Outcome:
    subdomain, account_id = add_account(sim_url)
    token = sim_call(sim_url, subdomain, "POST", "/oauth/token", {"days": 30})["access_token"]
    store = MemoryTokenStore(long_lived_token(token, expires_at=datetime.now(UTC)
                                              + timedelta(days=30)))
    limiter = limiter or LocalRateLimiter(rate=rate)
    session = make_session(timeout=30, pool_maxsize=workers * 2)
    client = AmoClient(base_url=f"{sim_url}/s/{subdomain}", tokens=store, limiter=limiter,
                       account_key=str(account_id), session=session)
    sim_call(sim_url, subdomain, "POST", "/stats/reset")
    counter = [0]
    leads = [lead_payload(request_id=f"l{n}", name=f"Пролонгация {n}", price=10_000 + n,
                          pipeline_id=PIPELINE, status_id=STATUS, responsible_user_id=USER)
             for n in range(size)]
    due = int((datetime.now(UTC) + timedelta(days=3)).timestamp())
    shares = [list(range(w, size, workers)) for w in range(workers)]

    def work(share: list[int]) -> None:
        created = write_all(client, "leads", [leads[n] for n in share], counter)
        tasks = [task_payload(request_id=f"t{n}", text="Позвонить по пролонгации",
                              complete_till=due, entity_type="leads",
                              entity_id=created[f"l{n}"], responsible_user_id=USER)
                 for n in share]
        write_all(client, "tasks", tasks, counter)

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    stats = sim_call(sim_url, subdomain, "GET", "/stats")
    return Outcome(rate=rate, entities=2 * size, seconds=elapsed,
                   requests=stats["total_requests"], rate_limited=stats["rate_limited"],
                   client_rate_limited=counter[0], blocked=bool(stats["blocked"]),
                   max_per_second=stats["max_requests_per_second"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 + 500 entities")
    parser.add_argument("--size", type=int, help="leads (and tasks) per run")
    parser.add_argument("--workers", type=int, default=2, help="threads sharing the limiter")
    parser.add_argument("--redis", help="share the budget through this Redis (redis://…)")
    args = parser.parse_args(argv)
    size = args.size or (500 if args.quick else 5000)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(SimulatorConfig(webhook_delivery="manual"), seed=None)
    outcomes = []
    with run_in_thread(app) as sim:
        for rate in (5.0, 7.0):
            limiter = None
            if args.redis:
                import redis

                from amo_bridge.amocrm.ratelimit_redis import RedisRateLimiter

                limiter = RedisRateLimiter(redis.Redis.from_url(args.redis), rate=rate,
                                           prefix=f"bench-{uuid.uuid4().hex[:8]}")
            outcome = run(sim.url, rate=rate, size=size, workers=args.workers, limiter=limiter)
            outcomes.append(outcome)
            print(f"rate {rate:.0f}/s: {outcome.entities} entities in {outcome.seconds:.1f} s "
                  f"= {outcome.per_second:.1f}/s; ceiling {outcome.ceiling:.0f}/s; "
                  f"ratio {outcome.per_second / outcome.ceiling:.1%}; "
                  f"requests {outcome.requests}; 429s {outcome.rate_limited} "
                  f"(client saw {outcome.client_rate_limited}); "
                  f"blocked {'YES' if outcome.blocked else 'no'}; "
                  f"max requests in 1 s at the simulator {outcome.max_per_second}", flush=True)
    default = outcomes[0]
    ratio = default.per_second / default.ceiling
    print(f"target: >= 90% of the ceiling at 5/s: {'met' if ratio >= 0.9 else 'MISSED'} "
          f"({ratio:.1%}); blocks: {sum(o.blocked for o in outcomes)}")
    # Speed is reported, not asserted; a block is a behaviour failure.
    return 2 if any(o.blocked for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
