"""Typed errors of the amoCRM client; each says whether retrying can help.

``retryable`` is what a job's retry policy reads: ``True`` means the same call may succeed later
(``retry_after`` seconds is the earliest sensible moment, when known); ``False`` means a person or
a reconciliation has to act first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class AmoError(Exception):
    """Base of every error the client raises."""

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class RateLimited(AmoError):
    """amoCRM answered 429, or our shared budget has no slot soon enough.

    The job should be rescheduled ``retry_after`` seconds later instead of sleeping in a worker.
    """

    retryable = True

    def __init__(self, message: str, *, retry_after: float, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class AccountBlocked(AmoError):
    """amoCRM blocked the account (403 with an HTML page, AMOCRM.md "Limits").

    Lifted only through amoCRM support, so nothing is retried until an admin closes the circuit.
    """


class IntegrationDisabled(AmoError):
    """Our tokens are revoked or gone (admin disabled the integration, refresh token dead).

    The account is marked disconnected; only a new authorization reconnects it.
    """


class OutcomeUnknown(AmoError):
    """A non-idempotent request was sent but no answer arrived (timeout, dropped connection, 5xx).

    It is never repeated blindly: the caller reconciles, e.g. by searching for the entities the
    listed ``request_ids`` were meant to create.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        request_ids: Sequence[str] = (),
        status: int | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.method = method
        self.path = path
        self.request_ids = tuple(request_ids)


class Unavailable(AmoError):
    """A 5xx or a network failure on a call that is safe to repeat; retries were exhausted."""

    retryable = True

    def __init__(self, message: str, *, status: int | None = None, retry_after: float = 30.0):
        super().__init__(message, status=status)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class FieldError:
    """One entry of ``validation-errors[].errors[]``: ``{code, path, detail}``."""

    code: str
    path: str
    detail: str


class ApiError(AmoError):
    """A 4xx that retrying will not fix (bad request, not found, forbidden with JSON body…)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        detail: Any = None,
        validation: Mapping[str, tuple[FieldError, ...]] | None = None,
    ) -> None:
        super().__init__(message, status=status, detail=detail)
        #: Validation errors keyed by the ``request_id`` they point at.
        self.validation: Mapping[str, tuple[FieldError, ...]] = dict(validation or {})


class Forbidden(ApiError):
    """403 with a problem+json body: the token's user lacks a right (e.g. /users is admin-only)."""
