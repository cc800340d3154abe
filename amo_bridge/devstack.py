"""A whole local stack on loopback: the amoCRM simulator, the bridge, a connected account.

The demo, the end-to-end tests and the benchmarks use it, so they exercise the product over
real sockets exactly as a deployment would: amoCRM (simulated) posts form-encoded webhooks to
the bridge's door, the bridge's jobs call the simulator's API under the rate limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from amo_bridge.amocrm.oauth import long_lived_token
from amo_bridge.clock import Clock, system_clock
from amo_bridge.connect import connect_account, fetch_users, sync_users
from amo_bridge.connections import client_for_account
from amo_bridge.demo import RunningServer, serve_in_thread
from amo_bridge.settings import Settings

SUBDOMAIN = "demo-broker"


@dataclass
class Stack:
    settings: Settings
    app: Any
    bridge: RunningServer
    simulator: Any  # amo_bridge.simulator.RunningServer
    account_id: int
    amocrm_account_id: int
    webhook_url: str
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def runtime(self):
        return self.app.extensions["amo_bridge"]

    @property
    def sim_url(self) -> str:
        return self.simulator.url

    @property
    def base_url(self) -> str:
        return f"{self.simulator.url}/s/{SUBDOMAIN}"

    def sim(self, method: str, path: str, payload: Any = None) -> Any:
        """Call a simulator control endpoint (``/_sim/accounts/<subdomain>/...``)."""
        url = f"{self.simulator.url}/_sim/accounts/{SUBDOMAIN}{path}"
        response = self.http.request(method, url, json=payload, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def deliver(self, *, timeout: float = 30.0) -> None:
        """Deliver due webhooks now and wait until the bridge's jobs are done."""
        self.http.post(f"{self.simulator.url}/_sim/webhooks/flush", timeout=60).raise_for_status()
        self.wait(timeout=timeout)

    def wait(self, *, timeout: float = 30.0) -> None:
        queue = self.runtime.queue
        if hasattr(queue, "wait_idle") and not queue.wait_idle(timeout):
            raise TimeoutError("the bridge's jobs did not finish in time")

    def client(self):
        from amo_bridge.models import Account

        with self.runtime.db.read_session() as session:
            account = session.get(Account, self.account_id)
        return client_for_account(self.runtime.db, account, self.settings,
                                  redis=self.runtime.redis, clock=self.runtime.clock)

    def stop(self) -> None:
        self.bridge.stop()
        self.simulator.stop()
        queue = self.runtime.queue
        if hasattr(queue, "stop"):
            queue.stop()
        scheduler = self.runtime.extras.get("scheduler")
        if scheduler is not None:
            scheduler.stop()


@contextmanager
def local_stack(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    manual_webhooks: bool = True,
    simulator_limit: int = 7,
    start_periodic: bool = False,
    seed: Any = None,
    port: int = 0,
) -> Iterator[Stack]:
    """Start the simulator and the bridge, connect the simulator's demo account, subscribe.

    ``port`` fixes the bridge's port (0: any free one) — give it when ``PUBLIC_URL`` must name
    the running bridge (download links, the OAuth redirect).
    """
    from amo_bridge import migrate
    from amo_bridge.app import create_app
    from amo_bridge.models import Account
    from amo_bridge.simulator import LimitSettings, SimulatorConfig, run_in_thread
    from amo_bridge.simulator import create_app as create_simulator

    config = SimulatorConfig(
        limits=LimitSettings(per_second=simulator_limit),
        webhook_delivery="manual" if manual_webhooks else "background",
    )
    simulator = run_in_thread(create_simulator(config) if seed is None
                              else create_simulator(config, seed=seed))
    migrate.upgrade(settings.database_url)
    app = create_app(settings, clock=clock, start_background=False)
    runtime = app.extensions["amo_bridge"]
    if runtime.queue.mode == "thread":
        runtime.queue.start()
        if start_periodic:
            from jobs.embedded import EmbeddedScheduler

            runtime.extras["scheduler"] = EmbeddedScheduler(runtime.queue)
            runtime.extras["scheduler"].start()
    bridge = serve_in_thread(app, port=port)
    stack: Stack | None = None
    try:
        http = requests.Session()
        base = f"{simulator.url}/s/{SUBDOMAIN}"
        issued = http.post(f"{simulator.url}/_sim/accounts/{SUBDOMAIN}/oauth/token",
                           json={"days": 365}, timeout=10).json()
        pair = long_lived_token(issued["access_token"],
                                expires_at=datetime.now(UTC) + timedelta(days=364))
        connected = connect_account(runtime.db, base_url=base, pair=pair,
                                    rate=settings.amocrm_rate_per_second, clock=clock,
                                    rotate_token=True)
        webhook_url = f"{bridge.url}/webhooks/amocrm/{connected.webhook_token}"
        http.post(f"{simulator.url}/_sim/accounts/{SUBDOMAIN}/webhooks",
                  json={"destination": webhook_url}, timeout=10).raise_for_status()
        stack = Stack(settings=settings, app=app, bridge=bridge, simulator=simulator,
                      account_id=connected.account_id, amocrm_account_id=connected.amocrm_id,
                      webhook_url=webhook_url, http=http)
        users = fetch_users(stack.client())
        with runtime.session() as session:
            sync_users(session, users, session.get(Account, connected.account_id), clock=clock)
        yield stack
    finally:
        if stack is not None:
            stack.stop()
        else:
            bridge.stop()
            simulator.stop()
