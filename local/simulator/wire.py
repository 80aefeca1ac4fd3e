"""The DocSpace wire format: envelopes, error bodies, dates and query-value binding.

Everything here mirrors ASP.NET Core behaviour as the contract describes it
(shared/docs/docspace-api.md, sections 1 and 2.6). Handlers raise `ApiError` or
`ValidationError`; the server turns them into bodies with `error_body` and
`validation_envelope`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

JsonDict = dict[str, Any]

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
GUEST_ID = "712d9ec3-5d2b-4b13-824f-71f00191dcca"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ApiError(Exception):
    """An exception the server maps to `{"error": {...}, "status": 1, "statusCode": N}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def access_denied() -> ApiError:
    # SecurityException always surfaces as this literal text, whatever the cause.
    return ApiError(403, "Access denied")


class ValidationError(Exception):
    """A model-binding error: 400 inside the success-shaped envelope (section 1.3)."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


def invalid_value(name: str, raw: str) -> ValidationError:
    """ASP.NET's wording when a query value cannot be bound to its type."""
    return ValidationError({name: [f"The value '{raw}' is not valid for {_display(name)}."]})


def _display(name: str) -> str:
    return name[:1].upper() + name[1:]


# --- envelopes -------------------------------------------------------------------------


def drop_nulls(value: Any) -> Any:
    """`DefaultIgnoreCondition = WhenWritingNull` at every nesting level."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def envelope(
    url: str,
    method: str,
    response: Any,
    *,
    count: int | None = None,
    total: int | None = None,
    status_code: int = 200,
) -> JsonDict:
    """The success envelope; `count` defaults the way `SuccessApiResponse` computes it."""
    if count is None:
        if response is None:
            count = 0
        elif isinstance(response, list):
            count = len(response)
        else:
            count = 1
    body: JsonDict = {
        "response": drop_nulls(response),
        "count": count,
        "total": total,
        "links": [{"href": url, "action": method}],
        "status": 0 if status_code < 400 else 1,
        "statusCode": status_code,
    }
    return {k: v for k, v in body.items() if v is not None}


def validation_envelope(url: str, method: str, errors: Mapping[str, list[str]]) -> JsonDict:
    problem = {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": dict(errors),
        "traceId": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00",
    }
    return envelope(url, method, problem, count=1, status_code=400)


def error_body(status: int, message: str) -> JsonDict:
    # Written with the Http JSON options: nulls are kept here, unlike the envelope.
    return {
        "error": {"message": message, "type": None, "stack": None, "hresult": 0},
        "status": 1,
        "statusCode": status,
    }


# --- dates -----------------------------------------------------------------------------

_OFFSET_RE = re.compile(r"^(Z|[+-](\d{2}):(\d{2}))$")


def parse_offset(text: str) -> int:
    """'+03:00' -> 180 minutes; 'Z' or '+00:00' -> 0."""
    match = _OFFSET_RE.match(text)
    if not match:
        raise ValueError(f"tenant offset must look like +03:00, -05:30 or Z, not {text!r}")
    if match.group(1) == "Z":
        return 0
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    if minutes > 14 * 60:
        raise ValueError(f"tenant offset out of range: {text!r}")
    return -minutes if text.startswith("-") else minutes


def format_api_datetime(micros: int, offset_minutes: int) -> str:
    """`ApiDateTime.ToString()`: tenant-local wall clock, 7 fraction digits, Z or ±hh:mm."""
    local = _EPOCH + timedelta(microseconds=micros + offset_minutes * 60_000_000)
    stamp = local.strftime("%Y-%m-%dT%H:%M:%S") + f".{local.microsecond:06d}0"
    if offset_minutes == 0:
        return stamp + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{stamp}{sign}{hours:02d}:{minutes:02d}"


def format_plain_datetime(micros: int) -> str:
    """A plain UTC `DateTime` as System.Text.Json writes it: trailing fraction zeros trimmed."""
    moment = _EPOCH + timedelta(microseconds=micros)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}0".rstrip("0")
    return f"{stamp}.{fraction}Z" if fraction else f"{stamp}Z"


# The exact formats of `ApiDateTime.Parse` (section 2.6): time separators ':' or '-', a
# fraction of exactly 7 or 3 digits or none, and a zone. `yyyy-MM-dd` and any zone-less
# value need the tenant's zone, which the converter does not have: that is a 400 too.
_API_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})([:-])(\d{2})\5(\d{2})"
    r"(?:\.(\d{7}|\d{3}))?"
    r"(Z|[+-]\d{2}:\d{2})$"
)


def parse_api_datetime(text: str) -> int | None:
    """Epoch microseconds, or None when .NET would not bind the value."""
    match = _API_DATETIME_RE.match(text)
    if not match:
        return None
    year, month, day, hour, _, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
        offset = parse_offset(zone)
    except ValueError:
        return None
    ticks = int((fraction or "0").ljust(7, "0"))  # 100 ns ticks
    micros = (moment - _EPOCH) // timedelta(microseconds=1) + ticks // 10
    return micros - offset * 60_000_000


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


# --- query binding -----------------------------------------------------------------------

_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")


def bind_int(name: str, raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not _INT_RE.match(raw):
        raise invalid_value(name, raw)
    value = int(raw)
    if not -(2**31) <= value < 2**31:
        raise invalid_value(name, raw)
    return value


def bind_count(raw: str | None, default: int = 100) -> int:
    """`[Range(1, 100)] int Count`; outside the range is a 400, never a clamp."""
    value = bind_int("count", raw, default)
    if not 1 <= value <= 100:
        raise ValidationError({"count": ["The field Count must be between 1 and 100."]})
    return value


def bind_bool(name: str, raw: str | None) -> bool | None:
    if raw is None or raw == "":
        return None
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise invalid_value(name, raw)


def bind_guid(name: str, raw: str | None) -> str | None:
    """A GUID, normalised to lower case; the empty GUID means "no filter"."""
    if raw is None or raw == "":
        return None
    try:
        value = str(uuid.UUID(raw.strip()))
    except ValueError:
        raise invalid_value(name, raw) from None
    return None if value == EMPTY_GUID else value


def bind_enum(name: str, raw: str | None, members: Mapping[str, int]) -> int | None:
    """`EnumTypeModelBinder`: a defined number or a case-insensitive name, else a 400."""
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if _INT_RE.match(text):
        value = int(text)
        if value in members.values():
            return value
        raise invalid_value(name, raw)
    for member, value in members.items():
        if member.lower() == text.lower():
            return value
    raise invalid_value(name, raw)


def bind_api_datetime(name: str, raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    value = parse_api_datetime(raw)
    if value is None:
        raise invalid_value(name, raw)
    return value


def html_encode(text: str) -> str:
    """`HttpUtility.HtmlEncode`: note `'` becomes `&#39;`, not Python's `&#x27;`."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )
