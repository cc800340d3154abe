"""amoCRM's error answers (AMOCRM.md "API v4"): RFC 7807 ``application/problem+json``.

Validation errors add ``"validation-errors": [{request_id, errors: [{code, path, detail}]}]``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response

PROBLEM = "application/problem+json"
HAL = "application/hal+json"

# Codes and wording as amoCRM's validator produces them (Symfony-style messages).
NOT_BLANK = ("NotBlank", "This value should not be blank.")
NOT_SUPPORTED = ("NotSupportedChoice", "The value you selected is not a valid choice.")
INVALID_TYPE = ("InvalidType", "This value should be of type {type}.")
TOO_MANY = ("TooMany", "This collection should contain {max} elements or less.")


class ApiError(Exception):
    """Raised inside a view; turned into a problem+json answer."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        validation_errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.validation_errors = validation_errors
        self.extra = extra or {}

    def to_response(self) -> Response:
        body: dict[str, Any] = {
            "title": self.title,
            "type": f"https://httpstatus.es/{self.status}",
            "status": self.status,
            "detail": self.detail,
        }
        if self.validation_errors is not None:
            body["validation-errors"] = self.validation_errors
        body.update(self.extra)
        return Response(json.dumps(body, ensure_ascii=False), self.status, mimetype=PROBLEM)


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class Validation:
    """Collects field errors per ``request_id`` and raises one 400 at the end of a batch."""

    def __init__(self) -> None:
        self._items: dict[str, list[dict[str, str]]] = {}

    def add(self, request_id: str, path: str, code: tuple[str, str], **fmt: Any) -> None:
        name, detail = code
        self._items.setdefault(request_id, []).append(
            {"code": name, "path": path, "detail": detail.format(**fmt)}
        )

    def __bool__(self) -> bool:
        return bool(self._items)

    def raise_if_any(self) -> None:
        if self._items:
            raise ApiError(
                400,
                "Request validation failed",
                validation_errors=[
                    {"request_id": rid, "errors": errs} for rid, errs in self._items.items()
                ],
            )


def hal(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status, mimetype=HAL)


def no_content() -> Response:
    """AMOCRM.md: an empty result is ``204 No Content`` with an empty body."""
    return Response(b"", 204)


BLOCKED_HTML = (
    "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n"
    "<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
