"""The console gateway, the embedded default: prints each SMS and keeps the last ones.

Nothing leaves the machine. Every message is "delivered" at once, so the whole outbox path —
notes in amoCRM included — can be seen working in development and in the demo.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TextIO

from sms.gateway import (
    Accepted,
    CallbackAnswer,
    CallbackRequest,
    Delivery,
    Lookup,
    OutgoingSms,
    StatusReport,
)
from sms.segments import count_segments


class ConsoleGateway:
    name = "console"
    can_lookup = True

    def __init__(self, *, stream: TextIO | None = None, keep: int = 1000) -> None:
        self._stream = stream
        self.sent: deque[tuple[str, OutgoingSms]] = deque(maxlen=keep)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, sms: OutgoingSms) -> Accepted:
        parts = count_segments(sms.text)
        with self._lock:
            message_id = f"console-{next(self._ids)}"
            self.sent.append((message_id, sms))
        stream = self._stream or sys.stdout
        print(f"[SMS → {sms.phone}] ({parts.count} × {parts.encoding}) {sms.text}", file=stream,
              flush=True)
        return Accepted(provider_message_id=message_id, segments=parts.count)

    def statuses(self, provider_message_ids: Sequence[str], *,
                 phones: Mapping[str, str]) -> list[StatusReport]:
        known = {message_id for message_id, _ in self.sent}
        return [StatusReport(i, Delivery.DELIVERED if i in known else Delivery.NOT_FOUND)
                for i in provider_message_ids]

    def lookup(self, query: Lookup) -> StatusReport:
        for message_id, sms in list(self.sent):
            if sms.reference == query.reference:
                return StatusReport(message_id, Delivery.DELIVERED)
        return StatusReport("", Delivery.NOT_FOUND)

    def parse_callback(self, request: CallbackRequest) -> list[StatusReport]:
        return []

    def callback_answer(self) -> CallbackAnswer:
        return CallbackAnswer("OK")
