"""The response envelope: one HTTP answer mapped to an ``Envelope`` or a typed ``DocSpaceError``.

The shapes (docs/docspace-api.md, 1.3):

* success: ``{"response": …, "count": n, ["total": m,] "links": […], "status": 0, …}``;
* exceptions: ``{"error": {"message": …}, "status": 1, "statusCode": n}``;
* model validation: HTTP 400 with a *success-shaped* envelope and ``status: 1``;
* ``status: 1`` is an error even under HTTP 200;
* 401 and 429 have empty bodies; an IP-restriction block is 403 with a bare string;
* a 3xx is never followed (``Redirected``): another origin's answer is not the portal's.

Error messages quote the portal only redacted and cut short (``secret.redact``, applied by
``DocSpaceError``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
)
from .response_body import decode_json
from .secret import redact

IP_BLOCKED_TEXT = "The access to the portal is restricted"


@dataclass(frozen=True, slots=True)
class Envelope:
    response: Any
    count: int | None
    total: int | None


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
    body = decode_json(content)
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
