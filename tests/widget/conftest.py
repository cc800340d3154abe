"""The widget against the real backend on loopback: the amoCRM simulator and the bridge
(``local_stack``), real JWTs, and — for the ``browser`` tests — Debian's Chromium driven by
Playwright through the harness page that plays amoCRM around the built widget.

One stack per test session (starting it costs seconds); each test works on its own deals and
contacts, created through the simulator and mirrored through real webhooks.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from amo_bridge.amocrm import RateLimited
from amo_bridge.devstack import Stack, local_stack
from amo_bridge.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: The simulator's demo integration (amo_bridge/simulator/default_seed.toml).
CLIENT_ID = "3f1c9a2e-5b7d-4e8f-9a10-2b3c4d5e6f70"
CLIENT_SECRET = "demo-broker-client-secret-change-me"
REDIRECT_URI = "http://127.0.0.1:5000/oauth/amocrm/callback"
AUDIENCE = "http://127.0.0.1:5000"
ADMIN, MANAGER, MANAGER_2, MANAGER_3 = 8011001, 8011002, 8011003, 8011004
SALES, NEW, IN_WORK, WON = 7811001, 61100002, 61100003, 142
_names = itertools.count(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests need Debian's Chromium (``.ci/run`` installs it); say so when it is absent
    rather than failing with a launch error."""
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("REQUIRE_SERVICES", "") not in ("", "0", "false", "no"):
        raise pytest.UsageError(f"REQUIRE_SERVICES=1 but {CHROMIUM} is not installed "
                                "(.ci/run installs it: apt-get install chromium)")
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt-get install chromium)")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    instance = tmp_path_factory.mktemp("widget-instance")
    settings = load_settings({
        "INSTANCE_PATH": str(instance), "JOB_MODE": "thread", "LOG_LEVEL": "WARNING",
        "SMS_GATEWAY": "fake", "AMOCRM_CLIENT_ID": CLIENT_ID,
        # Below the simulator's 7/s: at exactly 7/s any scheduling jitter on a loaded machine
        # puts an eighth request into amoCRM's one-second window and earns a 429.
        "AMOCRM_RATE_PER_SECOND": "6",
        "AMOCRM_CLIENT_SECRET": CLIENT_SECRET, "AMOCRM_REDIRECT_URI": REDIRECT_URI,
        "SECRET_KEY": "widget-tests-" + "s" * 40,
    })
    with local_stack(settings) as running:
        # Export links are absolute (PUBLIC_URL); local_stack picks its port when it starts,
        # so the public URL is set to it here, as a deployment sets PUBLIC_URL to its address.
        public = settings.with_overrides(public_url=running.bridge.url)
        running.runtime.settings = public
        running.app.extensions["amo_bridge.settings"] = public
        running.settings = public
        yield running


def token(user_id: int, *, account_id: int = 31456789, secret: str = CLIENT_SECRET,
          audience: str = AUDIENCE, lifetime: int = 1800, not_before: int = 0) -> str:
    now = int(time.time())
    return jwt.encode({
        "iss": "https://demo-broker.amocrm.ru", "aud": audience, "jti": f"t{next(_names)}",
        "iat": now, "nbf": now + not_before, "exp": now + lifetime, "account_id": account_id,
        "user_id": user_id, "client_uuid": CLIENT_ID, "subdomain": "demo-broker",
    }, secret, algorithm="HS256")


