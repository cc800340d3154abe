from __future__ import annotations

import pytest

from amo_bridge.amocrm.http import base_url_for, make_session, subdomain_of, user_agent
from tests.amocrm.scripted_server import Reply, ScriptedServer


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("broker", "https://broker.amocrm.ru"),
        ("broker.amocrm.ru", "https://broker.amocrm.ru"),
        ("broker.kommo.com", "https://broker.kommo.com"),
        ("https://broker.kommo.com/", "https://broker.kommo.com"),
        ("http://127.0.0.1:5001/s/broker", "http://127.0.0.1:5001/s/broker"),
    ],
)
def test_base_url_for(given: str, expected: str) -> None:
    assert base_url_for(given) == expected


def test_base_url_for_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        base_url_for("ftp://x")
    with pytest.raises(ValueError):
        base_url_for("  ")


def test_subdomain_of() -> None:
    assert subdomain_of("https://broker.amocrm.ru") == "broker"
    assert subdomain_of("http://127.0.0.1:5001/s/agency") == "agency"


def test_session_sends_user_agent_and_times_out(server: ScriptedServer) -> None:
    server.route("GET", "/slow", Reply(200, {"ok": True}, delay=1.0))
    server.route("GET", "/fast", Reply(200, {"ok": True}))
    session = make_session(timeout=0.3)
    assert session.get(server.url + "/fast").json() == {"ok": True}
    assert server.seen[-1].headers["user-agent"] == user_agent()
    assert user_agent().startswith("amo-bridge/")
    import requests

    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(server.url + "/slow")
