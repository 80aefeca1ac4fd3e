"""What fired a run, and the key that makes its effects happen once.

A run's key is the schedule ARN plus the scheduled time. EventBridge Scheduler's execution id
changes on every retry attempt, so it is never part of the key: a retried or duplicated
delivery of the same scheduled time has the same key and publishes nothing twice.

Whoever may invoke a function may send anything, so an invocation is checked before anything is
claimed or written: its shape (``check_shape``), its times (``dates.EARLIEST`` .. now
+ ``SCHEDULE_SKEW``; a scheduled time no older than ``MAX_SCHEDULE_AGE``) and, for a Function
URL, its form (an on-demand window only). A refused one raises ``InvalidInvocation`` (HTTP 400
through the Function URL).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

from ..docspace.dates import format_query_date, parse_user_date
from .errors import InvalidInvocation

Source = Literal["schedule", "eventbridge", "on-demand", "manual"]

#: How far past the real now a scheduled time may lie: clocks differ a little, and a schedule
#: never fires early by more. A later one is refused; it would move the cursor past now and make
#: every later run skip the gap.
SCHEDULE_SKEW = timedelta(minutes=5)
#: How old a scheduled (or EventBridge) time may be. A run reads up to its scheduled time and
#: moves the cursor there, so an old one with no cursor yet (the example events carry a fixed
#: time) would pin the cursor in the past: the real runs would then crawl forward
#: ``MAX_SCAN_HOURS`` at a time, each a success, blind to live events. A real delivery is never
#: this old: the Scheduler drops events older than its MaximumEventAgeInSeconds (1 hour in
#: template.yaml) and Lambda keeps an asynchronous event for at most 6 hours of retries. An old
#: window is re-read with an on-demand ``{"from", "to"}``, which moves no cursor.
MAX_SCHEDULE_AGE = timedelta(hours=24)
#: The longest on-demand window: the portal keeps the audit trail and the login history for at
#: most 180 days, so a longer window cannot find more, only cost more.
MAX_WINDOW = timedelta(days=180)
#: The only form a Function URL accepts (its body is passed through as it was sent).
URL_KEYS = frozenset({"from", "to"})
#: Bounds of an invocation's shape. Every invocation these functions take is a flat object of a
#: few short fields; these leave room and stop what could exhaust the stack or the memory.
MAX_DEPTH = 8
MAX_VALUES = 1000
MAX_STRING = 2048
#: A run key part (a schedule ARN, an EventBridge rule ARN): a DynamoDB sort key holds 1024 bytes.
MAX_NAME_BYTES = 512


class Invocation(NamedTuple):
    run_key: str
    scheduled_time: datetime
    source: Source
    #: An explicit window (on-demand runs): scanned as asked, without moving the cursor.
    window: tuple[datetime, datetime] | None = None
    payload: Mapping[str, Any] | None = None

    @property
    def moves_cursor(self) -> bool:
        return self.window is None


def parse_invocation(event: Any, now: datetime) -> Invocation:
    """Read a ScheduleV2 ``Input``, a classic scheduled event, or an on-demand window."""
    if not isinstance(event, Mapping):
        raise InvalidInvocation(f"the event must be a JSON object, got {type(event).__name__}")
    check_shape(event)
    latest = now + SCHEDULE_SKEW
    if "scheduledTime" in event:
        arn = _name(event.get("scheduleArn") or "schedule", "scheduleArn")
        when = _scheduled_time(event, "scheduledTime", now)
        return Invocation(f"{arn}@{format_query_date(when)}", when, "schedule", payload=event)
    if event.get("detail-type") == "Scheduled Event" and "time" in event:
        resources = event.get("resources") or ["rule"]
        if not isinstance(resources, list):
            raise InvalidInvocation("'resources' must be a list of ARNs")
        rule = _name(resources[0], "resources")
        when = _scheduled_time(event, "time", now)
        return Invocation(f"{rule}@{format_query_date(when)}", when, "eventbridge", payload=event)
    if "from" in event or "to" in event:
        start, end = _time(event, "from", latest), _time(event, "to", latest)
        if start >= end:
            raise InvalidInvocation("'from' must be before 'to'")
        end = min(end, now)
        if start >= end:
            raise InvalidInvocation("'from' must be in the past")
        if end - start > MAX_WINDOW:
            raise InvalidInvocation(
                f"the window is longer than {MAX_WINDOW.days} days (the portal keeps no more)"
            )
        key = f"window@{format_query_date(start)}/{format_query_date(end)}"
        return Invocation(key, end, "on-demand", window=(start, end), payload=event)
    # A bare manual invoke: its key is the minute it ran, so a double-click runs once.
    minute = now.replace(second=0, microsecond=0)
    return Invocation(f"manual@{format_query_date(minute)}", now, "manual", payload=event)


def check_shape(event: Any) -> None:
    """Refuse an event nested deeper than ``MAX_DEPTH``, with more than ``MAX_VALUES`` values,
    a string longer than ``MAX_STRING`` or a non-finite number. Iterative, so no depth can
    exhaust the stack."""
    pending: list[tuple[Any, int]] = [(event, 0)]
    count = 0
    while pending:
        value, depth = pending.pop()
        count += 1
        if count > MAX_VALUES:
            raise InvalidInvocation(f"the event holds more than {MAX_VALUES} values")
        if depth > MAX_DEPTH:
            raise InvalidInvocation(f"the event is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                raise InvalidInvocation(f"the event holds a string longer than {MAX_STRING}")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidInvocation("the event holds a number that is not finite")
        elif isinstance(value, Mapping):
            for key, item in value.items():
                pending.append((key, depth + 1))
                pending.append((item, depth + 1))
        elif isinstance(value, list | tuple):
            pending.extend((item, depth + 1) for item in value)


def url_invocation(body: dict[str, Any]) -> dict[str, Any]:
    """A Function URL runs on-demand windows only: a scheduled time, a schedule ARN or a bare
    run through it would let anyone who may call the URL move the cursor."""
    if set(body) != URL_KEYS:
        raise InvalidInvocation(
            'the Function URL takes only an on-demand window: {"from": "<ISO 8601>", '
            '"to": "<ISO 8601>"}'
        )
    return body


def is_http_request(event: Any) -> bool:
    """A Function URL (HTTP payload v2) request."""
    return isinstance(event, Mapping) and "requestContext" in event and "rawPath" in event


def http_body(event: Any) -> dict[str, Any] | None:
    """The JSON body of a Function URL request, or ``None`` for other events.

    Raises ``InvalidInvocation`` when the body is not a JSON object of a sane shape.
    """
    if not is_http_request(event):
        return None
    body = event.get("body") or "{}"
    if not isinstance(body, str):
        raise InvalidInvocation("the request body must be a string")
    if event.get("isBase64Encoded"):
        import base64

        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except ValueError:
            raise InvalidInvocation("the request body is not valid base64 of UTF-8") from None
    import json

    try:
        parsed = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise InvalidInvocation(
            'the request body must be JSON, e.g. {"from": "...", "to": "..."}'
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidInvocation("the request body must be a JSON object")
    check_shape(parsed)
    return parsed


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _time(event: Mapping[str, Any], key: str, latest: datetime) -> datetime:
    value = event.get(key)
    if not isinstance(value, str | datetime):
        raise InvalidInvocation(f"'{key}' is required and must be an ISO 8601 time")
    try:
        when = parse_user_date(value)
    except ValueError as exc:
        raise InvalidInvocation(f"'{key}': {exc}") from None
    if when > latest:
        raise InvalidInvocation(
            f"'{key}' is in the future ({format_query_date(when)}; at most "
            f"{int(SCHEDULE_SKEW.total_seconds() // 60)} minutes ahead are accepted)"
        )
    return when


def _scheduled_time(event: Mapping[str, Any], key: str, now: datetime) -> datetime:
    when = _time(event, key, now + SCHEDULE_SKEW)
    if when < now - MAX_SCHEDULE_AGE:
        raise InvalidInvocation(
            f"'{key}' is too old ({format_query_date(when)}; a scheduled run is accepted up to "
            f"{int(MAX_SCHEDULE_AGE.total_seconds() // 3600)} hours after its time: read an "
            'older window with {"from": ..., "to": ...})'
        )
    return when


def _name(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInvocation(f"'{key}' must be a non-empty string")
    if len(value.encode("utf-8", "replace")) > MAX_NAME_BYTES:
        raise InvalidInvocation(f"'{key}' is longer than {MAX_NAME_BYTES} bytes")
    return value
