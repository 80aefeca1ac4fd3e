"""What fired a run, and the key that makes its effects happen once.

A run's key is the schedule ARN plus the scheduled time. EventBridge Scheduler's execution id
changes on every retry attempt, so it is never part of the key: a retried or duplicated
delivery of the same scheduled time has the same key and publishes nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, NamedTuple

from .dates import format_query_date, parse_user_date
from .errors import SentinelError

Source = Literal["schedule", "eventbridge", "on-demand", "manual"]


class InvalidInvocation(SentinelError, ValueError):
    """The invocation event is not one this function understands."""


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
    if "scheduledTime" in event:
        when = _time(event, "scheduledTime")
        arn = str(event.get("scheduleArn") or "schedule")
        return Invocation(f"{arn}@{format_query_date(when)}", when, "schedule", payload=event)
    if event.get("detail-type") == "Scheduled Event" and "time" in event:
        when = _time(event, "time")
        resources = event.get("resources") or ["rule"]
        return Invocation(
            f"{resources[0]}@{format_query_date(when)}", when, "eventbridge", payload=event
        )
    if "from" in event or "to" in event:
        start, end = _time(event, "from"), _time(event, "to")
        if start >= end:
            raise InvalidInvocation("'from' must be before 'to'")
        if end > now:
            end = now
        key = f"window@{format_query_date(start)}/{format_query_date(end)}"
        return Invocation(key, end, "on-demand", window=(start, end), payload=event)
    # A bare manual invoke: its key is the minute it ran, so a double-click runs once.
    minute = now.replace(second=0, microsecond=0)
    return Invocation(f"manual@{format_query_date(minute)}", now, "manual", payload=event)


def http_body(event: Any) -> dict[str, Any] | None:
    """The JSON body of a Function URL (HTTP payload v2) request, or ``None`` for other events.

    Raises ``InvalidInvocation`` when the body is not a JSON object.
    """
    if not isinstance(event, Mapping) or "requestContext" not in event or "rawPath" not in event:
        return None
    body = event.get("body") or "{}"
    if event.get("isBase64Encoded"):
        import base64

        try:
            body = base64.b64decode(body).decode("utf-8")
        except ValueError:
            raise InvalidInvocation("the request body is not valid base64") from None
    import json

    try:
        parsed = json.loads(body)
    except ValueError:
        raise InvalidInvocation(
            'the request body must be JSON, e.g. {"from": "...", "to": "..."}'
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidInvocation("the request body must be a JSON object")
    return parsed


def _time(event: Mapping[str, Any], key: str) -> datetime:
    value = event.get(key)
    if not isinstance(value, str | datetime):
        raise InvalidInvocation(f"'{key}' is required and must be an ISO 8601 time")
    try:
        return parse_user_date(value)
    except ValueError:
        raise InvalidInvocation(f"'{key}' is not an ISO 8601 time: {value!r}") from None
