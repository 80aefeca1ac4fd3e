"""HTTP to DocSpace: authentication, retries, and the response envelope.

Every DocSpace answer is mapped here, once, to either an ``Envelope`` or a typed
``DocSpaceError``. The shapes (docs/docspace-api.md, 1.3):

* success: ``{"response": …, "count": n, ["total": m,] "links": […], "status": 0, …}``;
* exceptions: ``{"error": {"message": …}, "status": 1, "statusCode": n}``;
* model validation: HTTP 400 with a *success-shaped* envelope and ``status: 1``;
* ``status: 1`` is an error even under HTTP 200;
* 401 and 429 have empty bodies; an IP-restriction block is 403 with a bare string;
* a 3xx is never followed (``Redirected``): another origin's answer is not the portal's.

Error messages quote the portal only redacted and cut short (``secret.redact``, applied by
``DocSpaceError``); decoded JSON never holds a lone UTF-16 surrogate (``_decode``).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import re
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
    Redirected,
    ServerError,
    TransportError,
)
from .ratelimit import RateLimiter
from .secret import Secret, redact
from .settings import ClientSettings, RetryPolicy

log = logging.getLogger(__name__)

IP_BLOCKED_TEXT = "The access to the portal is restricted"
USER_AGENT = "docspace-sentinel/0.1"
#: The largest response body accepted, decoded. A page of 100 rows is well under 1 MiB; the
#: JSON of a body this size may take some 200 MB in memory (a 256 MB function).
MAX_RESPONSE_BYTES = 8 * 2**20
_READ_CHUNK = 2**20
# Methods safe to repeat after an unknown outcome (a timeout, a 5xx, a dropped connection).
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})


@dataclass(frozen=True, slots=True)
class Envelope:
    response: Any
    count: int | None
    total: int | None


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
        content = _read_body(response, method, path)
        return classify(response.status_code, content, response.headers, method, path)


class ResponseTooLarge(MalformedResponse):
    """The body passed ``MAX_RESPONSE_BYTES``; the same request would get the same answer."""

    retryable = False


def _read_body(response: requests.Response, method: str, path: str) -> bytes:
    """The body, decoded (gzip, deflate), refused past ``MAX_RESPONSE_BYTES``: a few hundred KB
    on the wire may inflate to gigabytes. Read in chunks, so at most one chunk past the cap is
    held. The connection goes back to the pool when the body was read whole, else it is closed."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(_READ_CHUNK):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise ResponseTooLarge(
                    f"the response is larger than {MAX_RESPONSE_BYTES} bytes; refused",
                    status_code=response.status_code,
                    method=method,
                    path=path,
                )
            chunks.append(chunk)
    except requests.exceptions.ContentDecodingError:
        raise MalformedResponse(
            "the response body could not be decoded (Content-Encoding)",
            status_code=response.status_code,
            method=method,
            path=path,
        ) from None
    except requests.Timeout as exc:
        raise TransportError(f"timed out: {type(exc).__name__}", method=method, path=path) from None
    except requests.RequestException as exc:
        raise TransportError(
            f"reading the response failed: {type(exc).__name__}", method=method, path=path
        ) from None
    finally:
        response.close()
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


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
    if 300 <= status < 400:
        location = headers.get("Location")
        shown = redact(location, 200) if location else None
        raise Redirected(
            f"the portal redirected to {shown!r}; redirects are not followed (check "
            "DOCSPACE_URL: scheme, host and path of the portal root)"
            if shown
            else f"the portal answered {status} without a Location; redirects are not followed",
            location=shown,
            status_code=status,
            **where,
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
            # No "Bearer <word>" here: redaction would hide the word after it.
            "the portal rejected the API key; check the key in DOCSPACE_API_KEY_SECRET "
            "(an API key, sk-…, sent with the scheme 'Bearer')",
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


# A JSON escape of a UTF-16 surrogate (backslash-u D800 to DFFF, either case), or one encoded as
# UTF-8 bytes (ED A0-BF ..), which ``json.loads`` lets through as well ("surrogatepass").
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE_BYTES = re.compile(rb"\xed[\xa0-\xbf]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _decode(content: bytes) -> Any:
    if not content:
        return ""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return content.decode("utf-8", "replace")
    if _may_hold_surrogates(content):
        body = _replace_lone_surrogates(body)
    return body


def _may_hold_surrogates(content: bytes) -> bool:
    """Cheap screen over the raw bytes (pages are benchmarked): a byte search for a backslash
    or the byte ED first, the regexes only when one is there."""
    if b"\\" in content and _SURROGATE_ESCAPE.search(content) is not None:
        return True
    if b"\xed" in content and _SURROGATE_BYTES.search(content) is not None:
        return True
    # UTF-16 and UTF-32 JSON (json.loads detects them by their NUL bytes or BOM): not screened.
    return b"\x00" in content[:4] or content[:2] in (b"\xff\xfe", b"\xfe\xff")


def _replace_lone_surrogates(body: Any) -> Any:
    """Replace every unpaired surrogate in the decoded strings (keys too) with U+FFFD.

    ``json.loads`` joins a valid pair (``\\ud83d\\ude00``) into one astral character, so any
    surrogate left in a string is a lone one, which no UTF-8 encoder (boto3, SNS, e-mail)
    accepts. Walks with a stack, not recursion: the parser allows deeper nesting than a
    recursive walk from here would. The decoded structure is fresh, so it is fixed in place."""

    def fixed(text: str) -> str:
        return _LONE_SURROGATE.sub("\ufffd", text) if _LONE_SURROGATE.search(text) else text

    if isinstance(body, str):
        return fixed(body)
    stack: list[Any] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = fixed(item)
                elif isinstance(item, list | dict):
                    stack.append(item)
        elif isinstance(node, dict):
            if any(_LONE_SURROGATE.search(key) for key in node):
                items = [(fixed(key), value) for key, value in node.items()]
                node.clear()
                node.update(items)
            for key, item in node.items():
                if isinstance(item, str):
                    node[key] = fixed(item)
                elif isinstance(item, list | dict):
                    stack.append(item)
    return body


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
        # The portal's words: a few fields and messages are plenty (BadRequest cuts them too).
        fields = {
            str(k): [str(m) for m in v[:_MAX_MESSAGES]] if isinstance(v, list) else [str(v)]
            for k, v in itertools.islice(response["errors"].items(), _MAX_FIELDS)
        }
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
        title = response.get("title") or "validation failed"
        return BadRequest(f"{title} {detail}".strip(), errors=fields, status_code=code, **where)
    else:
        message = "the portal reported an error (status 1)"
    return _error_for(code, message, where)


_MAX_FIELDS = 20
_MAX_MESSAGES = 5

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
