"""Wire parsers and URL ids fed random and malformed input: only the documented errors.

Records and dates raise ``MalformedRecord`` / ``ValueError``; ``classify`` raises
``DocSpaceError`` subclasses; a scan skips and counts rows it cannot read; an id that is not a
clean GUID or positive integer never reaches a URL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from docspace_sentinel.docspace import models
from docspace_sentinel.docspace.client import guid, int_id
from docspace_sentinel.docspace.dates import parse_wire_date
from docspace_sentinel.docspace.envelope import Envelope, classify
from docspace_sentinel.docspace.errors import DocSpaceError, MalformedRecord
from docspace_sentinel.docspace.paging import ScanStats
from tests.support import API, audit_row, envelope, make_client

PARSERS = [
    models.AuditEvent,
    models.LoginEvent,
    models.User,
    models.Group,
    models.RoomMember,
    models.Room,
    models.Folder,
    models.FileEntry,
    models.IpRestriction,
    models.IpRestrictionSettings,
]
# Inputs that once escaped as the wrong error (see the regression tests below); they stay out of
# the general strategies so a regression fails one named test.
BUG_INTS = ["²", "--5", "9" * 5000]
BUG_DATES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
BAD_INTS = ["-", "1e3", "٣", "1_000", " 7", "7\n", "0x10", ""]
BAD_DATES = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2025-02-30T00:00:00Z",
    "2025-03-04T12:15:42.0000000+03:00",
    "2025-03-04",
    "yesterday",
    "",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(BAD_INTS + BAD_DATES),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "id", "date", "actionId", "userId", "user", "action", "ip", "target", "entries", "context",
    "actionType", "displayName", "status", "isAdmin", "terminated", "members", "sharedTo",
    "sharedToUser", "sharedToGroup", "sharedLink", "subjectType", "access", "title",
    "roomType", "parentId", "created", "createdBy", "folderId", "forAdmin", "enable",
]  # fmt: skip
records = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=10),
    st.fixed_dictionaries(
        {
            "id": st.integers() | st.sampled_from(BAD_INTS),
            "date": st.sampled_from(BAD_DATES) | st.text(max_size=30),
        },
        optional={"actionId": st.integers() | st.sampled_from(BAD_INTS)},
    ),
)


def _parse_or_documented(parse: Any, raw: Any) -> None:
    try:
        parse(raw)
    except MalformedRecord:
        pass


@pytest.mark.parametrize("record", PARSERS, ids=lambda r: r.__name__)
@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(raw=records)
def test_record_parsers_raise_only_malformed_record(record: Any, raw: Any) -> None:
    _parse_or_documented(record.from_wire, raw)


@pytest.mark.parametrize("value", BUG_INTS, ids=["superscript", "double-minus", "5000-digits"])
def test_an_odd_numeric_string_is_a_malformed_record(value: str) -> None:
    _parse_or_documented(
        models.AuditEvent.from_wire, {"id": 1, "date": "2025-01-01T00:00:00Z", "actionId": value}
    )


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_out_of_range_date_is_a_value_error(value: str) -> None:
    with pytest.raises(ValueError):
        parse_wire_date(value)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=st.one_of(st.text(max_size=40), json_values).filter(lambda v: v not in BUG_DATES))
def test_parse_wire_date_raises_only_value_error(value: Any) -> None:
    try:
        parsed = parse_wire_date(value)
    except ValueError:
        return
    assert parsed.tzinfo is not None and parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


headers_strategy = st.dictionaries(
    st.sampled_from(["Retry-After", "Content-Type", "X-Other"]),
    st.text(max_size=30)
    | st.sampled_from(["0", "-1", "nan", "inf", "1e309", "Wed, 21 Oct 2015 07:28:00 GMT"]),
    max_size=3,
)
bodies = st.one_of(
    st.binary(max_size=60),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {},
        optional={
            "response": json_values,
            "status": json_values,
            "statusCode": json_values,
            "error": json_values,
            "count": json_values,
            "total": json_values,
        },
    ).map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"The access to the portal is restricted", b'{"response": [', b"\xff\xfe"]),
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    status=st.sampled_from(
        [200, 201, 204, 301, 400, 401, 402, 403, 404, 409, 429, 500, 502, 503, 504, 599]
    )
    | st.integers(100, 599),
    content=bodies,
    headers=headers_strategy,
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE"]),
)
def test_classify_returns_an_envelope_or_a_docspace_error(
    status: int, content: bytes, headers: dict[str, str], method: str
) -> None:
    try:
        answer = classify(status, content, headers, method, "security/audit/events/filter")
    except DocSpaceError as exc:
        assert exc.path == "security/audit/events/filter"
        return
    assert isinstance(answer, Envelope) and 200 <= status < 300


def test_a_deeply_nested_body_is_a_docspace_error() -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    try:
        classify(200, nested, {}, "GET", "people/@self")
    except DocSpaceError:
        pass


# -- a scan over pages with garbage rows ----------------------------------------------------------

garbage_rows = st.one_of(
    json_values,
    st.builds(
        lambda i, extra: {**audit_row(i, "2025-03-04T12:15:42.0000000+03:00"), **extra},
        st.integers(1, 10**6),
        st.dictionaries(st.sampled_from(["id", "date", "actionId"]), json_values, max_size=2),
    ),
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(garbage=st.lists(garbage_rows, max_size=30), good=st.integers(0, 20))
def test_a_scan_skips_and_counts_rows_it_cannot_read(garbage: list[Any], good: int) -> None:
    rows = [audit_row(10_000 + i, "2025-03-04T12:15:42.0000000+03:00") for i in range(good)]
    expected_bad = 0
    for row in garbage:
        try:
            event = models.AuditEvent.from_wire(row)
        except MalformedRecord:
            expected_bad += 1
            continue
        if not (
            datetime(2025, 3, 4, 0, tzinfo=UTC) <= event.date <= datetime(2025, 3, 5, tzinfo=UTC)
        ):
            return  # a row outside the filter means "the portal ignores filters": an error by design
        rows.append(row)
    page = rows[:100]
    stats = ScanStats()
    with responses.RequestsMock() as mock:
        mock.get(f"{API}/security/audit/events/filter", json=envelope(page))
        if len(page) == 100 or len(page) == 20:
            mock.get(f"{API}/security/audit/events/filter", json=envelope([]))
        events = list(
            make_client().audit_events(
                datetime(2025, 3, 4, tzinfo=UTC), datetime(2025, 3, 5, tzinfo=UTC), stats=stats
            )
        )
    assert stats.malformed == sum(1 for r in page if _malformed(r))
    assert len(events) + stats.malformed + stats.duplicates == len(page)
    assert expected_bad >= stats.malformed


def _malformed(row: Any) -> bool:
    try:
        models.AuditEvent.from_wire(row)
    except MalformedRecord:
        return True
    return False


def test_a_scan_skips_a_row_with_a_superscript_action_id() -> None:
    rows = [audit_row(1, "2025-03-04T12:15:42.0000000+03:00", actionId="²")]
    rows.append(audit_row(2, "2025-03-04T12:15:43.0000000+03:00"))
    stats = ScanStats()
    with responses.RequestsMock() as mock:
        mock.get(f"{API}/security/audit/events/filter", json=envelope(rows))
        events = list(
            make_client().audit_events(
                datetime(2025, 3, 4, tzinfo=UTC), datetime(2025, 3, 5, tzinfo=UTC), stats=stats
            )
        )
    assert [e.id for e in events] == [2] and stats.malformed == 1


# -- ids that reach URLs ------------------------------------------------------------------------

HOSTILE = [
    "../settings",
    "..%2fsettings",
    "%2e%2e",
    "?x=",
    "1?x=",
    "1#frag",
    "1/../2",
    "²",
    "12\n",
    " 12",
    "-1",
    "0",
    "",
    "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11/../x",
    "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11?x=1",
    "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a1",
    "\uff19f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11",  # a full-width digit
]
GUID_WITH_NEWLINE = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11\n"


def _no_request(call: Any) -> None:
    """``call`` must refuse before any request: a RequestsMock with nothing registered turns
    any request into ConnectionError, and asserts none was made."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        try:
            call()
        except ValueError:
            pass
        assert len(mock.calls) == 0


