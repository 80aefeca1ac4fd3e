"""`SimulatorServer`: the scenario behind a real HTTP/1.1 server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from local.simulator.background import BackgroundServer
from local.simulator.faults import Decision, FaultInjector, Faults, Stats
from local.simulator.routes import build_router
from local.simulator.routing import Request, Response
from local.simulator.scenario import Scenario
from local.simulator.user_actions import PortalActions
from local.simulator.webhooks import WebhookHub
from local.simulator.wire import ApiError, ValidationError, error_body, validation_envelope

DEFAULT_API_KEY = "sk-sim-7f3a9c2e5b1d4e8f"
_TRUNCATED = b'{"response":[{"id":48213,"date":"2025-03-04T12:15:42.0000000+03:00","user":"Jo'


class SimulatorServer(BackgroundServer):
    def __init__(
        self,
        scenario: Scenario,
        api_key: str = DEFAULT_API_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
    ) -> None:
        self.scenario = scenario
        self.api_key = api_key
        self.stats = Stats()
        self.router = build_router()
        self._injector = FaultInjector(faults or Faults())
        self._stopping = threading.Event()
        httpd = _HttpServer((host, port), _Handler)
        httpd.simulator = self
        super().__init__(httpd, "docspace-simulator")

    @property
    def url(self) -> str:
        return self.origin

    @property
    def faults(self) -> Faults:
        return self._injector.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self._injector = FaultInjector(value)

    @property
    def webhooks(self) -> WebhookHub:
        """Webhook configs, the delivery log and the sender (`scenario.webhooks`)."""
        return self.scenario.webhooks

    @property
    def actions(self) -> PortalActions:
        """File changes and downloads by a user: audit events and webhooks together."""
        return self.scenario.actions

    @property
    def audit_option(self) -> bool:
        return self.scenario.audit_option

    @audit_option.setter
    def audit_option(self, value: bool) -> None:
        with self.scenario.lock:
            self.scenario.audit_option = value

    def start(self) -> Self:
        self._stopping.clear()
        return super().start()

    def stop(self) -> None:
        self._stopping.set()  # wakes requests sleeping in a "slow" fault
        self.scenario.webhooks.close()
        super().stop()

    # --- request pipeline ---------------------------------------------------------------

    def decide_fault(self, method: str = "GET") -> tuple[Decision, Faults]:
        injector = self._injector
        return injector.decide(method), injector.faults

    def sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def route_key(self, method: str, path: str) -> str:
        """The stats key: the method and the route template, e.g. GET /api/2.0/people/{userid}."""
        route, _, _ = self.router.match(method, path)
        return f"{method} {route.template if route else path}"

    def handle(self, request: Request) -> tuple[str, Response]:
        """Route, authenticate and run a request under the scenario lock."""
        route, params, other_method = self.router.match(request.method, request.path)
        route_key = f"{request.method} {route.template if route else request.path}"
        if request.headers.get("authorization", "") != f"Bearer {self.api_key}":
            return route_key, Response(401)  # the auth handler's challenge: no body
        if route is None:
            status, message = (405, "Method not allowed") if other_method else (404, "Not found")
            return route_key, Response(status, error_body(status, message))
        request.params = {k.lower(): v for k, v in params.items()}
        try:
            with self.scenario.lock:
                return route_key, route.handler(self.scenario, request)
        except ValidationError as exc:
            return route_key, Response(
                400, validation_envelope(request.url, request.method, exc.errors)
            )
        except ApiError as exc:
            return route_key, Response(exc.status, error_body(exc.status, exc.message))


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    simulator: SimulatorServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up mid-response is not the simulator's problem


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        sim = self.server.simulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        host = self.headers.get("Host") or sim.url.removeprefix("http://")
        request = Request(
            method=self.command,
            url=f"http://{host}{self.path}",
            path=split.path,
            query={k.lower(): v for k, v in parse_qs(split.query, keep_blank_values=True).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        decision, faults = sim.decide_fault(self.command)
        if faults.latency > 0:
            sim.sleep(faults.latency)
        if decision.kind is not None:
            sim.stats.count_fault(decision.kind)
        if decision.kind in ("429", "rate_limited"):
            sim.stats.count_request(sim.route_key(self.command, split.path))
            self._write(Response(429, None, {"Retry-After": str(faults.retry_after)}))
            return
        if decision.kind == "5xx":
            sim.stats.count_request(sim.route_key(self.command, split.path))
            message = "Internal server error" if decision.status == 500 else "Service unavailable"
            self._write(Response(decision.status, error_body(decision.status, message)))
            return
        if decision.kind == "drop":
            sim.stats.count_request(sim.route_key(self.command, split.path))
            self.close_connection = True  # no status line at all
            return
        if decision.kind == "malformed":
            sim.stats.count_request(sim.route_key(self.command, split.path))
            self._write_raw(200, _TRUNCATED, {"Content-Type": "application/json; charset=utf-8"})
            return
        if decision.kind == "slow":
            sim.sleep(faults.slow_seconds)
            if self.command != "GET":  # the client has given up; do not change state late
                sim.stats.count_request(sim.route_key(self.command, split.path))
                self._write(Response(504, error_body(504, "Gateway Timeout")))
                return
        route_key, response = sim.handle(request)
        sim.stats.count_request(route_key)
        self._write(response)

    def _write(self, response: Response) -> None:
        headers = dict(response.headers)
        payload = b""
        if response.body is not None and response.status != 304:
            payload = json.dumps(response.body, ensure_ascii=False).encode("utf-8")
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        self._write_raw(response.status, payload, headers)

    def _write_raw(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def serve_forever(server: SimulatorServer) -> None:
    """Block until Ctrl-C (the CLI's loop)."""
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
