from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from docspace_sentinel.docspace.dates import (
    format_query_date,
    parse_retry_after,
    parse_user_date,
    parse_wire_date,
)


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("2025-03-04T12:15:42.0000000+03:00", datetime(2025, 3, 4, 9, 15, 42, tzinfo=UTC)),
        ("2025-03-04T09:15:42.0000000Z", datetime(2025, 3, 4, 9, 15, 42, tzinfo=UTC)),
        ("2025-03-04T09:15:42.1234567Z", datetime(2025, 3, 4, 9, 15, 42, 123456, tzinfo=UTC)),
        ("2025-03-04T01:15:42.5000000-08:00", datetime(2025, 3, 4, 9, 15, 42, 500000, tzinfo=UTC)),
        ("2025-03-04T09:15:42Z", datetime(2025, 3, 4, 9, 15, 42, tzinfo=UTC)),
    ],
)
def test_wire_dates_become_aware_utc(wire: str, expected: datetime) -> None:
    parsed = parse_wire_date(wire)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("bad", ["2025-03-04T09:15:42", "yesterday", "", "2025-13-01T00:00:00Z"])
def test_bad_or_zoneless_wire_dates_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_wire_date(bad)


def test_query_dates_are_utc_whole_seconds_with_z() -> None:
    moscow = timezone(timedelta(hours=3))
    value = datetime(2025, 3, 4, 12, 15, 42, 999_999, tzinfo=moscow)
    assert format_query_date(value) == "2025-03-04T09:15:42Z"
    assert format_query_date(value, round_up=True) == "2025-03-04T09:15:43Z"
    assert format_query_date(value.replace(microsecond=0), round_up=True) == "2025-03-04T09:15:42Z"
    with pytest.raises(ValueError):
        format_query_date(datetime(2025, 1, 1))


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = datetime(2025, 3, 4, 9, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Tue, 04 Mar 2025 09:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("-5") == 0.0


@pytest.mark.parametrize(
    "hostile",
    [
        "0001-01-01T00:00:00+05:00",  # overflows on conversion to UTC
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00Z",  # converts, but no portal has such a date
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "yesterday",
        "2" * 100_000,
        12345,
        None,
        ["2026-01-01T00:00:00Z"],
    ],
)
def test_user_dates_outside_the_sane_range_or_not_dates_are_a_short_value_error(
    hostile: object,
) -> None:
    with pytest.raises(ValueError) as raised:
        parse_user_date(hostile)  # type: ignore[arg-type]
    assert len(str(raised.value)) < 120


def test_user_dates_take_offsets_and_read_a_zoneless_time_as_utc() -> None:
    assert parse_user_date(" 2026-11-20T09:00:00+03:00 ") == datetime(2026, 11, 20, 6, tzinfo=UTC)
    assert parse_user_date("2026-11-20T06:00:00") == datetime(2026, 11, 20, 6, tzinfo=UTC)
    assert parse_user_date("2000-01-01T00:00:00Z") == datetime(2000, 1, 1, tzinfo=UTC)


def test_one_function_formats_every_utc_time_in_three_precisions() -> None:
    from docspace_sentinel.docspace.dates import format_utc
    from docspace_sentinel.findings.finding import format_utc as finding_time
    from docspace_sentinel.state.store import to_iso

    plus3 = timezone(timedelta(hours=3))
    exact = datetime(2025, 3, 4, 12, 15, 42, 250, tzinfo=plus3)
    whole = datetime(2025, 3, 4, 12, 15, 42, tzinfo=plus3)
    # the wire's from/to, run summaries, published messages: whole seconds, the fraction dropped
    assert format_utc(exact) == "2025-03-04T09:15:42Z"
    assert format_query_date(exact) == "2025-03-04T09:15:42Z"
    # stored items and cursors: always six digits (string order is time order)
    assert to_iso(whole) == format_utc(whole, "micro") == "2025-03-04T09:15:42.000000Z"
    assert to_iso(exact) == "2025-03-04T09:15:42.000250Z"
    # findings: a fraction only when there is one
    assert finding_time(whole) == format_utc(whole, "exact") == "2025-03-04T09:15:42Z"
    assert finding_time(exact) == "2025-03-04T09:15:42.000250Z"
    # a naive time is taken as UTC
    assert format_utc(datetime(2025, 3, 4, 9, 15, 42)) == "2025-03-04T09:15:42Z"
    # each reads back as the time it was given (to the second for whole seconds)
    assert parse_wire_date(format_utc(exact)) == exact.replace(microsecond=0)
    assert parse_wire_date(to_iso(exact)) == parse_wire_date(finding_time(exact)) == exact
