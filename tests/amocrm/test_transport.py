from __future__ import annotations

import pytest

from amo_bridge.amocrm.errors import (
    AccountBlocked,
    ApiError,
    Forbidden,
    IntegrationDisabled,
    OutcomeUnknown,
    RateLimited,
    Unavailable,
)
from amo_bridge.amocrm.http import make_session
from tests.amocrm.conftest import Harness
from tests.amocrm.scripted_server import Reply, Seen

API = "/s/broker/api/v4"
TOKEN_PATH = "/s/broker/oauth2/access_token"
BLOCK_PAGE = "<html><head><title>403 Forbidden</title></head><body>nginx</body></html>"


def leads_page(ids: list[int], next_href: str | None) -> dict:
    links = {"self": {"href": "x"}}
    if next_href:
        links["next"] = {"href": next_href}
    return {"_page": 1, "_links": links, "_embedded": {"leads": [{"id": i} for i in ids]}}


def test_bearer_token_and_204_empty(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/leads", Reply(204))
    assert list(harness.client.leads()) == []
    seen = harness.server.seen[0]
    assert seen.headers["authorization"] == "Bearer A1"
    assert seen.query["limit"] == ["250"]
    assert seen.query["with"] == ["contacts,catalog_elements,loss_reason"]


def test_pagination_follows_next_links_on_our_base_url(harness: Harness) -> None:
    # The link names a different host: the query is re-issued on our own base URL.
    page2 = "https://elsewhere.example/api/v4/leads?page=2&limit=250&with=contacts"
    harness.server.route("GET", f"{API}/leads", lambda seen: Reply(200, leads_page(
        [3, 4], None) if seen.query.get("page") == ["2"] else leads_page([1, 2], page2)))
    assert [lead.id for lead in harness.client.leads()] == [1, 2, 3, 4]
    assert harness.server.seen[1].query["page"] == ["2"]


def test_pagination_stops_on_204_after_last_page(harness: Harness) -> None:
    link = f"{harness.server.url}{API}/leads?page=2"
    harness.server.route("GET", f"{API}/leads", lambda seen: Reply(204) if seen.query.get(
        "page") == ["2"] else Reply(200, leads_page([1], link)))
    assert [lead.id for lead in harness.client.leads()] == [1]


def test_429_cools_the_account_down_and_raises(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/account", Reply(429, {"status": 429}))
    with pytest.raises(RateLimited) as info:
        harness.client.account()
    assert info.value.retryable and info.value.retry_after == 1.0
    assert len(harness.server.seen) == 1  # not retried in place
    permit = harness.limiter.reserve("1001", max_wait=0)
    assert not permit.granted and permit.wait > 0.5


def test_429_honours_retry_after(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/account",
                         Reply(429, {"status": 429}, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimited) as info:
        harness.client.account()
    assert info.value.retry_after == 7.0


def test_403_html_opens_the_circuit_and_alerts(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/account",
                         Reply(403, BLOCK_PAGE, headers={"Content-Type": "text/html"}))
    with pytest.raises(AccountBlocked) as info:
        harness.client.account()
    assert not info.value.retryable
    assert [a.kind for a in harness.alerts] == ["blocked"]
    assert harness.limiter.circuit("1001")
    with pytest.raises(AccountBlocked):
        harness.client.account()
    assert len(harness.server.seen) == 1  # the open circuit keeps us away from amoCRM


def test_403_json_is_a_missing_right(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/users", Reply(403, {"title": "Forbidden", "status": 403},
                                                      headers={"Content-Type":
                                                               "application/problem+json"}))
    with pytest.raises(Forbidden):
        harness.client.users()
    assert harness.alerts == [] and harness.limiter.circuit("1001") is None


def test_401_refreshes_once_then_retries(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/account", lambda seen: Reply(200, {
        "id": 5, "timezone": "Europe/Moscow"}) if seen.headers["authorization"] == "Bearer A2"
        else Reply(401, {"status": 401}))
    harness.server.route("POST", TOKEN_PATH, Reply(200, {
        "access_token": "A2", "refresh_token": "R2", "expires_in": 86400}))
    assert harness.client.account().id == 5
    assert len(harness.server.calls("POST", TOKEN_PATH)) == 1
    assert harness.store.pair is not None and harness.store.pair.version == 2