class Api:
    """The widget API over real HTTP, as a given amoCRM user."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = requests.Session()

    def __call__(self, method: str, path: str, user: int | None = ADMIN, **kwargs: Any
                 ) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if user is not None:
            headers.setdefault("X-Auth-Token", token(user))
        return self.http.request(method, f"{self.stack.bridge.url}/widget/api{path}",
                                 headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="session")
def api(stack: Stack) -> Api:
    return Api(stack)


def new_client(stack: Stack, *, phone: str | None = None, responsible: int = MANAGER,
               deliver: bool = True) -> int:
    """A contact created in amoCRM (the simulator) and mirrored through its webhook."""
    n = next(_names)
    phone = phone or f"+7916{n:07d}"
    contact = stack.sim("POST", "/contacts", [{
        "name": f"Клиент {n} Тестовый", "first_name": f"Клиент {n}", "last_name": "Тестовый",
        "responsible_user_id": responsible,
        "custom_fields_values": [{"field_code": "PHONE", "values": [
            {"value": phone, "enum_code": "MOB"}]}]}])["ids"][0]
    if deliver:
        stack.deliver()
    return contact


def new_deal(stack: Stack, *, contact: int | None = None, name: str | None = None,
             responsible: int = MANAGER, status: int = IN_WORK, price: int = 0) -> int:
    """A lead with a contact, created in amoCRM and mirrored."""
    contact = contact or new_client(stack, responsible=responsible, deliver=False)
    lead = stack.sim("POST", "/leads", [{
        "name": name or f"Сделка {next(_names)}", "price": price, "pipeline_id": SALES,
        "status_id": status, "responsible_user_id": responsible,
        "_embedded": {"contacts": [{"id": contact, "is_main": True}]}}])["ids"][0]
    stack.deliver()
    return lead


def lead_price(stack: Stack, lead_id: int) -> int:
    return next(iter(stack.client().leads(ids=[lead_id]))).price


def wait_for(check, *, timeout: float = 45.0, interval: float = 0.1):
    """Poll ``check`` until true. Jobs may hit amoCRM's rate limit and be retried after 10 s and
    30 s (jobs/queue.py), so the wait covers a couple of retries on a loaded machine. A check
    that reads amoCRM itself shares the account's budget: while the account cools down after a
    429 the check is "not yet", as a job would reschedule, rather than a failure."""
    deadline = time.monotonic() + timeout
    while True:
        pause = interval
        try:
            value = check()
        except RateLimited as limited:
            value, pause = None, max(interval, limited.retry_after or interval)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(min(pause, max(interval, deadline - time.monotonic())))


def rows(stack: Stack, statement) -> list:
    with stack.runtime.db.read_session() as session:
        return list(session.scalars(statement))


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, stack) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="ru-RU",
                                  accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # jQuery swallows an exception thrown inside a .then() callback and only warns about it.
    page.on("console", lambda msg: errors.append(msg.text)
            if "jQuery.Deferred exception" in msg.text else None)
    page.set_default_timeout(15000)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def open_harness(page, stack: Stack, *, area: str, user: int = ADMIN, lead: int | None = None,
                 contact: int | None = None, lang: str = "ru") -> None:
    query = f"area={area}&user={user}&lang={lang}"
    if lead:
        query += f"&lead={lead}"
    if contact:
        query += f"&contact={contact}"
    page.goto(f"{stack.bridge.url}/widget/harness?{query}")
    page.wait_for_selector("body[data-harness='ready']", state="attached")


def open_tab(page, tab: str) -> Any:
    page.click(f".ab-tab[data-tab='{tab}']")
    section = page.locator(f".ab-section[data-section='{tab}']")
    section.wait_for()
    return section


def screenshot(page, name: str, *, selector: str | None = None) -> Path:
    """Write a panel's screenshot to docs/screenshots (the README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.wait_for_timeout(150)  # let the last repaint land
    if selector:
        page.locator(selector).first.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=True)
    return path


def days_from_today(stack: Stack, days: int) -> date:
    return stack.runtime.clock.now().date() + timedelta(days=days)



# --- answers checked against the OpenAPI description ------------------------------------------


def _inline(node: Any, components: dict) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            kind = node["$ref"].split("/")[2]
            return _inline(components[kind][name], components)
        return {k: _inline(v, components) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, components) for v in node]
    return node


def assert_described(method: str, rule: str, response: requests.Response) -> None:
    """The answer's JSON matches the schema the description promises for that status."""
    from openapi_schema_validator import OAS30Validator, validate

    from amo_bridge.web.openapi import cached_spec, openapi_path

    spec = cached_spec()
    operation = spec["paths"][openapi_path(rule)][method.lower()]
    described = operation["responses"][str(response.status_code)]
    described = _inline(described, spec["components"])
    media = described["content"]
    kind = response.headers["Content-Type"].split(";")[0]
    assert kind in media, f"{kind} not described for {method} {rule} {response.status_code}"
    validate(response.json(), media[kind]["schema"], cls=OAS30Validator)


def plain(locator) -> str:
    """A locator's text with the no-break spaces of money («7 500,00 ₽») as plain spaces."""
    return locator.inner_text().replace("\u00a0", " ")
