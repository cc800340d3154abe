"""RFC 7807 problem+json responses for the bridge's own HTTP API."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE_BASE = "https://amo-bridge.dev/problems/"


def problem_document(status: int, title: str, detail: str | None = None, *,
                     type_: str = "about:blank", **extra: Any) -> dict[str, Any]:
    """The RFC 7807 body (also written by the webhook doors, which answer outside Flask)."""
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return body


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    response = Response(
        json.dumps(problem_document(status, title, detail, type_=type_, **extra),
                   ensure_ascii=False),
        status=status,
        mimetype="application/problem+json",
        headers=headers,
    )
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        response = problem(exc.code or 500, exc.name, exc.description)
        if exc.code == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError) -> Response:
        return problem(
            422,
            "Validation failed",
            "Some fields are missing or invalid; see 'errors'.",
            type_=PROBLEM_TYPE_BASE + "validation",
            errors=exc.normalized_messages(),
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "Internal Server Error", "The error was logged with the request id.")
