"""The widget's own backend, registered with one line in the app factory: the deal panel's
policy lines, the settings sections nobody else owns, the dashboards' data, the OpenAPI
description of the whole widget API, CORS for amoCRM's domains, and (outside production) the
harness page that hosts the widget locally.
"""

from __future__ import annotations

from flask import Blueprint

from amo_bridge.web import (
    contacts_api,
    cors,
    dashboards_api,
    harness,
    openapi,
    policies_api,
    widget_settings_api,
)
from amo_bridge.web.money_common import ApiProblem, lang

bp = Blueprint("widget", __name__)
api = Blueprint("widget_api", __name__, url_prefix="/widget/api")
for child in (policies_api.bp, widget_settings_api.bp, dashboards_api.bp, contacts_api.bp,
              openapi.bp):
    api.register_blueprint(child)
bp.register_blueprint(api)
bp.register_blueprint(harness.bp)
bp.record_once(lambda state: cors.install(state.app))


@api.errorhandler(ApiProblem)
def _api_problem(exc: ApiProblem):
    return exc.response(lang())
