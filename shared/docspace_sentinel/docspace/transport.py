"""HTTP to DocSpace: authentication and the send/retry loop.

``Transport.request`` sends one call with bounded, jittered retries (idempotent methods, or a
request that never reached the server), renews a rotated API key once after a 401, and never
follows a redirect. What an answer means is ``envelope.classify``'s to say; reading and
decoding the body is ``response_body``'s.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

# Envelope is what ``request`` returns: exported with it.
from .envelope import Envelope as Envelope
from .envelope import classify
from .errors import AuthError, DocSpaceError, RateLimited, TransportError
from .ratelimit import RateLimiter
from .response_body import read_body
from .secret import Secret, redact
from .settings import ClientSettings, RetryPolicy

log = logging.getLogger(__name__)

USER_AGENT = "docspace-sentinel/0.1"
# Methods safe to repeat after an unknown outcome (a timeout, a 5xx, a dropped connection).
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})


class _BearerAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer <key>`` at send time, so no header dict holds the key.

    ``key`` is replaced (one attribute store, so threads see the old or the new key) when a
    401 made the transport read a rotated key."""

    def __init__(self, key: Secret) -> None:
        self.key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.key.reveal()}"
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
        self._auth = _BearerAuth(settings.api_key)
        self.session.auth = self._auth
        self._reload_key = settings.reload_api_key
        self._key_lock = threading.Lock()
        self._key_reloaded = False
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
        #: 429 answers received (each one paused the limiter or was retried), for the metric.
        self.rate_limited = 0
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
        reloaded = False
        while True:
            attempt += 1
            sent_key = self._auth.key
            try:
                return self._attempt(method, url, path, params, body)
            except AuthError:
                # The key may have been rotated since it was read (and cached): read it once
                # more and send this request once more with it. A 401 is refused before the
                # controller runs, so even a POST is safe to resend.
                if reloaded or not self._renew_key(sent_key):
                    raise
                reloaded = True
                attempt -= 1  # the resend is not one of the attempts the retry policy counts
            except DocSpaceError as error:
                if isinstance(error, RateLimited):
                    with self._count_lock:
                        self.rate_limited += 1
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

    def _renew_key(self, sent: Secret) -> bool:
        """After a 401 for ``sent``: whether a different key is now in use (read here, at most
        once per transport, or by another thread meanwhile), so the request is worth resending."""
        if self._reload_key is None:
            return False
        with self._key_lock:
            if self._auth.key is not sent:
                return True  # another thread read the new key already
            if self._key_reloaded:
                return False
            self._key_reloaded = True
            try:
                fresh = self._reload_key()
            except Exception as exc:  # noqa: BLE001 - the 401 is the error to report
                log.warning("could not read the API key again after a 401: %s", redact(str(exc)))
                return False
            if fresh.reveal() == sent.reveal():
                return False  # the secret still holds the rejected key
            log.warning("the portal rejected the API key; using the key read again from its secret")
            self._auth.key = fresh
            return True

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
            # Redirects are not followed: the portal never redirects an API call, and another
            # origin's (unauthenticated) answer would be taken for the portal's.
            response = self.session.request(
                method,
                url,
                params=params,
                json=body,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
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
        content = read_body(response, method, path)
        return classify(response.status_code, content, response.headers, method, path)


class _NotSent(TransportError):
    """The request never reached the server, so even a POST may be sent again."""


def _safe_to_resend(error: DocSpaceError) -> bool:
    # A 429 is refused before the controller runs; a connect failure never arrived.
    return isinstance(error, RateLimited | _NotSent)


def _refused(exc: requests.ConnectionError) -> bool:
    text = repr(exc.args[0]) if exc.args else ""
    return "NewConnectionError" in text or "Connection refused" in text
