"""`WebhookReceiver`: a tiny recording HTTP endpoint on 127.0.0.1 for webhook tests.

It answers HEAD with 200 and POST with `status` (or the next of `statuses`, or whatever
`respond(request)` returns), and records every request: method, path, headers (names
lower-cased) and the exact body bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.simulator.background import BackgroundServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver(BackgroundServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[Received] = []
        self.status = 200
        self.head_status = 200
        self.statuses: list[int] = []  # consumed first, one per POST
        self.respond: Callable[[Received], int] | None = None
        self._lock = threading.Lock()
        httpd = ThreadingHTTPServer((host, port), _Handler)
        httpd.daemon_threads = True
        httpd.receiver = self  # type: ignore[attr-defined]
        super().__init__(httpd, "webhook-receiver")

    @property
    def url(self) -> str:
        return self.origin + "/hook"

    def posts(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    def heads(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.method == "HEAD"]

    def record(self, request: Received) -> int:
        with self._lock:
            self.requests.append(request)
            if request.method == "HEAD":
                return self.head_status
            respond = self.respond
            if respond is None:
                return self.statuses.pop(0) if self.statuses else self.status
        return respond(request)  # outside the lock: deliveries arrive in parallel


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = Received(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        status = self.server.receiver.record(request)  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
