"""The SMS gateway port: what the outbox asks of a provider, and the typed answers it gets.

A send either returns :class:`Accepted` or raises one :class:`GatewayError` subclass, and the
class alone tells the outbox what to do:

====================  =================================================  ====================
error                 meaning                                            the outbox
====================  =================================================  ====================
``AccountError``      the gateway account cannot send (no money, sender  pauses the channel,
                      name not approved, bad credentials, blocked)       alerts the admin,
                                                                         may fail over
``NumberError``       this number can never receive (invalid, no route,  fails the message,
                      on the provider's stop list)                       suppresses the number
``MessageError``      this text can never go out (too long, forbidden    fails the message
                      words)
``RetryableError``    definitely **not** accepted, may work later        waits, then retries
                      (connection refused, provider says "try later")    or fails over
``OutcomeUnknown``    the request may have been accepted (timeout after  never re-sends:
                      sending, 5xx, unreadable answer)                   resolves by a status
                                                                         query
====================  =================================================  ====================

Adapters never retry a send themselves: a second POST after a lost answer is a second SMS.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    #: Our stable id of the message (the outbox row id), used to find it again after a lost
    #: answer where the provider lets us (SMSC's ``id``, SMS Aero's list by number and text).
    reference: int
    phone: str  # E.164, "+79991234567"
    text: str
    sender: str | None = None
    callback_url: str | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    provider_message_id: str
    segments: int | None = None
    cost_kopecks: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


class Delivery(enum.StrEnum):
    PENDING = "pending"  # accepted, on its way
    DELIVERED = "delivered"
    FAILED = "failed"
    NOT_FOUND = "not_found"  # the provider has no such message


@dataclass(frozen=True, slots=True)
class StatusReport:
    provider_message_id: str
    state: Delivery
    code: str = ""
    description: str = ""
    at: datetime | None = None
    cost_kopecks: int | None = None
    #: The failure means the number itself is bad (e.g. "invalid number"): suppress it.
    number_invalid: bool = False


@dataclass(frozen=True, slots=True)
class Lookup:
    """Everything we know about a message whose send answer was lost."""

    reference: int
    phone: str
    text: str
    provider_message_id: str | None = None
    sent_after: datetime | None = None


class GatewayError(Exception):
    """Base of every gateway failure; ``code`` is the provider's own code when there is one."""

    def __init__(self, detail: str, *, code: str = "", http_status: int | None = None) -> None:
        super().__init__(f"{code}: {detail}" if code else detail)
        self.detail = detail
        self.code = code
        self.http_status = http_status


class AccountError(GatewayError):
    """The gateway account itself cannot send: pause the channel and alert an admin."""


class NumberError(GatewayError):
    """This phone number can never receive through this provider: suppress it."""


class MessageError(GatewayError):
    """This text can never be sent (too long, forbidden content): fail the message."""


class RetryableError(GatewayError):
    """Definitely not accepted; the same send may work later (or through another gateway)."""

    def __init__(self, detail: str, *, code: str = "", http_status: int | None = None,
                 retry_after: float = 60.0) -> None:
        super().__init__(detail, code=code, http_status=http_status)
        self.retry_after = retry_after


class OutcomeUnknown(GatewayError):
    """The provider may have accepted the message: resolve by a status query, never resend."""


class CallbackRejected(GatewayError):
    """A delivery callback failed verification (bad signature, malformed body)."""


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """A provider's delivery callback as the HTTP door received it."""

    method: str
    form: Mapping[str, Sequence[str]]  # query string and form fields, every value kept
    body: bytes
    content_type: str = ""


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    body: str
    status: int = 200
    content_type: str = "text/plain; charset=utf-8"


class Gateway(Protocol):
    """One SMS provider. Implementations raise only :class:`GatewayError` subclasses."""

    name: str
    #: The provider can find a message without its id (by our reference or by number+text).
    can_lookup: bool

    def send(self, sms: OutgoingSms) -> Accepted: ...

    def statuses(self, provider_message_ids: Sequence[str], *,
                 phones: Mapping[str, str]) -> list[StatusReport]:
        """Current delivery status of sent messages (``phones``: id → E.164)."""
        ...

    def lookup(self, query: Lookup) -> StatusReport:
        """Find a message whose send answer was lost; ``Delivery.NOT_FOUND`` if it is not there.

        Raises :class:`RetryableError` when the provider cannot be asked right now.
        """
        ...

    def parse_callback(self, request: CallbackRequest) -> list[StatusReport]:
        """Verify (where the provider signs) and parse a delivery callback."""
        ...

    def callback_answer(self) -> CallbackAnswer:
        """What the provider expects back, so that it stops redelivering."""
        ...
