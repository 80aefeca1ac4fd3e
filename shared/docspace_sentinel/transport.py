"""HTTP to DocSpace: authentication, retries, and the response envelope.

Every DocSpace answer is mapped here, once, to either an ``Envelope`` or a typed
``DocSpaceError``. The shapes (docs/docspace-api.md, 1.3):

* success: ``{"response": …, "count": n, ["total": m,] "links": […], "status": 0, …}``;
* exceptions: ``{"error": {"message": …}, "status": 1, "statusCode": n}``;
* model validation: HTTP 400 with a *success-shaped* envelope and ``status: 1``;
* ``status: 1`` is an error even under HTTP 200;
* 401 and 429 have empty bodies; an IP-restriction block is 403 with a bare string.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .dates import parse_retry_after
from .errors import (
    AuthError,
    BadRequest,
    DocSpaceError,
    Forbidden,
    IpBlocked,
    MalformedResponse,
    NotFound,
    PaymentRequired,
    RateLimited,
    ServerError,
    TransportError,
)
from .ratelimit import RateLimiter
from .secret import Secret
from .settings import ClientSettings, RetryPolicy

log = logging.getLogger(__name__)

IP_BLOCKED_TEXT = "The access to the portal is restricted"
USER_AGENT = "docspace-sentinel/0.1"
# Methods safe to repeat after an unknown outcome (a timeout, a 5xx, a dropped connection).
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})


@dataclass(frozen=True, slots=True)
class Envelope:
    response: Any
    count: int | None
    total: int | None


class _BearerAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer <key>`` at send time, so no header dict holds the key."""

    def __init__(self, key: Secret) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


class Transport:
    """Sends requests with bounded, jittered retries and maps answers to envelopes or errors.

    ``sleep``, ``clock`` and ``rng`` are injectable so tests never wait. ``remaining_time``
    (seconds left, e.g. from a Lambda context) stops a retry that would outlive the invocation.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        remaining_time: Callable[[], float] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.base_url = settings.url
        self.timeout = settings.timeout
        self.retry: RetryPolicy = settings.retry
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self.remaining_time = remaining_time
        self.session = session or requests.Session()
        self.session.auth = _BearerAuth(settings.api_key)
        self.session.headers["Accept"] = "application/json"
        self.session.headers["User-Agent"] = USER_AGENT
        # requests re-reads proxy settings from the environment on every request (a tenth of a
        # scan's CPU): read them once here instead, with the CA bundle. Verification is never
        # turned off; a private CA goes in REQUESTS_CA_BUNDLE.
        self.session.trust_env = False
        self.session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self.session.verify = bundle or True
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        if limiter is None and settings.requests_per_second > 0:
            limiter = RateLimiter(settings.requests_per_second, sleep=sleep)
        self.limiter = limiter
        #: Requests sent (each attempt counts), for the "API calls" metric and benchmarks.
        self.requests_sent = 0
        self.retries = 0
        self._count_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Transport({self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        body: Any = None,
    ) -> Envelope:
        """Send ``method /api/2.0/<path>``; retry what is retryable; return the envelope."""
        method = method.upper()
        url = f"{self.base_url}/api/2.0/{path.lstrip('/')}"
        started = self._clock()
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(method, url, path, params, body)
            except DocSpaceError as error:
                # With an injected sleep the clock does not move: count the waits as well.
                spent = max(self._clock() - started, waited)
                delay = self._retry_delay(method, error, attempt, spent)
                if delay is None:
                    raise
                log.warning(
                    "DocSpace %s %s failed (%s); retry %d in %.2fs",
                    method,
                    path,
                    type(error).__name__,
                    attempt,
                    delay,
                )
                with self._count_lock:
                    self.retries += 1
                if isinstance(error, RateLimited) and self.limiter is not None:
                    self.limiter.back_off(delay)
                    delay = 0.0  # the limiter now holds every thread back, this one included
                waited += delay
                self._sleep(delay)

    def _retry_delay(
        self, method: str, error: DocSpaceError, attempt: int, spent: float
    ) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up now."""
        if not error.retryable or attempt >= self.retry.max_attempts:
            return None
        if method not in _IDEMPOTENT and not _safe_to_resend(error):
            return None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            if error.retry_after > self.retry.max_retry_after:
                return None
            delay = error.retry_after + self._rng.uniform(0, 0.1 * error.retry_after)
        else:
            ceiling = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
            delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if spent + delay > self.retry.total_budget:
            return None
        # Leave room for the next attempt itself, so the invocation never dies mid-sleep.
        if self.remaining_time is not None and self.remaining_time() < delay + self.timeout + 1:
            return None
        return delay

    def _attempt(
        self,
        method: str,
        url: str,
        path: str,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None,
        body: Any,
    ) -> Envelope:
        if self.limiter is not None:
            self.limiter.acquire()
        with self._count_lock:
            self.requests_sent += 1
        log.debug("DocSpace %s %s", method, path)
        try:
            response = self.session.request(
                method, url, params=params, json=body, timeout=self.timeout
            )
        except requests.ConnectTimeout as exc:
            raise _NotSent(
                f"connect timeout: {type(exc).__name__}", method=method, path=path
            ) from None
        except requests.Timeout as exc:
            raise TransportError(
                f"timed out: {type(exc).__name__}", method=method, path=path
            ) from None
        except requests.ConnectionError as exc:
            if _refused(exc):
                raise _NotSent("connection refused", method=method, path=path) from None
            raise TransportError(
                f"connection failed: {type(exc).__name__}", method=method, path=path
            ) from None
        except requests.RequestException as exc:
            raise TransportError(
                f"request failed: {type(exc).__name__}", method=method, path=path
            ) from None
        return classify(response.status_code, response.content, response.headers, method, path)


