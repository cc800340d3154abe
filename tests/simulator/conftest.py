"""Fixtures: a simulator on a frozen clock, served over real HTTP on loopback, plus a webhook
receiver that records what amoCRM (the simulator) sends it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from amo_bridge.clock import FrozenClock
from amo_bridge.simulator import (
    LimitSettings,
    RunningServer,
    Simulator,
    SimulatorConfig,
    create_app,
    run_in_thread,
)

SUB = "demo-broker"
ADMIN_TOKEN = "demo-admin-token"
MANAGER_TOKEN = "demo-manager-token"
ADMIN_ID, MANAGER_ID = 8011001, 8011002
SALES, RENEWALS = 7811001, 7811002
NEW_LEAD, IN_WORK, CALC = 61100002, 61100003, 61100004
START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)  # after every seeded change


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def config() -> SimulatorConfig:
    # Tests not about limits raise them out of the way.
    return SimulatorConfig(
        webhook_delivery="manual",
        limits=LimitSettings(per_second=10_000, block_after=10_000),
        webhook_timeout=0.5,
    )


@pytest.fixture
def app(config: SimulatorConfig, clock: FrozenClock) -> Flask:
    return create_app(config, clock=clock)


@pytest.fixture
def sim(app: Flask) -> Simulator:
    return app.extensions["amocrm_simulator"]


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def server(app: Flask) -> Iterator[RunningServer]:
    running = run_in_thread(app)
    yield running
    running.stop()


class Api:
    """A tiny HTTP helper bound to one account base URL and token."""

    def __init__(self, base: str, token: str | None = ADMIN_TOKEN) -> None:
        self.base = base
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.url(path), timeout=10, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.session.post(self.url(path), json=json, timeout=10, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.session.patch(self.url(path), json=json, timeout=10, **kw)

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}{path}"


@pytest.fixture
def api(server: RunningServer) -> Api:
    return Api(server.account_url(SUB))


@pytest.fixture
def control(server: RunningServer) -> Api:
    return Api(f"{server.url}/_sim", token=None)


@dataclass
class Receiver:
    """A loopback HTTP endpoint that records requests and answers ``status`` after ``delay``."""

    url: str = ""
    status: int = 200
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "args": dict(request.args),
                "headers": dict(request.headers),
                "body": request.get_data(as_text=True),
            }
        )
        if self.delay:
            time.sleep(self.delay)
        return Response("ok", self.status)(environ, start_response)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    srv = make_server("127.0.0.1", 0, rec.wsgi, threaded=True)
    rec.url = f"http://127.0.0.1:{srv.server_port}/hook"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield rec
    srv.shutdown()
    srv.server_close()