def test_401_after_refresh_disconnects(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/account", Reply(401, {"status": 401}))
    harness.server.route("POST", TOKEN_PATH, Reply(200, {
        "access_token": "A2", "refresh_token": "R2", "expires_in": 86400}))
    with pytest.raises(IntegrationDisabled):
        harness.client.account()
    assert harness.store.disconnected
    assert len(harness.server.calls("GET", f"{API}/account")) == 2


def test_get_retries_5xx_with_backoff(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/account", [Reply(502), Reply(503), Reply(200, {"id": 1})])
    assert harness.client.account().id == 1
    backoffs = [s for s in harness.time.sleeps if s in (0.01, 0.02)]
    assert backoffs == [0.01, 0.02]


def test_get_gives_up_after_attempts(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/account", Reply(500))
    with pytest.raises(Unavailable) as info:
        harness.client.account()
    assert info.value.retryable and len(harness.server.seen) == 3


def test_get_retries_a_dropped_connection(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/account", [Reply(drop=True), Reply(200, {"id": 1})])
    assert harness.client.account().id == 1


def test_post_5xx_is_outcome_unknown(harness: Harness) -> None:
    harness.server.route("POST", f"{API}/leads", Reply(502))
    with pytest.raises(OutcomeUnknown) as info:
        harness.client.transport.request("POST", "/api/v4/leads", json=[{"name": "x"}],
                                         request_ids=["r0"])
    assert info.value.request_ids == ("r0",) and not info.value.retryable
    assert len(harness.server.seen) == 1


def test_post_dropped_connection_is_not_repeated(harness: Harness) -> None:
    harness.server.route("POST", f"{API}/leads", Reply(drop=True))
    with pytest.raises(OutcomeUnknown):
        harness.client.transport.request("POST", "/api/v4/leads", json=[{"name": "x"}],
                                         request_ids=["r0"])
    assert len(harness.server.seen) == 1


def test_post_read_timeout_is_not_repeated(harness: Harness) -> None:
    harness.server.route("POST", f"{API}/leads", Reply(200, {}, delay=1.0))
    with pytest.raises(OutcomeUnknown):
        harness.client.transport.request("POST", "/api/v4/leads", json=[{"name": "x"}])
    assert len(harness.server.seen) == 1


def test_post_to_a_closed_port_is_retried_because_it_never_left(harness: Harness) -> None:
    harness.client.transport.base_url = "http://127.0.0.1:9"  # discard port: refused
    harness.client.transport.session = make_session(timeout=0.5, connect_retries=0)
    with pytest.raises(Unavailable):
        harness.client.transport.request("POST", "/api/v4/leads", json=[{"name": "x"}])


def test_patch_counts_as_idempotent(harness: Harness) -> None:
    harness.server.route("PATCH", f"{API}/leads", [Reply(500), Reply(200, {"_embedded": {
        "leads": [{"id": 7, "request_id": "7"}]}})])
    result = harness.client.update_leads([{"id": 7, "price": 100}])
    assert result.ids == {"7": 7} and result.ok


def test_4xx_problem_is_an_api_error(harness: Harness) -> None:
    harness.server.route("GET", f"{API}/account", Reply(404, {"title": "Not Found"}))
    with pytest.raises(ApiError) as info:
        harness.client.account()
    assert info.value.status == 404 and not info.value.retryable


def test_seen_is_recorded(harness: Harness) -> None:
    def echo(seen: Seen) -> Reply:
        return Reply(200, {"id": 1, "timezone": "Asia/Yekaterinburg", "subdomain": "broker"})

    harness.server.route("GET", f"{API}/account", echo)
    info = harness.client.account()
    assert info.timezone == "Asia/Yekaterinburg" and info.subdomain == "broker"
