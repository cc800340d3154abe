"""Rate limit over real HTTP: 429 at the 8th request in a second, then the 403 HTML block."""

from __future__ import annotations

import time

import pytest

from amo_bridge.simulator import LimitSettings, RunningServer, SimulatorConfig
from amo_bridge.simulator.limits import RateLimiter

from .conftest import SUB, Api


@pytest.fixture
def config() -> SimulatorConfig:
    return SimulatorConfig(
        webhook_delivery="manual",
        limits=LimitSettings(per_second=7, block_after=5, block_window=60),
    )


@pytest.fixture
def one_second(sim) -> list[float]:
    """The account's rate window held at one instant: a burst counts as "within a second"
    however slowly a loaded machine serves it. Move it on by changing the value."""
    now = [1000.0]
    sim.account(SUB).limiter.now = lambda: now[0]
    return now


def test_eighth_request_within_a_second_is_429(api, sim, one_second):
    statuses = [api.get("/api/v4/account").status_code for _ in range(8)]
    assert statuses == [200] * 7 + [429]
    stats = sim.stats(SUB)
    assert stats["rate_limited"] == 1 and stats["max_requests_per_second"] == 8
    assert stats["total_requests"] == 8
    assert stats["endpoints"] == {"GET /api/v4/account": 8}


def test_429_is_problem_json(api, one_second):
    for _ in range(7):
        api.get("/api/v4/account")
    r = api.get("/api/v4/account")
    assert r.status_code == 429
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["status"] == 429


def test_repeated_excess_blocks_account_with_html_403(api, sim, control, one_second):
    statuses = [api.get("/api/v4/account").status_code for _ in range(12)]
    assert statuses[:7] == [200] * 7 and statuses[7:12] == [429] * 5
    r = api.get("/api/v4/leads")
    assert r.status_code == 403
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<html>" in r.text
    assert sim.stats(SUB)["blocked"] is True
    one_second[0] += 1.05  # the block does not lift by itself
    assert api.get("/api/v4/account").status_code == 403
    assert control.post(f"/accounts/{SUB}/limits/reset").status_code == 200
    assert api.get("/api/v4/account").status_code == 200


def test_paced_client_stays_within_budget(api, sim):
    for _ in range(12):
        assert api.get("/api/v4/account").status_code == 200
        time.sleep(0.21)  # ~4.8 requests per second
    assert sim.stats(SUB)["max_requests_per_second"] <= 5


def test_thresholds_configurable_per_account(api, control, one_second):
    control.post(f"/accounts/{SUB}/limits", {"per_second": 2})
    assert [api.get("/api/v4/account").status_code for _ in range(3)] == [200, 200, 429]
    control.post(f"/accounts/{SUB}/limits", {"enabled": False})
    assert all(api.get("/api/v4/account").status_code == 200 for _ in range(20))


def test_sliding_window_is_any_second_not_calendar_second():
    now = [100.9]
    limiter = RateLimiter(LimitSettings(per_second=7, block_after=99), now=lambda: now[0])
    for _ in range(4):  # four at the end of one second ...
        assert limiter.check().allowed
    now[0] = 101.2  # ... four at the start of the next: 8 within 0.3 s
    results = [limiter.check().allowed for _ in range(4)]
    assert results == [True, True, True, False]
    now[0] = 101.95  # the first four have left the window
    assert limiter.check().allowed


def test_rate_window_uses_wall_clock_even_when_business_clock_is_frozen(
    server: RunningServer, clock
):
    api = Api(server.account_url(SUB))
    for _ in range(7):
        api.get("/api/v4/account")
    time.sleep(1.05)  # the frozen business clock does not move; the wall clock does
    assert api.get("/api/v4/account").status_code == 200


def test_oauth_calls_can_be_left_out_of_the_window(api, sim, control, one_second):
    control.post(f"/accounts/{SUB}/limits", {"count_oauth": False})
    body = {"client_id": "x", "client_secret": "y", "redirect_uri": "z"}
    for _ in range(3):
        assert api.post("/oauth2/access_token", body).status_code == 401
    assert [api.get("/api/v4/account").status_code for _ in range(8)] == [200] * 7 + [429]
    assert sim.stats(SUB)["endpoints"]["POST /oauth2/access_token"] == 3
