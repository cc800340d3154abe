"""Four processes push as hard as they can through the shared Redis limiter.

Measured at the simulator, where arrivals also carry the clients' own scheduling delays (a
process that slept through its slot on a loaded machine sends late and bunches up with the
next): no sliding one-second window goes over amoCRM's 7 requests (plus the one on its edge at
exactly 7/s), nothing bounces at 5/s, and the account is never blocked. The limiter's own
spacing is tested on the slots it grants, in tests/amocrm/test_ratelimit.py.
"""

from __future__ import annotations

import os

import pytest

from amo_bridge.simulator.server import RunningServer
from tests.contract.sim import SimControl
from tests.contract.workers import run_in_processes

pytestmark = [pytest.mark.redis, pytest.mark.slow]
PROCESSES = 4
SECONDS = 4.0


@pytest.mark.parametrize("rate", [5.0, 7.0])
def test_processes_share_the_budget(simulator: RunningServer, redis_prefix: str,
                                    rate: float) -> None:
    sim = SimControl.add_account(simulator.url)
    token = sim.long_lived_token(days=30)
    sim.reset_stats()
    counts = run_in_processes(PROCESSES, "push_hard", sim.base_url, token, sim.account_id,
                              os.environ["REDIS_URL"], redis_prefix, rate, SECONDS)
    assert all(isinstance(c, dict) for c in counts), counts
    stats = sim.stats()
    done = sum(c["ok"] for c in counts)
    print(f"rate {rate}/s: {done} calls, max/s {stats['max_requests_per_second']}, "
          f"429s {stats['rate_limited']}, counts {counts}")
    assert not stats["blocked"] and stats["blocked_answers"] == 0
    assert sum(c["blocked"] + c["other"] for c in counts) == 0
    assert stats["max_requests_per_second"] <= max(rate + 1, 7)
    if rate <= 5:
        # They really pushed (the budget was used), and below amoCRM's 7/s nothing bounced.
        assert done >= rate * SECONDS * 0.8
        assert stats["rate_limited"] == 0
    # At exactly 7/s the simulator's window has no slack: slots 1/7 s apart put the 8th request
    # right on the window's edge, so jitter yields an occasional 429; the shared, escalating
    # cool-down keeps that far from a block.
