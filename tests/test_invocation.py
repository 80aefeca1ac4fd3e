"""Invocations: what a run accepts, and what it refuses before anything is claimed."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docspace_sentinel.runtime.errors import InvalidInvocation
from docspace_sentinel.runtime.invocation import (
    MAX_SCHEDULE_AGE,
    MAX_WINDOW,
    SCHEDULE_SKEW,
    check_shape,
    http_body,
    parse_invocation,
    url_invocation,
)

NOW = datetime(2026, 11, 20, 6, 0, 30, tzinfo=UTC)
ARN = "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/test"


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def url_event(body: str, *, base64_encoded: bool = False) -> dict[str, Any]:
    return {
        "rawPath": "/",
        "requestContext": {"http": {"method": "POST"}},
        "body": body,
        "isBase64Encoded": base64_encoded,
    }


def nested(depth: int) -> Any:
    value: Any = "2026-11-20T00:00:00Z"
    for _ in range(depth):
        value = {"from": value}
    return value


def test_a_scheduled_time_up_to_the_skew_ahead_is_a_run() -> None:
    when = NOW + SCHEDULE_SKEW
    invocation = parse_invocation({"scheduledTime": iso(when), "scheduleArn": ARN}, NOW)
    assert invocation.source == "schedule" and invocation.scheduled_time == when
    assert invocation.run_key == f"{ARN}@{iso(when)}"


@pytest.mark.parametrize(
    "event",
    [
        {"scheduledTime": iso(NOW + SCHEDULE_SKEW + timedelta(seconds=1)), "scheduleArn": ARN},
        {"scheduledTime": iso(NOW + timedelta(days=29)), "scheduleArn": ARN},
        {"detail-type": "Scheduled Event", "time": iso(NOW + timedelta(hours=1))},
    ],
)
def test_a_scheduled_time_in_the_future_is_refused(event: dict[str, Any]) -> None:
    with pytest.raises(InvalidInvocation, match="in the future"):
        parse_invocation(event, NOW)


@pytest.mark.parametrize(
    "event",
    [
        {"scheduledTime": iso(NOW - MAX_SCHEDULE_AGE - timedelta(seconds=1)), "scheduleArn": ARN},
        {"scheduledTime": "2000-01-01T00:00:00Z", "scheduleArn": ARN},
        {"detail-type": "Scheduled Event", "time": iso(NOW - timedelta(days=2))},
    ],
)
def test_a_scheduled_time_older_than_a_day_is_refused(event: dict[str, Any]) -> None:
    # It would move a cursor that does not exist yet to that time, far behind the live events.
    with pytest.raises(InvalidInvocation, match="too old"):
        parse_invocation(event, NOW)


def test_a_delivery_retried_for_hours_is_still_a_run() -> None:
    # The Scheduler retries for up to an hour, Lambda's asynchronous queue for up to six.
    for age in (timedelta(hours=7), MAX_SCHEDULE_AGE):
        when = NOW.replace(microsecond=0) - age
        invocation = parse_invocation({"scheduledTime": iso(when), "scheduleArn": ARN}, NOW)
        assert invocation.source == "schedule" and invocation.scheduled_time == when
    assert timedelta(hours=24) == MAX_SCHEDULE_AGE


@pytest.mark.parametrize(
    "event",
    [
        {"scheduledTime": "0001-01-01T00:00:00+05:00"},
        {"scheduledTime": "9999-12-31T23:59:59-05:00"},
        {"from": "0001-01-01T00:00:00+05:00", "to": "2026-11-20T00:00:00Z"},
        {"from": "2026-11-19T00:00:00Z", "to": "9999-12-31T23:59:59-05:00"},
        {"from": "1970-01-01T00:00:00Z", "to": "2026-11-20T00:00:00Z"},
        {"detail-type": "Scheduled Event", "time": "0001-01-01T00:00:00+05:00"},
        {"scheduledTime": 1795154400},
        {"scheduledTime": True},
        {"scheduledTime": "2026-11-20T06:00:00Z", "scheduleArn": {"nested": "arn"}},
        {"scheduledTime": "2026-11-20T06:00:00Z", "scheduleArn": "a" * 600},
        {"detail-type": "Scheduled Event", "time": "2026-11-20T06:00:00Z", "resources": "arn"},
        {"detail-type": "Scheduled Event", "time": "2026-11-20T06:00:00Z", "resources": [7]},
        {"from": "2026-11-19T00:00:00Z", "to": float("nan")},
        {"from": "2026-11-19T00:00:00Z", "to": "x" * 1_000_000},
        {"from": "2026-11-20T00:00:00Z", "to": "2026-11-19T00:00:00Z"},
        {"from": iso(NOW + timedelta(minutes=1)), "to": iso(NOW + timedelta(minutes=2))},
        {"from": iso(NOW - MAX_WINDOW - timedelta(days=1)), "to": iso(NOW)},
        {"from": "2026-11-19T00:00:00Z", "to": "2026-11-20T00:00:00Z", "x": nested(20)},
        {"from": "2026-11-19T00:00:00Z", "to": "2026-11-20T00:00:00Z", "x": [0] * 5000},
    ],
)
def test_hostile_invocations_are_refused_with_a_short_message(event: dict[str, Any]) -> None:
    with pytest.raises(InvalidInvocation) as raised:
        parse_invocation(event, NOW)
    assert 0 < len(str(raised.value)) < 200


@pytest.mark.parametrize("event", [None, [], "scheduledTime", 7, True])
def test_an_event_that_is_not_an_object_is_refused(event: Any) -> None:
    with pytest.raises(InvalidInvocation, match="JSON object"):
        parse_invocation(event, NOW)


def test_a_window_ending_within_the_skew_is_cut_at_now() -> None:
    start = NOW - timedelta(days=1)
    invocation = parse_invocation({"from": iso(start), "to": iso(NOW + SCHEDULE_SKEW)}, NOW)
    assert invocation.window == (start, NOW) and not invocation.moves_cursor


def test_a_deeply_nested_value_is_refused_without_recursion() -> None:
    with pytest.raises(InvalidInvocation, match="nested"):
        check_shape(nested(100_000))


@pytest.mark.parametrize(
    "body",
    [
        '{"scheduledTime": "2026-11-20T06:00:00Z", "scheduleArn": "x"}',
        '{"scheduledTime": "2026-11-20T06:00:00Z"}',
        '{"from": "2026-11-19T00:00:00Z"}',
        '{"from": "2026-11-19T00:00:00Z", "to": "2026-11-20T00:00:00Z", "userId": "x"}',
        "{}",
        "",
    ],
)
def test_a_function_url_takes_only_an_on_demand_window(body: str) -> None:
    parsed = http_body(url_event(body))
    assert parsed is not None
    with pytest.raises(InvalidInvocation, match="only an on-demand window"):
        url_invocation(parsed)


@pytest.mark.parametrize(
    "event",
    [
        url_event("[" * 10_000 + "]" * 10_000),
        url_event('{"a":' * 10_000 + "1" + "}" * 10_000),
        url_event('{"from": NaN, "to": Infinity}'),
        url_event("not json"),
        url_event("%%%not base64%%%", base64_encoded=True),
        url_event(base64.b64encode(b"\xff\xfe").decode(), base64_encoded=True),
        {"rawPath": "/", "requestContext": {}, "body": {"from": "x"}},
    ],
)
def test_a_function_url_body_that_is_not_a_sane_json_object_is_refused(
    event: dict[str, Any],
) -> None:
    with pytest.raises(InvalidInvocation):
        http_body(event)


def test_a_base64_window_body_is_read() -> None:
    window = {"from": "2026-11-19T00:00:00Z", "to": "2026-11-20T00:00:00Z"}
    encoded = base64.b64encode(json.dumps(window).encode()).decode()
    assert http_body(url_event(encoded, base64_encoded=True)) == window
