"""One small exception hierarchy for the whole project.

Every error names what failed and, where there is one, what to do about it. Low-level failures
(``requests`` exceptions, broken JSON) are wrapped here at the client's edge, so callers only ever
catch these classes.
"""

from __future__ import annotations

from typing import Any

from ..runtime.errors import SentinelError
from .secret import redact


class MalformedRecord(SentinelError, ValueError):
    """A wire record (an event, a user …) lacks a field we need or has the wrong type.

    Scans count and skip these; they never end a run.
    """

    def __init__(self, kind: str, problem: str, record_id: Any = None) -> None:
        self.kind = kind
        self.record_id = record_id
        # Rows come from the portal: a 1 MB "date" must not become a 1 MB log line.
        where = f" {kind} {redact(repr(record_id), 80)}" if record_id is not None else f" {kind}"
        super().__init__(f"malformed{where}: {redact(problem)}")


class DocSpaceError(SentinelError):
    """The DocSpace API answered with an error, or could not be reached.

    ``message`` often quotes the portal (an error body, a header), so it is redacted and cut
    here, once, for every subclass: it goes on to logs, CLI output and findings."""

    #: Whether retrying the same request may succeed.
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        message = redact(message)
        self.message = message
        self.status_code = status_code
        self.method = method
        self.path = path
        where = f"{method} {path}: " if method and path else ""
        code = f"HTTP {status_code}: " if status_code else ""
        super().__init__(f"{where}{code}{message}")


_MAX_FIELDS = 20
_MAX_FIELD_MESSAGES = 5


class BadRequest(DocSpaceError):
    """400: an ``ArgumentException`` or a model-validation error (``errors`` holds the fields)."""

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None, **kw: Any):
        # Field names and messages are the portal's words: bounded and redacted like the message.
        self.errors = {
            redact(name, 80): [redact(text, 200) for text in texts[:_MAX_FIELD_MESSAGES]]
            for name, texts in list((errors or {}).items())[:_MAX_FIELDS]
        }
        super().__init__(message, **kw)


class AuthError(DocSpaceError):
    """401: the API key was rejected (the server sends an empty body)."""


class PaymentRequired(DocSpaceError):
    """402: the portal's plan lacks an option (audit trail, seats …)."""


class Forbidden(DocSpaceError):
    """403: the key's user may not do this ("Access denied"), or the key lacks a scope."""


class IpBlocked(Forbidden):
    """403 with the bare string "The access to the portal is restricted": our own IP is blocked."""


class NotFound(DocSpaceError):
    """404: the user, room, file or folder does not exist (or no longer does)."""


class RateLimited(DocSpaceError):
    """429: the portal's rate limiter refused the request."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ServerError(DocSpaceError):
    """5xx from the portal."""

    retryable = True


class TransportError(DocSpaceError):
    """The request did not complete: connection refused or dropped, or a timeout."""

    retryable = True


class Redirected(DocSpaceError):
    """3xx: the portal (or something in front of it) redirected the request.

    Redirects are never followed: the other origin's answer would be trusted as the portal's
    (an unauthenticated ``people/@self`` claiming ``isOwner``). ``location`` is the redacted
    ``Location`` header, cut short, or ``None``."""

    def __init__(self, message: str, *, location: str | None = None, **kw: Any) -> None:
        self.location = location
        super().__init__(message, **kw)


class MalformedResponse(DocSpaceError):
    """A success status with a body that is not the JSON envelope we expect."""

    retryable = True


class ResponseTooLarge(MalformedResponse):
    """The body passed ``MAX_RESPONSE_BYTES``; the same request would get the same answer."""

    retryable = False


class AuditUnavailable(DocSpaceError):
    """The portal ignored the audit filters and sent its 20 newest events instead.

    DocSpace does this silently when the tariff lacks the Audit option or the LoginHistory
    section is hidden. Returning those rows as if they matched would be wrong data.
    """
