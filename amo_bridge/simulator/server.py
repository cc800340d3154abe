"""Running the simulator: in the foreground (`serve`) or in a thread (`run_in_thread`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_app
from .config import SimulatorConfig
from .context import EXTENSION
from .seed import DEFAULT_SEED
from .state import Simulator


class SimulatedDateHandler(WSGIRequestHandler):
    """Answers carry the simulator's clock in ``Date``, as amoCRM's carry amoCRM's: the bridge
    dates its events listings by it (``ledger.event_reads``), and a test may move the clock."""

    simulator: Simulator | None = None

    def date_time_string(self, timestamp: float | None = None) -> str:
        if timestamp is None and self.simulator is not None:
            timestamp = self.simulator.clock.now().timestamp()
        return formatdate(timestamp, usegmt=True)


class QuietRequestHandler(SimulatedDateHandler):
    """No access log line per request: tests and benchmarks make thousands of them."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def _handler(app: Flask, *, quiet: bool) -> type[WSGIRequestHandler]:
    base = QuietRequestHandler if quiet else SimulatedDateHandler
    return type(base.__name__, (base,), {"simulator": app.extensions[EXTENSION]})


@dataclass
class RunningServer:
    """A simulator serving on loopback; ``url`` is ``http://127.0.0.1:<port>``."""

    url: str
    app: Flask
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def simulator(self) -> Simulator:
        return self.app.extensions[EXTENSION]

    def account_url(self, subdomain: str) -> str:
        """Base URL of one account: join ``/api/v4/...`` or ``/oauth2/access_token`` to it."""
        return f"{self.url}/s/{subdomain}"

    def stop(self) -> None:
        self.simulator.webhooks.stop()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _start_dispatcher(app: Flask, url: str) -> None:
    sim: Simulator = app.extensions[EXTENSION]
    sim.public_url = url
    if sim.config.webhook_delivery == "background":
        sim.webhooks.start()


def run_in_thread(
    app: Flask | None = None, *, host: str = "127.0.0.1", port: int = 0, quiet: bool = True
) -> RunningServer:
    """Serve ``app`` (default: a fresh app with the default seed) with a threaded werkzeug
    server on a free loopback port; call ``stop()`` (or use ``with``) to end it."""
    app = app or create_app()
    server = make_server(host, port, app, threaded=True,
                         request_handler=_handler(app, quiet=quiet))
    url = f"http://{host}:{server.server_port}"
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="amocrm-sim-http",
        daemon=True,
    )
    thread.start()
    _start_dispatcher(app, url)
    return RunningServer(url, app, server, thread)


def serve(
    host: str = "127.0.0.1", port: int = 8765, seed_path: str | Path | None = None, **options: Any
) -> None:
    """Run the simulator in the foreground until interrupted (``amo-bridge simulator``).

    ``seed_path`` defaults to the shipped demo seed; ``options`` are :class:`SimulatorConfig`
    fields (e.g. ``webhook_delivery="manual"``)."""
    app = create_app(SimulatorConfig(**options), seed=seed_path or DEFAULT_SEED)
    server = make_server(host, port, app, threaded=True,
                         request_handler=_handler(app, quiet=False))
    _start_dispatcher(app, f"http://{host}:{server.server_port}")
    try:
        server.serve_forever()
    finally:
        app.extensions[EXTENSION].webhooks.stop()
        server.server_close()
