"""Install by OAuth code and the signed 'integration disabled' hook, against the simulator."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from amo_bridge.app import create_app
from amo_bridge.demo import serve_in_thread
from amo_bridge.models import Account, OAuthToken
from amo_bridge.settings import load_settings
from webhooks.oauth import base_url_from_referer

CLIENT_ID, SECRET = "11111111-2222-3333-4444-555555555555", "test-secret"


@pytest.mark.parametrize(
    ("referer", "loopback", "expected"),
    [
        ("broker.amocrm.ru", False, "https://broker.amocrm.ru"),
        ("broker.kommo.com", False, "https://broker.kommo.com"),
        ("evil.example.com", True, None),  # never send the client secret elsewhere
        ("broker.amocrm.ru.evil.com", True, None),
        ("broker.amocrm.ru/../x", True, None),
        ("127.0.0.1:8765/s/demo-broker", True, "http://127.0.0.1:8765/s/demo-broker"),
        ("127.0.0.1:8765/s/demo-broker", False, None),  # production: no loopback accounts
    ],
)
def test_referer_hosts_are_checked(referer, loopback, expected):
    assert base_url_from_referer(referer, allow_loopback=loopback) == expected


@pytest.fixture
def installed(migrated_url, tmp_path):
    from amo_bridge import migrate
    from amo_bridge.simulator import create_app as create_simulator
    from amo_bridge.simulator import run_in_thread

    simulator = run_in_thread(create_simulator())
    migrate.upgrade(migrated_url)
    # The redirect URI must match exactly, so the bridge's port is known before settings.
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    redirect = f"http://127.0.0.1:{port}/oauth/amocrm/callback"
    settings = load_settings({
        "DATABASE_URL": migrated_url, "INSTANCE_PATH": str(tmp_path), "JOB_MODE": "inline",
        "AMOCRM_CLIENT_ID": CLIENT_ID, "AMOCRM_CLIENT_SECRET": SECRET,
        "AMOCRM_REDIRECT_URI": redirect, "PUBLIC_URL": f"http://127.0.0.1:{port}",
    })
    app = create_app(settings)
    bridge = serve_in_thread(app, port=port)
    requests.post(f"{simulator.url}/_sim/accounts/demo-broker/oauth/integrations", timeout=5,
                  json={"client_id": CLIENT_ID, "client_secret": SECRET, "redirect_uri": redirect,
                        "disable_hook_url": f"http://127.0.0.1:{port}/oauth/amocrm/disabled"}
                  ).raise_for_status()
    yield simulator, bridge, app.extensions["amo_bridge"]
    bridge.stop()
    simulator.stop()


def test_install_connects_the_account_and_disable_disconnects_it(installed):
    simulator, bridge, runtime = installed
    page = requests.get(f"{simulator.url}/_sim/oauth/authorize", timeout=10, params={
        "subdomain": "demo-broker", "client_id": CLIENT_ID, "state": "x"})
    assert page.status_code == 200, page.text
    assert "amo-bridge подключён к demo-broker" in page.text
    assert f"{bridge.url}/webhooks/amocrm/" in page.text
    with runtime.session() as session:
        account = session.scalar(select(Account))
        token = session.scalar(select(OAuthToken))
        assert account.subdomain == "demo-broker" and account.status == "active"
        assert account.timezone == "Europe/Moscow"
        assert token.kind == "oauth" and token.refresh_token

    requests.post(f"{simulator.url}/_sim/accounts/demo-broker/oauth/revoke", timeout=10,
                  json={"client_id": CLIENT_ID, "call_hook": True}).raise_for_status()
    with runtime.session() as session:
        account = session.scalar(select(Account))
        assert account.status == "disconnected"
        assert "disabled" in account.status_reason


def test_a_forged_disable_hook_is_refused(installed):
    _, bridge, runtime = installed
    response = requests.get(f"{bridge.url}/oauth/amocrm/disabled", timeout=5, params={
        "client_uuid": CLIENT_ID, "account_id": "31456789", "signature": "0" * 64})
    assert response.status_code == 403


def test_a_callback_with_a_foreign_referer_is_refused(installed):
    _, bridge, _ = installed
    response = requests.get(f"{bridge.url}/oauth/amocrm/callback", timeout=5,
                            params={"code": "x", "referer": "evil.example.com"})
    assert response.status_code == 400