class _NotSent(TransportError):
    """The request never reached the server, so even a POST may be sent again."""


def _safe_to_resend(error: DocSpaceError) -> bool:
    # A 429 is refused before the controller runs; a connect failure never arrived.
    return isinstance(error, RateLimited | _NotSent)


def _refused(exc: requests.ConnectionError) -> bool:
    text = repr(exc.args[0]) if exc.args else ""
    return "NewConnectionError" in text or "Connection refused" in text


def classify(
    status: int, content: bytes, headers: Mapping[str, str], method: str, path: str
) -> Envelope:
    """Map one HTTP answer to an ``Envelope`` or raise the matching ``DocSpaceError``."""
    where = {"method": method, "path": path}
    if status == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        raise RateLimited(
            "rate limited by the portal", retry_after=retry_after, status_code=429, **where
        )
    body = _decode(content)
    if 200 <= status < 300:
        if not isinstance(body, dict):
            raise MalformedResponse(
                "success response is not a JSON envelope", status_code=status, **where
            )
        if body.get("status") == 1 or "error" in body:
            raise _error_from_envelope(body, status, where)
        if "response" not in body and "status" not in body:
            raise MalformedResponse("success response has no envelope", status_code=status, **where)
        return Envelope(
            body.get("response"), _as_int(body.get("count")), _as_int(body.get("total"))
        )
    if isinstance(body, dict) and (body.get("status") == 1 or "error" in body):
        raise _error_from_envelope(body, status, where)
    text = body.strip() if isinstance(body, str) else ""
    if status == 401:
        raise AuthError(
            "the portal rejected the API key; check the key in DOCSPACE_API_KEY_SECRET "
            "and that it is sent as 'Bearer sk-…'",
            status_code=401,
            **where,
        )
    if status == 403:
        if IP_BLOCKED_TEXT.lower() in text.lower():
            raise IpBlocked(
                "the portal's IP restrictions block this caller's address", status_code=403, **where
            )
        raise Forbidden(
            text or "forbidden: the API key lacks the scope for this call", status_code=403, **where
        )
    raise _error_for(status, text or f"HTTP {status}", where)


def _decode(content: bytes) -> Any:
    if not content:
        return ""
    try:
        return json.loads(content)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return content.decode("utf-8", "replace")


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _error_from_envelope(
    body: dict[str, Any], http_status: int, where: dict[str, str]
) -> DocSpaceError:
    code = _as_int(body.get("statusCode")) or (http_status if http_status >= 400 else 400)
    error = body.get("error")
    response = body.get("response")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        message = error["message"]
    elif isinstance(response, dict) and isinstance(response.get("errors"), dict):
        # Model validation (count=500, action=0, a zone-less date …) inside a success envelope.
        fields = {
            str(k): [str(m) for m in v] if isinstance(v, list) else [str(v)]
            for k, v in response["errors"].items()
        }
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
        title = response.get("title") or "validation failed"
        return BadRequest(f"{title} {detail}".strip(), errors=fields, status_code=code, **where)
    else:
        message = "the portal reported an error (status 1)"
    return _error_for(code, message, where)


_ERRORS_BY_STATUS: dict[int, type[DocSpaceError]] = {
    400: BadRequest,
    401: AuthError,
    402: PaymentRequired,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
    500: ServerError,
    502: ServerError,
    503: ServerError,
    504: ServerError,
}


def _error_for(status: int, message: str, where: dict[str, str]) -> DocSpaceError:
    cls = _ERRORS_BY_STATUS.get(status, DocSpaceError)
    return cls(message, status_code=status, **where)
