"""Fault injection: latency, random 5xx and "commit then lose the answer" (see ``FaultRule``)."""

from __future__ import annotations

import fnmatch
import socket
import time
from dataclasses import dataclass

from flask import Response, request

from .config import FaultRule
from .errors import ApiError
from .state import Account, Simulator


@dataclass
class FaultPlan:
    error: Response | None = None
    drop_mode: str | None = None


def matching(account: Account, endpoint: str) -> list[FaultRule]:
    return [r for r in account.faults if fnmatch.fnmatchcase(endpoint, r.match)]


def plan(sim: Simulator, account: Account, endpoint: str, *, is_write: bool) -> FaultPlan:
    """Apply latency now; decide whether to fail before, or drop the answer after, the view."""
    rules = matching(account, endpoint)
    delay = sum(r.latency for r in rules)
    if delay > 0:
        time.sleep(delay)  # real time: the client's timeouts are real too
    result = FaultPlan()
    with sim.lock:
        for rule in rules:
            if rule.error_rate > 0 and sim.random.random() < rule.error_rate:
                account.stats.bump("injected_errors")
                result.error = ApiError(rule.error_status, "Injected failure").to_response()
                return result
        if is_write:
            for rule in rules:
                if rule.drop_count > 0:
                    rule.drop_count -= 1
                    result.drop_mode = rule.drop_mode
                    break
                if rule.drop_rate > 0 and sim.random.random() < rule.drop_rate:
                    result.drop_mode = rule.drop_mode
                    break
    return result


def drop(mode: str) -> Response:
    """The write is applied; now lose the answer.

    ``"drop"``: shut the TCP connection down so the client gets no status line (werkzeug's
    server treats the failed write as a dropped connection). Without a socket (Flask's test
    client) or with ``"502"``: an empty 502, as a proxy in front of amoCRM would answer.
    """
    sock = request.environ.get("werkzeug.socket")
    if mode == "drop" and isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return Response(b"", 502)
