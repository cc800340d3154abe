"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from amo_bridge.web.problems import problem

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. Touches no dependency."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: the database answers, and Redis when it is configured."""
    runtime = current_app.extensions["amo_bridge"]
    checks: dict[str, str] = {}
    try:
        with runtime.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported below
        checks["database"] = f"error: {type(exc).__name__}"
    if runtime.redis is not None:
        try:
            runtime.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"error: {type(exc).__name__}"
    if all(value == "ok" for value in checks.values()):
        return jsonify(status="ok", checks=checks, jobs=runtime.queue.mode)
    return problem(503, "Service Unavailable", "A dependency is not ready.", checks=checks)
