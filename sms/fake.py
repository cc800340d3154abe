"""An in-memory fake provider for tests and benchmarks, with scriptable failures.

``sent`` is what the "provider" accepted — the number of SMS a client would have received.
``script`` queues behaviours for the next sends: raise an error before accepting, or accept
and then raise (the answer is lost, or the worker dies right after the provider took it).
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sms.gateway import (
    Accepted,
    CallbackAnswer,
    CallbackRejected,
    CallbackRequest,
    Delivery,
    GatewayError,
    Lookup,
    OutgoingSms,
    StatusReport,
)
from sms.segments import count_segments


@dataclass(frozen=True, slots=True)
class FailBefore:
    """Raise ``error`` without accepting the message."""

    error: GatewayError


@dataclass(frozen=True, slots=True)
class AcceptThenRaise:
    """Accept the message, then raise ``error`` (any exception, even a BaseException)."""

    error: BaseException


class FakeGateway:
    can_lookup = True

    def __init__(self, *, name: str = "fake", cost_per_segment: int = 350) -> None:
        self.name = name
        self.cost_per_segment = cost_per_segment
        self.sent: list[tuple[str, OutgoingSms]] = []
        self.states: dict[str, Delivery] = {}
        self.calls = 0
        self.script: deque[FailBefore | AcceptThenRaise] = deque()
        self.on_send: Callable[[OutgoingSms], None] | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, sms: OutgoingSms) -> Accepted:
        with self._lock:
            self.calls += 1
            step = self.script.popleft() if self.script else None
            if isinstance(step, FailBefore):
                raise step.error
            message_id = f"{self.name}-{next(self._ids)}"
            self.sent.append((message_id, sms))
            self.states[message_id] = Delivery.PENDING
        if self.on_send is not None:
            self.on_send(sms)
        if isinstance(step, AcceptThenRaise):
            raise step.error
        parts = count_segments(sms.text).count
        return Accepted(message_id, segments=parts, cost_kopecks=parts * self.cost_per_segment)

    def deliver(self, message_id: str, state: Delivery = Delivery.DELIVERED) -> None:
        self.states[message_id] = state

    def phones(self) -> list[str]:
        return [sms.phone for _, sms in self.sent]

    def statuses(self, provider_message_ids: Sequence[str], *,
                 phones: Mapping[str, str]) -> list[StatusReport]:
        return [StatusReport(i, self.states.get(i, Delivery.NOT_FOUND))
                for i in provider_message_ids]

    def lookup(self, query: Lookup) -> StatusReport:
        for message_id, sms in self.sent:
            if sms.reference == query.reference:
                return StatusReport(message_id, self.states[message_id])
        return StatusReport("", Delivery.NOT_FOUND)

    def parse_callback(self, request: CallbackRequest) -> list[StatusReport]:
        form = {k: v[0] for k, v in request.form.items() if v}
        if "id" not in form or form.get("status") not in {d.value for d in Delivery}:
            raise CallbackRejected("fake callback needs id and status")
        return [StatusReport(form["id"], Delivery(form["status"]))]

    def callback_answer(self) -> CallbackAnswer:
        return CallbackAnswer("OK")
