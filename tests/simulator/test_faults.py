"""Fault injection: latency, seeded 5xx, and "commit then lose the answer"."""

from __future__ import annotations

import time

import pytest
import requests

from amo_bridge.simulator import FaultRule

from .conftest import SUB


def test_latency_per_endpoint(sim, api):
    sim.add_fault(SUB, match="GET /api/v4/leads", latency=0.3)
    # Only the lower bound is a behaviour: a loaded machine may make anything slower.
    started = time.monotonic()
    api.get("/api/v4/leads")
    assert time.monotonic() - started >= 0.3


def test_error_rate_fails_without_applying(sim, api):
    sim.add_fault(SUB, FaultRule(match="POST /api/v4/leads", error_rate=1.0, error_status=503))
    before = len(sim.account(SUB).leads)
    r = api.post("/api/v4/leads", [{"name": "x"}])
    assert r.status_code == 503
    assert r.headers["Content-Type"] == "application/problem+json"
    assert len(sim.account(SUB).leads) == before
    assert sim.stats(SUB)["injected_errors"] == 1


def test_error_rate_is_seeded_and_partial(sim, api):
    sim.add_fault(SUB, match="GET *", error_rate=0.3)
    statuses = [api.get("/api/v4/account").status_code for _ in range(60)]
    failures = statuses.count(500)
    assert 5 <= failures <= 35 and set(statuses) == {200, 500}


def test_drop_commits_then_closes_connection(sim, api):
    sim.add_fault(SUB, match="POST /api/v4/leads", drop_count=1)
    before = len(sim.account(SUB).leads)
    with pytest.raises(requests.ConnectionError):
        api.post("/api/v4/leads", [{"name": "потерянный ответ"}])
    leads = sim.account(SUB).leads
    assert len(leads) == before + 1  # the write happened
    assert any(lead["name"] == "потерянный ответ" for lead in leads.values())
    assert api.post("/api/v4/leads", [{"name": "next"}]).status_code == 200  # only one drop
    assert sim.stats(SUB)["dropped_responses"] == 1


def test_drop_as_502_without_body(sim, control, api):
    r = control.post(
        f"/accounts/{SUB}/faults", {"match": "PATCH *", "drop_count": 1, "drop_mode": "502"}
    )
    assert r.status_code == 201
    r = api.patch("/api/v4/leads/30100002", {"price": 123})
    assert r.status_code == 502 and r.content == b""
    assert sim.account(SUB).leads[30100002]["price"] == 123
    control.session.delete(control.url(f"/accounts/{SUB}/faults"))
    assert control.get(f"/accounts/{SUB}/faults").json() == []


def test_reads_are_never_dropped(sim, api):
    sim.add_fault(SUB, match="*", drop_rate=1.0)
    assert api.get("/api/v4/account").status_code == 200


def test_request_counters_per_endpoint(sim, api, control):
    api.get("/api/v4/leads")
    api.get("/api/v4/leads/30100002")
    api.get("/api/v4/leads/30100003")
    api.patch("/api/v4/leads/30100003", {"price": 1})
    stats = control.get(f"/accounts/{SUB}/stats").json()
    assert stats["endpoints"] == {
        "GET /api/v4/leads": 1,
        "GET /api/v4/leads/{lead_id}": 2,
        "PATCH /api/v4/leads/{lead_id}": 1,
    }
    assert stats["total_requests"] == 4 and stats["statuses"] == {"200": 4}
    control.post(f"/accounts/{SUB}/stats/reset")
    assert control.get(f"/accounts/{SUB}/stats").json()["total_requests"] == 0
