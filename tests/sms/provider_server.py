"""A loopback HTTP server that answers like an SMS provider, from a script (real sockets)."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    json: Any
    headers: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    drop: bool = False  # read the request, then close without answering
    delay: float = 0.0


@dataclass
class ProviderServer:
    replies: dict[str, list[Reply]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = self.headers.get("Content-Type", "")
                form = parse_qs(raw.decode(), keep_blank_values=True) \
                    if "x-www-form-urlencoded" in ctype else {}
                body = json.loads(raw) if "json" in ctype and raw else None
                server.seen.append(Seen(self.command, parts.path, parse_qs(parts.query), form,
                                        body, {k.lower(): v for k, v in self.headers.items()}))
                queue = server.replies.get(parts.path) or [Reply(404, {"error": "no route"})]
                reply = queue.pop(0) if len(queue) > 1 else queue[0]
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                payload = reply.body if isinstance(reply.body, str | bytes) else \
                    json.dumps(reply.body, ensure_ascii=False)
                payload = payload.encode() if isinstance(payload, str) else payload
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def answer(self, path: str, *replies: Reply) -> None:
        self.replies[path] = list(replies)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