def _client_calls(value: Any) -> list[Any]:
    client = make_client()
    return [
        lambda: client.user(value),
        lambda: client.room(value),
        lambda: client.file(value),
        lambda: client.folder_path(value),
        lambda: client.set_user_status([value], 2),
        lambda: list(client.room_members(value)),
        lambda: client.group(value),
        lambda: client.logout_all(value),
    ]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_ids_never_reach_a_url(value: str) -> None:
    for call in _client_calls(value):
        _no_request(call)


@pytest.mark.parametrize(
    "value", ["\u0661\u0662", "\U0001d7d9\U0001d7da"]
)  # Arabic-Indic, double-struck
def test_int_id_rejects_non_ascii_digits(value: str) -> None:
    with pytest.raises(ValueError):
        int_id(value)
    for call in _client_calls(value):
        _no_request(call)


def test_guid_rejects_a_trailing_newline() -> None:
    with pytest.raises(ValueError):
        guid(GUID_WITH_NEWLINE)
    _no_request(lambda: make_client().user(GUID_WITH_NEWLINE))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=st.text(max_size=40) | st.integers() | st.none() | st.booleans() | st.floats())
@example("../settings")
@example("%2e%2e")
def test_guid_and_int_id_return_clean_values_or_value_error(value: Any) -> None:
    try:
        cleaned = guid(value)
    except ValueError:
        pass
    else:
        assert cleaned.replace("-", "").isalnum() and len(cleaned.strip()) == 36
    try:
        number = int_id(value)
    except ValueError:
        pass
    else:
        assert isinstance(number, int) and number > 0
