"""`WebhookHub`: webhook configs, the delivery log and the sender, as DocSpace runs them.

The scenario owns one hub (`scenario.webhooks`, also `simulator.webhooks`). Every audit
event written through `Scenario.add_audit_event` whose action maps to a trigger is
published to the matching enabled configs (trigger mask, 0 = all; `targetId` exact
match). Each delivery is a log row whose id is `event.id`; it is POSTed signed with
`sha256=` + upper-case hex HMAC-SHA256 of the exact body, on a pool of up to 10 threads
(unordered), retried on any non-2xx or connection error up to `max_retries` times with
delays `retry_base * 2**n` (1, 2, 4, 8, 16 s by default), each retry re-serialised with
`webhook.retryCount`/`retryOn`/`lastFailure*` and re-signed. A final 410 deletes the
config (audit 6057); a final HTTP failure more than `trusted_days` after the last success
(or creation) disables it (audit 6056). See docs/docspace-webhooks.md sections 1.5-1.7.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import random
import ssl as ssl_module
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from local.simulator.webhook_payloads import (
    AUDIT_TRIGGERS,
    TRIGGERS,
    entity_for,
    serialize,
    short_utc,
    sparse,
    trigger_names,
)
from local.simulator.wire import format_plain_datetime, from_micros, to_micros

if TYPE_CHECKING:
    from local.simulator.scenario import Scenario

SIGNATURE_HEADER = "x-docspace-signature-256"
CONTENT_TYPE = "application/json; charset=utf-8"

#: (method, url, headers, body, timeout) -> (status, response text); raises OSError when
#: the connection fails. The default sends real HTTP without following redirects.
Transport = Callable[[str, str, dict[str, str], bytes, float], tuple[int, str]]


def sign(secret: str, body: bytes) -> str:
    """The `x-docspace-signature-256` value: `sha256=` + upper-case hex."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().upper()


