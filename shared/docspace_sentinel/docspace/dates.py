"""Dates on the DocSpace wire.

The server writes every date as a string in the tenant's local time with its offset
(``2025-03-04T12:15:42.0000000+03:00``; ``Z`` when the offset is 0), seven fractional digits.
Queries must send an explicit zone: the server's exact formats reject Python's six-digit
``isoformat()``, and a zone-less value is a 400. We send ``YYYY-MM-DDTHH:MM:SSZ``.

Every ISO-8601 UTC string the project writes (query bounds, stored items and cursors, findings,
run summaries) is made by ``format_utc``: one format, ``Z`` for the zone, in three precisions.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Literal

#: The range of dates a person or an invocation may give: nothing before it exists in a portal,
#: and nothing after it is a time anyone means.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def parse_wire_date(value: str) -> datetime:
    """Parse a wire date string into an aware UTC ``datetime``.

    Raises ``ValueError`` for anything that is not an ISO 8601 instant with a zone.
    """
    if not isinstance(value, str):
        raise ValueError(f"date is not a string: {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"date has no zone: {value!r}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01 with a positive offset, 9999-12-31 with a negative one
        raise ValueError(f"date out of range: {value!r}") from None


def parse_user_date(value: str | datetime) -> datetime:
    """Parse a date given by a person or an event payload; a zone-less value is taken as UTC.

    Raises ``ValueError`` (with a short message) for anything that is not an ISO 8601 time in
    ``EARLIEST`` .. ``LATEST``: the calendar's edges overflow on conversion, and no date outside
    that range means anything to a portal.
    """
    if isinstance(value, datetime):
        parsed = value
    elif not isinstance(value, str):
        raise ValueError(f"not an ISO 8601 time: a {type(value).__name__}")
    else:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {_shown(value)}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01 with a positive offset, 9999-12-31 with a negative one
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(
            f"time out of range: {_shown(value)} (from {EARLIEST.year} to {LATEST.year - 1})"
        )
    return utc


def _shown(value: object) -> str:
    """A value for an error message, cut short: it may be whatever a caller sent."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


#: ``seconds``: whole seconds (the fraction is dropped); ``micro``: always six fractional digits;
#: ``exact``: six digits only when there is a fraction (so a round trip is exact).
Precision = Literal["seconds", "micro", "exact"]

_PATTERNS = {False: "%Y-%m-%dT%H:%M:%SZ", True: "%Y-%m-%dT%H:%M:%S.%fZ"}


def format_utc(value: datetime, precision: Precision = "seconds") -> str:
    """``value`` as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` in UTC; a naive value is taken as UTC.

    ``seconds`` is the wire's format (``from``/``to``) and that of run summaries and published
    messages; ``micro`` that of stored items and cursors (fixed width: string order is time
    order); ``exact`` that of findings.
    """
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    fraction = precision == "micro" or (precision == "exact" and utc.microsecond != 0)
    return utc.strftime(_PATTERNS[fraction])


def format_query_date(value: datetime, *, round_up: bool = False) -> str:
    """Format a bound for ``from``/``to``: UTC, whole seconds, ``Z``.

    The wire takes whole seconds; ``round_up`` widens an upper bound to the next second so an
    inclusive ``to`` never drops an event in its last fraction of a second.
    """
    if value.tzinfo is None:
        raise ValueError("query dates must be timezone-aware")
    utc = value.astimezone(UTC)
    if round_up and utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    return format_utc(utc)


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds (what DocSpace sends) or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or utcnow())).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)
