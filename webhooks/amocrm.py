"""The amoCRM doors: account webhooks and the Digital Pipeline hook.

Each door only verifies, stores, wakes the job and answers (CONVENTIONS rule 5). amoCRM switches
a hook off after 100 failed answers in two hours (AMOCRM.md), so every request that carries the
right secret and the right ``account[id]`` — parseable or not, any content type — is stored and
answered 200. Only requests that are not from the connected account fail: an unknown secret
(404), another account's id (403), a body over the limit (413). Parsing and the API re-reads
happen in the job, never in the request: amoCRM waits at most 2 seconds.

The doors are the bridge's busiest path — a mass action in amoCRM is thousands of hooks — so
they are a plain WSGI function in front of Flask (:class:`AmocrmDoors`), with nothing a request
does not need: no request context or URL map, the account's address remembered for a few
seconds (``webhooks.addresses``), the row committed with those of concurrent requests
(``amo_bridge.db_insert.GroupCommit``: one transaction per group, each answer after its own
row's commit), and the job's wake-up left to a sender thread (``jobs.queue.Wakes``). A true
redelivery (the same body while its original still waits) is recognised when the job claims
its batch (``jobs.inbox``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from amo_bridge.amocrm.webhook import account_id_of
from amo_bridge.db import Database
from amo_bridge.db_insert import GroupCommit, RowInsert
from amo_bridge.logs import request_id_from, request_id_var
from amo_bridge.models import InboxEvent, InboxStatus
from amo_bridge.web.problems import problem_document
from jobs.inbox import PROCESS_JOB, wake_key
from jobs.queue import JobCall, Wakes
from jobs.runtime import Runtime
from webhooks.addresses import AddressBook

log = logging.getLogger(__name__)

PREFIX = "/webhooks/amocrm/"
SOURCES = {"": "amocrm", "dp": "amocrm_dp"}  # /webhooks/amocrm/<token>[/dp]
#: Request headers kept with the body, by their WSGI names.
_KEPT_HEADERS = (("User-Agent", "HTTP_USER_AGENT"),
                 ("X-Amocrm-Requestid", "HTTP_X_AMOCRM_REQUESTID"),
                 ("X-Forwarded-For", "HTTP_X_FORWARDED_FOR"), ("Content-Type", "CONTENT_TYPE"))
_STATUS_LINES = {200: "200 OK", 400: "400 Bad Request", 403: "403 Forbidden", 404: "404 Not Found",
                 405: "405 Method Not Allowed", 413: "413 Request Entity Too Large",
                 500: "500 Internal Server Error"}

Answer = tuple[int, bytes, str]  # status, body, content type
StartResponse = Callable[..., Any]


class AmocrmDoors:
    """WSGI middleware: ``/webhooks/amocrm/<token>[/dp]`` here, everything else to ``inner``.

    ``runtime_of()`` gives the app's runtime at call time (tests may swap its queue).
    """

    def __init__(self, inner: Callable[..., Iterable[bytes]], runtime_of: Callable[[], Runtime],
                 *, max_body_bytes: int) -> None:
        self.inner = inner
        self.runtime_of = runtime_of
        self.max_body_bytes = max_body_bytes
        self._parts: tuple[Database, AddressBook, GroupCommit, Wakes | None] | None = None
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return self.inner(environ, start_response)
        token, _, tail = path[len(PREFIX):].partition("/")
        if not token or tail not in SOURCES:
            return self.inner(environ, start_response)
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID", ""))
        reset = request_id_var.set(request_id)
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                status, body, content_type = _problem(405, "Method Not Allowed",
                                                      "Webhooks are POSTed.")
            else:
                status, body, content_type = self._store(environ, token, SOURCES[tail])
        except Exception:  # noqa: BLE001 - answered as a problem, never an HTML traceback
            log.exception("webhook door failed")
            status, body, content_type = _problem(
                500, "Internal Server Error", "The error was logged with the request id.")
        finally:
            request_id_var.reset(reset)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
                   ("X-Request-ID", request_id)]
        if status == 405:
            headers.append(("Allow", "POST"))
        start_response(_STATUS_LINES[status], headers)
        return [body]

    def _store(self, environ: dict[str, Any], token: str, source: str) -> Answer:
        runtime = self.runtime_of()
        addresses, insert, wakes = self._parts_for(runtime)
        try:
            body = self._read_body(environ)
        except RequestEntityTooLarge:
            return _problem(413, "Request Entity Too Large",
                            f"The body is over {self.max_body_bytes} bytes.")
        except ClientDisconnected:
            return _problem(400, "Bad Request", "The body ended before its Content-Length.")
        address = addresses.find(token)
        if address is None:
            return _problem(404, "Not Found", "Unknown webhook address.")
        content_type = environ.get("CONTENT_TYPE") or None
        claimed = account_id_of(body, content_type)
        if claimed is not None and claimed != address.amocrm_id:
            log.warning(
                "webhook for account %s arrived at the address of account %s; refused",
                claimed, address.amocrm_id, extra={"account_id": address.account_id},
            )
            return _problem(403, "Forbidden", "This address belongs to another amoCRM account.")

        now = runtime.clock.now()
        row_id = insert({
            "account_id": address.account_id, "source": source, "received_at": now,
            "content_type": content_type,
            "headers": {name: value for name, key in _KEPT_HEADERS if (value := environ.get(key))},
            "body": body,
            # Redeliveries are recognised by this digest when the job claims its batch.
            "body_sha256": hashlib.sha256(source.encode() + b"\0" + body).hexdigest(),
            "status": InboxStatus.PENDING, "attempts": 0, "updated_at": now,
        })
        call = JobCall(PROCESS_JOB, (row_id, address.account_id))
        key = wake_key(address.account_id)
        if wakes is None:
            runtime.queue.enqueue_once(call, key=key)  # in-process queues: a put, no I/O
        else:
            wakes.wake(call, key=key)
        return 200, b"ok", "text/plain; charset=utf-8"

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        """The body, refused over the limit.

        A ``Content-Length`` body (amoCRM's) is read in one call and must be complete. A
        chunked one is read only from a server that ends the stream itself
        (``wsgi.input_terminated``: gunicorn, werkzeug's), and only up to one byte over the
        limit, so an endless body costs no more memory than the limit.
        """
        length = environ.get("CONTENT_LENGTH", "")
        stream = environ["wsgi.input"]
        if length.isdigit() and not environ.get("HTTP_TRANSFER_ENCODING"):
            size = int(length)
            if size > self.max_body_bytes:
                raise RequestEntityTooLarge()
            body = stream.read(size) if size else b""
            if len(body) != size:  # the sender went away mid-body: nothing to keep or answer
                raise ClientDisconnected()
            return body
        if not environ.get("wsgi.input_terminated"):
            # No length and no end: werkzeug's safe fallback (an empty body) or its 413.
            return get_input_stream(environ, max_content_length=self.max_body_bytes).read()
        chunks: list[bytes] = []
        left = self.max_body_bytes + 1
        while left > 0 and (chunk := stream.read(min(left, 1 << 16))):
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise RequestEntityTooLarge()
        return b"".join(chunks)

    def flush_wakes(self) -> int:
        """Send the due wake-ups now (their thread would within ``Wakes.interval``)."""
        wakes = self._parts[3] if self._parts else None
        return wakes.flush() if wakes else 0

    def _parts_for(self, runtime: Runtime) -> tuple[AddressBook, GroupCommit, Wakes | None]:
        """The door's helpers for this runtime's database and queue, made again (the old
        inserter's pool closed) only if a test swaps either."""
        parts = self._parts
        if parts is None or parts[0] is not runtime.db or (
                parts[3] is not None and parts[3].queue is not runtime.queue):
            with self._lock:
                if parts is not None:
                    parts[2].insert.dispose()
                wakes = Wakes(runtime.queue) if runtime.queue.mode == "rq" else None
                parts = (runtime.db, AddressBook(runtime.db),
                         GroupCommit(RowInsert(runtime.db, InboxEvent.__table__)), wakes)
                self._parts = parts
        return parts[1], parts[2], parts[3]


def _problem(status: int, title: str, detail: str) -> Answer:
    body = json.dumps(problem_document(status, title, detail), ensure_ascii=False).encode()
    return status, body, "application/problem+json"