def http_transport(
    method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
) -> tuple[int, str]:
    """One request, no redirects followed, TLS verification off (the `ssl: false` case)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        context = ssl_module._create_unverified_context()  # noqa: S323 - ssl false means this
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.netloc, timeout=timeout, context=context
        )
    else:
        conn = http.client.HTTPConnection(parts.netloc, timeout=timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=body if method != "HEAD" else None, headers=headers)
        response = conn.getresponse()
        text = response.read(64_000).decode("utf-8", "replace") if method != "HEAD" else ""
        return response.status, text
    finally:
        conn.close()


@dataclass
class WebhookConfig:
    id: int
    name: str
    uri: str
    secret: str
    enabled: bool
    ssl: bool
    triggers: int
    target_id: str | None
    created_by: str
    created_on: int  # epoch microseconds
    modified_by: str | None = None
    modified_on: int | None = None
    last_failure_on: int | None = None
    last_failure_content: str | None = None
    last_success_on: int | None = None


@dataclass
class WebhookLog:
    """One delivery (its id is `event.id`) and the outcome of its last attempt."""

    id: int
    config_id: int
    config_name: str
    trigger: str
    event: dict[str, Any]
    payload: dict[str, Any]
    created: int
    user_id: str
    request_payload: str = ""
    request_headers: dict[str, list[str]] = field(default_factory=dict)
    response_payload: str = ""
    status: int = 0  # 0 not sent; 500 for a failure without an HTTP status
    delivery: int | None = None


@dataclass(frozen=True)
class WebhookFaults:
    """Delivery faults: at-least-once and unordered delivery made visible in tests.

    duplicate: probability that a delivery is sent twice (same body, same event.id).
    shuffle: `deliver_pending` sends the queued deliveries in random order.
    drop_first: probability that the first attempt never reaches the receiver (a
        connection failure), so it arrives as automatic retry 1.
    lose_response: probability that the receiver's 2xx is lost after it processed the
        request, so the same event.id arrives again as a retry.
    """

    duplicate: float = 0.0
    shuffle: bool = False
    drop_first: float = 0.0
    lose_response: float = 0.0
    seed: int = 0


@dataclass
class Sent:
    """A request the sender made, as the sender saw it (for tests without a receiver)."""

    log_id: int
    attempt: int
    url: str
    headers: dict[str, str]
    body: bytes
    status: int  # 0 when the connection failed


class WebhookHub:
    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self.configs: dict[int, WebhookConfig] = {}
        self.logs: dict[int, WebhookLog] = {}
        self.sent: list[Sent] = []
        self._pending: list[int] = []
        self._in_flight = 0
        self._next_config = 1
        self._next_log = 1
        self._pool: ThreadPoolExecutor | None = None
        self._rng = random.Random(0)
        # --- knobs (DocSpace defaults) ---
        self.auto_deliver = True  # False: publish only queues; `deliver_pending` sends
        self.thread_count = 10
        self.max_retries = 5
        self.retry_base = 1.0  # seconds; tests set a few milliseconds
        self.send_timeout = 100.0
        self.probe_timeout = 10.0
        self.trusted_days = 3
        self.password_min_length = 8
        self.faults = WebhookFaults()
        self.transport: Transport = http_transport
        self.clock: Callable[[], datetime] = lambda: from_micros(scenario.clock())

    # --- configs (the settings endpoints call these under the scenario lock) -------------

    def add_config(self, **fields: Any) -> WebhookConfig:
        with self._lock:
            config = WebhookConfig(id=self._next_config, **fields)
            self._next_config += 1
            self.configs[config.id] = config
            return config

    def remove_config(self, config_id: int) -> WebhookConfig | None:
        with self._lock:
            return self.configs.pop(config_id, None)

    def last_status(self, config_id: int) -> int:
        with self._lock:
            sent = [x for x in self.logs.values() if x.config_id == config_id and x.delivery]
        return max(sent, key=lambda x: (x.delivery or 0, x.id)).status if sent else 0

    def probe(self, uri: str) -> bool:
        """The reachability check: HEAD, no signature, no redirects, 10 s timeout."""
        try:
            status, _ = self.transport("HEAD", uri, {"Accept": "*/*"}, b"", self.probe_timeout)
        except (OSError, http.client.HTTPException):
            return False
        return 200 <= status < 300

    # --- publishing -----------------------------------------------------------------------

    def on_audit(self, action: int, user_id: str, targets: tuple[str, ...], micros: int) -> None:
        """Called by `Scenario.add_audit_event` (scenario lock held)."""
        trigger = AUDIT_TRIGGERS.get(action)
        if trigger is None or not self.configs:
            return
        for target in targets:
            found = entity_for(self._scenario, trigger, target)
            if found is not None:
                self.publish(trigger, found[0], found[1], user_id, micros)

    def publish(
        self, trigger: str, payload: dict[str, Any], entity_id: Any, user_id: str, micros: int
    ) -> list[int]:
        """Queue one event for every matching enabled config; return the new log ids."""
        value = TRIGGERS[trigger]
        created = (micros // 1_000_000) * 1_000_000
        event = {"id": 0, "createOn": short_utc(from_micros(created)), "createBy": user_id,
                 "trigger": trigger, "triggerId": value}  # fmt: skip
        with self._lock:
            matching = [
                c for c in self.configs.values()
                if c.enabled and (c.triggers == 0 or c.triggers & value)
                and (not c.target_id or c.target_id == str(entity_id))
            ]  # fmt: skip
            ids = [self._new_log(c, event, payload, user_id) for c in matching]
        for log_id in ids:
            self._enqueue(log_id)
        return ids

    def retry(self, log_id: int) -> WebhookLog | None:
        """A manual retry: a new log row (new event.id), same createOn, trigger and payload."""
        with self._lock:
            old = self.logs.get(log_id)
            config = self.configs.get(old.config_id) if old else None
            if old is None or config is None:
                return None
            new_id = self._new_log(config, old.event, old.payload, old.user_id)
            new = self.logs[new_id]
        self._enqueue(new_id)
        return new

    def _new_log(
        self, config: WebhookConfig, event: dict[str, Any], payload: dict[str, Any], user: str
    ) -> int:
        log_id = self._next_log
        self._next_log += 1
        self.logs[log_id] = WebhookLog(
            log_id, config.id, config.name, event["trigger"], {**event, "id": log_id}, payload,
            to_micros(self.clock()), user,
        )  # fmt: skip
        return log_id

    # --- delivery -------------------------------------------------------------------------

    def _enqueue(self, log_id: int) -> None:
        with self._lock:
            self._pending.append(log_id)
        if self.auto_deliver:
            self.deliver_pending()

    def deliver_pending(self) -> int:
        """Send every queued delivery (shuffled under `faults.shuffle`); return how many."""
        with self._lock:
            batch, self._pending = self._pending, []
            if self.faults.shuffle:
                self._rng.shuffle(batch)
            jobs: list[int] = []
            for log_id in batch:
                jobs.append(log_id)
                if self._rng.random() < self.faults.duplicate:
                    jobs.append(log_id)
            self._in_flight += len(jobs)
            if self._pool is None:
                self._stopping.clear()
                self._pool = ThreadPoolExecutor(self.thread_count, "docspace-webhooks")
            pool = self._pool
        for log_id in jobs:
            pool.submit(self._deliver, log_id)
        return len(batch)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is in flight (retries included); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def close(self) -> None:
        """Stop the sender (retries waiting are abandoned); the hub can start again."""
        self._stopping.set()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        with self._idle:
            self._in_flight = 0
            self._idle.notify_all()

    def _deliver(self, log_id: int) -> None:
        try:
            self._attempts(log_id)
        finally:
            with self._idle:
                self._in_flight = max(0, self._in_flight - 1)
                self._idle.notify_all()

    def _attempts(self, log_id: int) -> None:
        retry: dict[str, Any] = {}
        status = 0
        for attempt in range(self.max_retries + 1):
            if self._stopping.is_set():
                return
            with self._lock:
                log = self.logs.get(log_id)
                config = self.configs.get(log.config_id) if log else None
                if log is None or config is None:
                    return
                body, headers = self._request(config, log, retry)
                url, ssl_required = config.uri, config.ssl
            status, text, error = self._send(url, headers, body, attempt, log_id, ssl_required)
            now = to_micros(self.clock())
            with self._lock:
                log.request_payload = body.decode("utf-8")
                log.request_headers = {k: [v] for k, v in headers.items()}
                log.response_payload = text
                log.status = status or 500
                log.delivery = now
                if error is None:
                    config.last_success_on = now
                    return
                config.last_failure_on, config.last_failure_content = now, error
                last_success = config.last_success_on
            if attempt < self.max_retries:
                retry = {"retryCount": attempt + 1, "retryOn": None, "lastFailureOn": now,
                         "lastFailureContent": error, "lastSuccessOn": last_success}  # fmt: skip
                self._stopping.wait(self.retry_base * 2**attempt)
                retry["retryOn"] = to_micros(self.clock())
        self._after_failure(log_id, status)

    def _request(
        self, config: WebhookConfig, log: WebhookLog, retry: dict[str, Any]
    ) -> tuple[bytes, dict[str, str]]:
        webhook: dict[str, Any] = {
            "id": config.id, "name": config.name, "url": config.uri,
            "triggers": trigger_names(config.triggers),
        }  # fmt: skip
        if config.target_id:
            entity_id: Any = log.payload.get("id", config.target_id)
            webhook["target"] = {"id": entity_id, "type": log.trigger.split(".", 1)[0]}
        if retry:
            webhook["retryCount"] = retry["retryCount"]
            webhook["retryOn"] = format_plain_datetime(retry["retryOn"] or 0)
            webhook["lastFailureOn"] = format_plain_datetime(retry["lastFailureOn"])
            webhook["lastFailureContent"] = retry["lastFailureContent"]
            if retry["lastSuccessOn"]:  # a plain DB value: no `Z`
                webhook["lastSuccessOn"] = format_plain_datetime(retry["lastSuccessOn"])[:-1]
        body = serialize(sparse({"event": log.event, "payload": log.payload, "webhook": webhook}))
        headers = {"Accept": "*/*", SIGNATURE_HEADER: sign(config.secret, body),
                   "Content-Type": CONTENT_TYPE}  # fmt: skip
        return body, headers

    def _send(
        self, url: str, headers: dict[str, str], body: bytes, attempt: int, log_id: int, _ssl: bool
    ) -> tuple[int, str, str | None]:
        """(status, response text, failure message or None on success)."""
        faults = self.faults
        with self._lock:
            drop = attempt == 0 and self._rng.random() < faults.drop_first
            lose = self._rng.random() < faults.lose_response
        if drop:
            self._record(log_id, attempt, url, headers, body, 0)
            return 0, "", "An error occurred while sending the request. (simulated drop)"
        try:
            status, text = self.transport("POST", url, headers, body, self.send_timeout)
        except (OSError, http.client.HTTPException) as exc:
            self._record(log_id, attempt, url, headers, body, 0)
            return 0, "", f"An error occurred while sending the request. ({exc})"
        self._record(log_id, attempt, url, headers, body, status)
        if 200 <= status < 300 and not lose:
            return status, text, None
        reason = http.client.responses.get(status, "")
        return status, text, f"Response status code does not indicate success: {status} ({reason})."

    def _record(self, log_id: int, attempt: int, url: str, headers: dict[str, str],
                body: bytes, status: int) -> None:  # fmt: skip
        with self._lock:
            self.sent.append(Sent(log_id, attempt, url, dict(headers), body, status))

    def _after_failure(self, log_id: int, status: int) -> None:
        s = self._scenario
        with s.lock, self._lock:
            log = self.logs.get(log_id)
            config = self.configs.get(log.config_id) if log else None
            if config is None:
                return
            if status == 410:
                del self.configs[config.id]
                audit = (6057, f"{config.name} (HTTP status 410)", config)
            elif status:
                since = config.last_success_on or config.created_on
                limit = timedelta(days=self.trusted_days)
                if not config.enabled or self.clock() - from_micros(since) <= limit:
                    return
                config.enabled = False
                days = self.trusted_days
                audit = (6056, f"{config.name} (more than {days} days without success)", config)
            else:
                return  # timeouts and connection errors never disable
        code, text, hooked = audit
        s.add_audit_event(code, user_id=hooked.created_by, target=[hooked.id], parts=[text])

    # --- for tests: requests seen by the sender --------------------------------------------

    def sent_to(self, url_prefix: str = "") -> list[Sent]:
        with self._lock:
            return [x for x in self.sent if x.url.startswith(url_prefix)]
