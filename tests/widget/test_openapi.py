"""The OpenAPI description covers every route of the widget API, names no route that is gone,
validates as OpenAPI 3, and is what the bridge serves."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from amo_bridge.app import create_app
from amo_bridge.settings import load_settings
from amo_bridge.web.openapi import build_spec, openapi_path
from amo_bridge.web.openapi_routes import ROUTES
from jobs.runtime import get_runtime, set_runtime

IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def app_routes(tmp_path_factory) -> set[tuple[str, str]]:
    previous = get_runtime.__globals__["_current"]
    settings = load_settings({"INSTANCE_PATH": str(tmp_path_factory.mktemp("openapi")),
                              "JOB_MODE": "inline"})
    try:
        app = create_app(settings, start_background=False)
    finally:
        set_runtime(previous)  # the factory installs its runtime process-wide
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/widget/api/") for method in rule.methods - IGNORED_METHODS}


def test_every_widget_api_route_is_described(app_routes):
    described = {(op.method, op.rule) for op in ROUTES}
    missing = sorted(app_routes - described)
    assert not missing, f"describe these in amo_bridge/web/openapi_routes.py: {missing}"


def test_the_description_names_no_route_that_is_gone(app_routes):
    described = {(op.method, op.rule) for op in ROUTES}
    stale = sorted(described - app_routes)
    assert not stale, f"no such routes any more: {stale}"
    assert len(described) == len(ROUTES), "a route is described twice"


def test_the_description_is_valid_openapi():
    spec = build_spec(server_url="https://bridge.example.com")
    validate(spec)
    assert spec["openapi"] == "3.0.3"
    post = spec["paths"]["/widget/api/deals/{lead_id}/policies"]["post"]
    assert post["security"] == [{"amocrmToken": []}]
    assert set(post["responses"]) >= {"201", "401", "403", "422", "404"}
    body = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    line = spec["components"]["schemas"][body.rsplit("/", 1)[-1]]
    assert line["additionalProperties"] is False and {"product", "premium"} <= set(
        line["required"])
    assert spec["paths"]["/widget/api/inbox"]["get"]["x-roles"] == ["admin"]
    download = spec["paths"]["/widget/api/exports/{export_id}/download"]["get"]
    assert download["security"] == [{"signedLink": []}]


def test_path_conversion():
    assert openapi_path("/widget/api/deals/<int:lead_id>/policies/<int:policy_id>") == \
        "/widget/api/deals/{lead_id}/policies/{policy_id}"
    assert openapi_path("/widget/api/sms/templates/<code>") == "/widget/api/sms/templates/{code}"


def test_the_bridge_serves_the_description(api):
    served = api("GET", "/openapi.json", user=None)
    assert served.status_code == 200
    assert served.json()["paths"].keys() == build_spec()["paths"].keys()
