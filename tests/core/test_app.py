"""The app factory over a real loopback socket: probes, problem+json, request ids."""

import pytest
import requests

from amo_bridge.app import create_app
from amo_bridge.demo import serve_in_thread
from amo_bridge.settings import load_settings


@pytest.fixture
def served(tmp_path):
    def start(**env):
        settings = load_settings({"INSTANCE_PATH": str(tmp_path), "JOB_MODE": "inline", **env})
        app = create_app(settings)
        server = serve_in_thread(app)
        started.append(server)
        return server.url

    started: list = []
    yield start
    for server in started:
        server.stop()


def test_healthz_and_readyz_on_the_embedded_default(served, tmp_path):
    from amo_bridge import migrate

    url = served()
    migrate.upgrade(f"sqlite:///{tmp_path / 'amo_bridge.sqlite3'}")
    assert requests.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
    ready = requests.get(f"{url}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}


def test_readyz_reports_an_unreachable_database_as_problem_json(served):
    url = served(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    assert requests.get(f"{url}/healthz", timeout=5).status_code == 200  # liveness needs no DB
    ready = requests.get(f"{url}/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.headers["Content-Type"] == "application/problem+json"
    body = ready.json()
    assert body["status"] == 503 and body["checks"]["database"].startswith("error")


@pytest.mark.redis
def test_readyz_checks_redis_when_configured(served, redis_url):
    url = served(REDIS_URL=redis_url, JOB_MODE="rq")
    body = requests.get(f"{url}/readyz", timeout=5).json()
    assert body["checks"]["redis"] == "ok" and body["jobs"] == "rq"


def test_readyz_reports_redis_down(served):
    url = served(REDIS_URL="redis://127.0.0.1:1/0", JOB_MODE="rq")
    ready = requests.get(f"{url}/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"].startswith("error")


def test_errors_are_problem_json(served):
    url = served()
    missing = requests.get(f"{url}/nope", timeout=5)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert missing.json()["title"] == "Not Found"
    wrong_method = requests.post(f"{url}/healthz", timeout=5)
    assert wrong_method.status_code == 405
    assert "GET" in wrong_method.headers["Allow"]


def test_request_ids_are_echoed_or_generated(served):
    url = served()
    given = requests.get(f"{url}/healthz", headers={"X-Request-ID": "abc-123"}, timeout=5)
    assert given.headers["X-Request-ID"] == "abc-123"
    generated = requests.get(f"{url}/healthz", headers={"X-Request-ID": "bad id!"}, timeout=5)
    assert len(generated.headers["X-Request-ID"]) == 32


def test_importing_the_package_has_no_side_effects(tmp_path):
    import subprocess
    import sys

    code = (
        "import os, amo_bridge.app, amo_bridge.cli, jobs.sweeper, amo_bridge.models;"
        "print(sorted(os.listdir('.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, check=True,
                            env={"PYTHONPATH": str(__import__("pathlib").Path.cwd()),
                                 "PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == "[]"  # no instance folder, no database file
