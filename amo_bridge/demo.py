"""`amo-bridge demo`: one command that shows the product working on the embedded default.

The demo prepares a fresh embedded database (SQLite in an instance folder, jobs in-process),
starts the bridge on a loopback port, and walks through a scripted scenario, printing what
happened in plain words. Each capability adds its steps to :data:`STEPS`.
"""

from __future__ import annotations

import logging
import shutil
import socket
import threading
import time
import tomllib
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, make_server

from amo_bridge import migrate
from amo_bridge.clock import FrozenClock
from amo_bridge.settings import Settings, load_settings

Echo = Callable[[str], None]


@dataclass
class RunningServer:
    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve a WSGI app on a real loopback socket from a background thread."""
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="demo-http", daemon=True)
    thread.start()
    return RunningServer(f"http://{host}:{server.server_port}", server, thread)


@dataclass
class DemoContext:
    settings: Settings
    echo: Echo
    bridge: RunningServer | None = None
    app: Any = None
    stack: Any = None  # amo_bridge.devstack.Stack once started
    #: The bridge's clock: steps about dates (renewals, reminders) move it forward.
    clock: FrozenClock = field(default_factory=lambda: FrozenClock(datetime.now(UTC)))
    facts: dict[str, Any] = field(default_factory=dict)
    http: requests.Session = field(default_factory=requests.Session)
    resources: ExitStack = field(default_factory=ExitStack)

    def say(self, text: str) -> None:
        self.echo(f"  {text}")


def step_prepare_database(ctx: DemoContext) -> None:
    migrate.upgrade(ctx.settings.database_url)
    ctx.say(f"Created the embedded database at {ctx.settings.database_url.removeprefix('sqlite:///')}")
    ctx.say(f"and migrated it to schema revision {migrate.head_revision()}.")


def step_start_stack(ctx: DemoContext) -> None:
    from amo_bridge.devstack import local_stack

    stack = ctx.resources.enter_context(local_stack(
        ctx.settings, clock=ctx.clock, manual_webhooks=False, port=ctx.facts.get("port", 0)))
    ctx.stack, ctx.app, ctx.bridge = stack, stack.app, stack.bridge
    health = ctx.http.get(f"{stack.bridge.url}/healthz", timeout=5)
    ready = ctx.http.get(f"{stack.bridge.url}/readyz", timeout=5)
    health.raise_for_status()
    ready.raise_for_status()
    ctx.say(f"Started the built-in amoCRM simulator at {stack.sim_url} (account «demo-broker»).")
    ctx.say(f"Started the bridge at {stack.bridge.url}: /healthz and /readyz answer 200,")
    ctx.say(f"jobs run in-process ({ready.json()['jobs']} mode: no Redis needed).")
    ctx.say("Connected the account with a long-lived token, mirrored its 4 users and")
    ctx.say("subscribed the bridge's webhook URL in amoCRM.")


#: The scenario, in order. Later capabilities append their steps.
STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("Prepare the embedded database", step_prepare_database),
    ("Start amoCRM (simulated) and the bridge", step_start_stack),
]


def _register_steps() -> None:
    from amo_bridge.demo_import import step_import
    from amo_bridge.demo_mirror import step_mirror
    from amo_bridge.demo_money import step_money
    from amo_bridge.demo_renewals import step_renewals
    from amo_bridge.demo_sms import step_sms
    from amo_bridge.demo_widget import step_widget

    STEPS.append(("Deals in amoCRM become the bridge's ledger", step_mirror))
    STEPS.append(("Renewals appear in amoCRM before policies end", step_renewals))
    STEPS.append(("SMS to clients: first contact, reminders before the policy ends", step_sms))
    STEPS.append(("The broker's old spreadsheet base is imported", step_import))
    STEPS.append(("Money: plan vs fact, payroll, retention, the finance export", step_money))
    STEPS.append(("The amoCRM widget, in a browser", step_widget))


_register_steps()


def _sync_simulator_clock(ctx: DemoContext) -> None:
    """Steps move the bridge's clock (renewals, reminders); amoCRM's (simulated) clock follows,
    so events it stamps happen "now" for the bridge too."""
    if ctx.stack is not None:
        ctx.http.post(f"{ctx.stack.sim_url}/_sim/clock", timeout=5,
                      json={"set": ctx.clock.now().isoformat()}).raise_for_status()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_integration(port: int) -> dict[str, str]:
    """The simulator's demo integration (its default seed), so widget tokens can be signed."""
    from amo_bridge.simulator import DEFAULT_SEED

    with open(DEFAULT_SEED, "rb") as handle:
        integration = tomllib.load(handle)["accounts"][0]["integrations"][0]
    return {
        "AMOCRM_CLIENT_ID": integration["client_id"],
        "AMOCRM_CLIENT_SECRET": integration["client_secret"],
        "AMOCRM_REDIRECT_URI": f"http://127.0.0.1:{port}/oauth/amocrm/callback",
    }


def run_demo(
    *,
    keep_serving: bool = False,
    port: int = 0,
    instance: str | None = None,
    echo: Echo = print,
) -> int:
    instance_path = Path(instance or "instance/demo").resolve()
    if instance_path.exists():
        shutil.rmtree(instance_path)  # every demo run starts from a clean slate
    port = port or free_port()
    settings = load_settings({
        "INSTANCE_PATH": str(instance_path), "JOB_MODE": "thread", "LOG_LEVEL": "WARNING",
        "PUBLIC_URL": f"http://127.0.0.1:{port}", **demo_integration(port),
    })
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log lines in the story
    ctx = DemoContext(settings=settings, echo=echo)
    ctx.facts["port"] = port
    ctx.facts["serve"] = keep_serving
    echo("amo-bridge demo — the embedded default (SQLite + in-process jobs)")
    started = time.monotonic()
    try:
        for number, (title, step) in enumerate(STEPS, start=1):
            echo(f"\n{number}. {title}")
            _sync_simulator_clock(ctx)
            step(ctx)
        echo(f"\nDemo finished in {time.monotonic() - started:.1f} s. Everything above is real:")
        echo(f"the data is in {instance_path}.")
        if keep_serving and ctx.bridge is not None:
            echo(f"\nThe bridge keeps running at {ctx.bridge.url}, the simulator at "
                 f"{ctx.stack.sim_url} — press Ctrl+C to stop.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                echo("Stopped.")
        return 0
    finally:
        ctx.resources.close()
