"""The application factory. Nothing here runs at import time."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, g, request

from amo_bridge.clock import Clock, system_clock
from amo_bridge.logs import configure_logging, request_id_from, request_id_var
from amo_bridge.settings import Settings, load_settings
from amo_bridge.web import health, reports_api, sms_api, sms_settings_api
from amo_bridge.web.problems import register_error_handlers
from jobs.runtime import Runtime, build_runtime, set_runtime
from webhooks import amocrm as amocrm_webhooks
from webhooks import oauth as oauth_doors
from webhooks import sms as sms_webhooks


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = system_clock,
    runtime: Runtime | None = None,
    start_background: bool = True,
) -> Flask:
    """Build the bridge's Flask app.

    ``settings`` default to the environment. In the embedded ``thread`` job mode the serving
    process also runs the worker thread and the periodic schedule (``start_background``).
    """
    settings = settings or load_settings(os.environ)
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    ensure_instance(settings.instance_path)

    app = Flask("amo_bridge", instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key or instance_secret(settings.instance_path),
        MAX_CONTENT_LENGTH=settings.webhook_max_body_bytes,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    runtime = runtime or build_runtime(settings, clock=clock)
    set_runtime(runtime)
    app.extensions["amo_bridge"] = runtime
    app.extensions["amo_bridge.settings"] = settings

    _install_request_ids(app)
    register_error_handlers(app)
    app.register_blueprint(health.bp)
    # amoCRM's doors answer in front of Flask: the busiest path, kept to what it needs.
    app.wsgi_app = amocrm_webhooks.AmocrmDoors(  # type: ignore[method-assign]
        app.wsgi_app, lambda: app.extensions["amo_bridge"],
        max_body_bytes=settings.webhook_max_body_bytes)
    app.register_blueprint(oauth_doors.bp)
    app.register_blueprint(reports_api.bp)  # reports, money settings, exports
    app.register_blueprint(sms_api.bp)  # SMS templates, history, sending, verification
    app.register_blueprint(sms_settings_api.bp)  # reminder schedule, gateways
    app.register_blueprint(sms_webhooks.bp)  # SMS delivery callbacks
    from amo_bridge.web import imports_api  # issue 6: upload, progress, result of imports

    app.register_blueprint(imports_api.bp)
    app.register_blueprint(__import__("amo_bridge.web.widget_api", fromlist=["bp"]).bp)  # issue 9
    app.register_blueprint(__import__("amo_bridge.web.renewals_api", fromlist=["bp"]).bp)  # issue 5

    if start_background and runtime.queue.mode == "thread":
        _start_embedded_background(runtime)
    return app


def ensure_instance(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


def instance_secret(path: Path) -> str:
    """A random secret kept in the instance folder, for development and the embedded default."""
    secret_file = path / "secret_key"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(48))
        secret_file.chmod(0o600)
    return secret_file.read_text().strip()


def _install_request_ids(app: Flask) -> None:
    @app.before_request
    def _assign_request_id() -> None:
        g.request_id = request_id_from(request.headers.get("X-Request-ID", ""))
        g.request_id_token = request_id_var.set(g.request_id)

    @app.after_request
    def _echo_request_id(response):
        if getattr(g, "request_id", None):
            response.headers["X-Request-ID"] = g.request_id
        return response

    @app.teardown_request
    def _reset_request_id(_exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)


def _start_embedded_background(runtime: Runtime) -> None:
    from jobs.embedded import EmbeddedScheduler

    if runtime.extras.get("background_started"):
        return
    runtime.queue.start()  # type: ignore[attr-defined]
    scheduler = EmbeddedScheduler(runtime.queue)
    scheduler.start()
    runtime.extras["background_started"] = True
    runtime.extras["scheduler"] = scheduler
